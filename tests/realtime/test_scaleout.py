"""Scale-out for real: two `givetake serve` processes, one `givetake matcher`, Redis and PostgreSQL.

A screen connected to process A sees the match caused by a check-in made on the kiosk pages of process B: the
check-in goes B -> Redis list -> matcher process -> PostgreSQL + Socket.IO message queue on Redis -> A -> screen.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from tests.conftest import build_app, csrf_from
from tests.factories import choose_at_kiosk, make_ana_and_ben, make_event
from tests.livesrv import MatcherProcess, ServerProcess
from tests.realtime.conftest import FeedClient, check_in

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def test_a_screen_on_process_a_sees_a_match_from_a_check_in_on_process_b(tmp_path, pg_url, redis_url):
    setup = build_app(tmp_path / "setup", pg_url, MATCHER="off")
    with setup.app_context():
        s = db.session
        event = make_event(s, slug=f"scale-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        ana, ben = make_ana_and_ben(s, event, ana_consents=False)
        screen = create_device(s, event, "screen", "Hall")
        _, screen_token = pair(s, screen.pairing_code)
        kiosk = create_device(s, event, "kiosk", "Door")
        _, kiosk_token = pair(s, kiosk.pairing_code)
        s.commit()
        ids = {"event": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id}
    ben_token = check_in(setup, ids["event"], ids["ben"])  # Ben is here before the processes start
    setup.extensions["givetake.db"].dispose()

    env = {"GIVETAKE_DATABASE_URL": pg_url, "GIVETAKE_REDIS_URL": redis_url,
           "GIVETAKE_SECRET_KEY": "scale-out-" + uuid.uuid4().hex, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "run"),
           "GIVETAKE_PUBLIC_URL": ""}
    a, b = ServerProcess(env), ServerProcess(env)
    matcher = None
    clients: list[FeedClient] = []
    try:
        a.start(), b.start()
        matcher = MatcherProcess(env)
        screen_client = FeedClient(a.url).connect()
        clients.append(screen_client)
        assert screen_client.join("screen", ids["slug"], token=screen_token)["ok"]
        ben_phone = FeedClient(a.url).connect()
        clients.append(ben_phone)
        assert ben_phone.join("attendee", ids["slug"], token=ben_token)["ok"]

        kiosk = requests.Session()
        kiosk.cookies.set("gt_device", kiosk_token)
        csrf = csrf_from(kiosk.get(f"{b.url}/kiosk/").text)
        assert choose_at_kiosk(kiosk, "Ana", csrf, base=b.url, allow_redirects=False).status_code == 302
        done = kiosk.post(f"{b.url}/kiosk/consent", data={"consent_screen": "1", "csrf_token": csrf})
        assert done.status_code == 200 and "Ana" in done.text
        checked_in = time.monotonic()

        got = screen_client.wait_for(lambda t, p: t == "match", timeout=90)
        assert got, f"no match reached process A\nmatcher:\n{matcher.output()[-3000:]}\nB:\n{b.output()[-3000:]}"
        _, shown = got
        assert {shown["a"]["first_name"], shown["b"]["first_name"]} == {"Ana", "Ben"}
        _, mine = ben_phone.wait_for(lambda t, p: t == "match", timeout=10)
        assert mine["other"]["first_name"] == "Ana"
        print(f"check-in on B to match on A: {time.monotonic() - checked_in:.2f} s (includes loading the encoder)")
        # The stats snapshot the matcher publishes reaches A as well.
        assert screen_client.wait_for(lambda t, p: t == "stats" and p["checked_in"] == 2, timeout=15)
    finally:
        for client in clients:
            client.close()
        if matcher is not None:
            matcher.stop()
        a.stop(), b.stop()
