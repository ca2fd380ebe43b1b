"""Guards of the serving process: a watchdog that reports a stalled gevent loop, and an alarm on any fork.

On gevent every page, socket and kiosk shares one event loop; code that blocks it (a C call that does not yield,
a CPU loop, a lock held across a fork) stops them all, silently. `start_watchdog` runs a greenlet that beats
every half second and a native thread (a real OS thread, so it runs while the loop is stuck) that, when no beat
came for `stall_seconds`, logs every thread's stack and the greenlets (logger `kiosk.watchdog`, ERROR), once per
stall. gevent's own monitor thread (`gevent.config.monitor_thread`) was the other choice: it traces every
greenlet switch and writes to stderr, where this beats twice a second and goes through logging.

`report_forks` logs an ERROR "forked while serving" whenever the process forks or starts a child: a fork while a
native thread holds a lock (OpenBLAS's) deadlocked the server for good, so none may happen (DESIGN.md,
Processes), and a test can assert none did.
"""
from __future__ import annotations

import logging
import sys
import time
import traceback

log = logging.getLogger("kiosk.watchdog")

#: How often the loop's heartbeat ticks, in seconds.
BEAT_SECONDS = 0.5
#: At most this many lines of greenlet listing in one report (a thousand sockets are a thousand greenlets).
GREENLET_LINES = 400
#: Audit events that create a process (sys.addaudithook); "os.fork" also covers gevent's fork_and_watch.
_CHILD_EVENTS = frozenset({"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.exec",
                           "subprocess.Popen"})


class Watchdog:
    """The heartbeat greenlet and the native thread that watches it."""

    def __init__(self, stall_seconds: float, beat_seconds: float = BEAT_SECONDS):
        from gevent import monkey
        self.stall_seconds = stall_seconds
        self.beat_seconds = beat_seconds
        self.last_beat = time.monotonic()
        self.stalls = 0
        self._running = True
        self._sleep = monkey.get_original("time", "sleep")  # the native thread must really sleep
        self._start_thread = monkey.get_original("_thread", "start_new_thread")
        self._get_ident = monkey.get_original("_thread", "get_ident")
        self._loop_ident = self._get_ident()  # created where the loop runs (the main thread when serving)

    def start(self) -> "Watchdog":
        import gevent
        gevent.spawn(self._beat)
        self._start_thread(self._watch, ())
        return self

    def stop(self) -> None:
        self._running = False

    def _beat(self) -> None:
        import gevent
        while self._running:
            self.last_beat = time.monotonic()
            gevent.sleep(self.beat_seconds)

    def _watch(self) -> None:
        reported = False
        while self._running:
            self._sleep(min(self.beat_seconds, self.stall_seconds / 4))
            stalled = time.monotonic() - self.last_beat
            if stalled < self.stall_seconds:
                reported = False
            elif not reported:
                reported = True
                self.stalls += 1
                try:
                    log.error("event loop stalled for %.1f s: no page, socket or kiosk is served meanwhile\n%s",
                              stalled, self.dump())
                except Exception:  # the watchdog must outlive a report that fails
                    pass

    def dump(self) -> str:
        """Every thread's stack, then the greenlets (listing only, cut at GREENLET_LINES)."""
        lines = []
        me = self._get_ident()
        for ident, frame in sys._current_frames().items():
            if ident != me:
                label = " (the event loop)" if ident == self._loop_ident else ""
                lines.append(f"--- thread 0x{ident:x}{label} ---")
                lines.append("".join(traceback.format_stack(frame)).rstrip())
        try:
            from gevent.util import format_run_info
            text = "\n".join(format_run_info(thread_stacks=False, greenlet_stacks=False))
            greenlets = text[text.index("* Greenlets"):].splitlines()  # its thread list has no stacks: ours has
        except Exception as exc:
            greenlets = [f"(greenlets not listed: {exc})"]
        if len(greenlets) > GREENLET_LINES:
            greenlets = greenlets[:GREENLET_LINES] + [f"... {len(greenlets) - GREENLET_LINES} more lines"]
        return "\n".join(lines + greenlets)


def start_watchdog(stall_seconds: float = 5.0) -> Watchdog | None:
    """On gevent, start watching the event loop (see the module docstring); on threads, do nothing (None)."""
    if "gevent" not in sys.modules:
        return None
    from gevent import monkey
    if not monkey.is_module_patched("threading"):
        return None
    return Watchdog(stall_seconds).start()


_forks_reported = False


def report_forks() -> None:
    """From now on, log an ERROR with the caller's stack whenever this process forks or starts a child."""
    global _forks_reported
    if _forks_reported:
        return
    _forks_reported = True

    def on_event(event: str, args: tuple) -> None:
        if event in _CHILD_EVENTS:
            log.error("forked while serving (%s %.200r): a fork with native threads running can deadlock the "
                      "server\n%s", event, args, "".join(traceback.format_stack(limit=12)))

    sys.addaudithook(on_event)
