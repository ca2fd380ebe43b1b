"""The process's concurrency facts: how `serve` runs (gevent or threads) and how CPU work leaves the event loop.

A leaf: it imports only the standard library at import time (gevent itself is looked at, never imported here,
before kiosk.launch has decided whether to patch), so every layer may use it.

On gevent every greenlet shares one thread, so CPU-heavy work on plain data goes to native threads
(`off_the_loop`, `encode_on_native_threads`).
"""
from __future__ import annotations

import os
import sys
from typing import Callable

#: The values of `givetake serve --async-mode` and GIVETAKE_ASYNC_MODE.
ASYNC_MODES = ("auto", "gevent", "threading")


def requested_async_mode(argv: list[str], environ: dict[str, str]) -> str:
    """The `--async-mode` of a `serve` command line (or GIVETAKE_ASYNC_MODE), as given: auto, gevent, threading."""
    mode = environ.get("GIVETAKE_ASYNC_MODE") or "auto"
    for i, arg in enumerate(argv):
        if arg == "--async-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--async-mode="):
            mode = arg.split("=", 1)[1]
    return mode


def resolve_async_mode(requested: str) -> str:
    """What `requested` means here: auto is gevent when it is installed, else threading."""
    if requested == "auto":
        try:
            import gevent  # noqa: F401
        except ImportError:
            return "threading"
        return "gevent"
    return requested


def configured_async_mode(environ=os.environ) -> str:
    """How `givetake serve` without `--async-mode` would run here: gevent or threading."""
    return resolve_async_mode(requested_async_mode([], environ))


def async_mode() -> str:
    """gevent when this process was monkey-patched for it (`givetake serve`, see kiosk.launch), else threading."""
    if "gevent" in sys.modules:
        from gevent import monkey
        if monkey.is_module_patched("socket"):
            return "gevent"
    return "threading"


def off_the_loop(fn: Callable, /, *args, **kwargs):
    """Call fn, in one of gevent's native threads when serving on gevent (so sockets and pages keep going).

    For CPU-bound work on plain data (a round's pairing, drawing badges), never the database or a session. Locks
    it takes are gevent's (the process is patched), which gevent lets native threads use since 20.12. On threads it
    is a plain call.
    """
    if async_mode() == "gevent":
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)


def encode_on_native_threads() -> None:
    """On gevent, give the MiniLM encoder a pool of native threads: its batches then run side by side on the cores
    while the event loop goes on (monkey-patched threads are greenlets taking turns on one core: 348 against 605
    texts/s measured). A no-op on threads."""
    if async_mode() != "gevent":
        return
    from gevent.threadpool import ThreadPoolExecutor

    from matcher import minilm
    minilm.use_executor(ThreadPoolExecutor(max_workers=minilm.MAX_WORKERS))
