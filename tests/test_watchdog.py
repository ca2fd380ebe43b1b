"""The serving process's guards: the event-loop watchdog and the alarm on a fork, each in a gevent process."""
from __future__ import annotations

import subprocess
import sys

import pytest

from kiosk.watchdog import start_watchdog
from tests.livesrv import ROOT

STALL_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import logging, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
import gevent
from kiosk.watchdog import start_watchdog
real_sleep = monkey.get_original("time", "sleep")
dog = start_watchdog()  # 5 s, as serving.run starts it

def hold_the_loop_in_a_blocking_call():
    real_sleep(6)  # the original time.sleep: no greenlet runs meanwhile

gevent.sleep(1)
hold_the_loop_in_a_blocking_call()
gevent.sleep(1.5)  # beats again: the watchdog re-arms, and reports nothing more
print("stalls", dog.stalls)
"""


@pytest.mark.slow
def test_a_blocked_gevent_loop_is_reported_once_with_the_blocking_frame():
    out = subprocess.run([sys.executable, "-c", STALL_SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["stalls", "1"], out.stdout + out.stderr
    assert out.stderr.count("event loop stalled for") == 1, out.stderr
    report = out.stderr[out.stderr.index("ERROR kiosk.watchdog: event loop stalled"):]
    loop_stack = report.split("(the event loop) ---", 1)[1]
    assert "in hold_the_loop_in_a_blocking_call" in loop_stack.split("---", 1)[0], report


def test_on_threads_the_watchdog_does_nothing():
    assert start_watchdog() is None  # this test process is not patched by gevent


FORK_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import logging, os, subprocess, sys
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
from kiosk.watchdog import report_forks
subprocess.run(["true"], check=True)  # before: nothing is said
print("before", flush=True)
report_forks()
subprocess.run(["true"], check=True)
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
"""


def test_a_fork_or_a_child_process_while_serving_is_logged_as_an_error():
    out = subprocess.run([sys.executable, "-c", FORK_SCRIPT], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "before"
    assert out.stderr.count("ERROR kiosk.watchdog: forked while serving") >= 2, out.stderr
    assert "os.fork" in out.stderr
