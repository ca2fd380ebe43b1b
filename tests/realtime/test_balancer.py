"""The scale-out tier for real: two app processes under gunicorn (deploy/gunicorn.conf.py), `givetake matcher`,
PostgreSQL and Redis, behind Debian's HAProxy with deploy/haproxy.cfg.

A check-in made through the balancer reaches socket clients attached to both processes; one process is killed,
its clients reconnect through the balancer to the other and catch up on what they missed by seq; a long-polling
client (what a browser starts with) works across the two processes only thanks to the balancer's cookie.
"""
from __future__ import annotations

import time
import uuid

import pytest
import requests
import socketio
from sqlalchemy import select

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import EventLog
from tests.balancer import GunicornProcess, HAProxy
from tests.conftest import build_app
from tests.factories import make_ana_and_ben, make_attendee, make_event
from tests.livesrv import MatcherProcess
from tests.realparts import need
from tests.realtime.conftest import FeedClient

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


def _check_in_through(lb: str, slug: str, kiosk_token: str, name: str) -> requests.Response:
    """What a kiosk does through the balancer: look the name up, choose the result, check in (with a key)."""
    headers = {"Authorization": f"Bearer {kiosk_token}"}
    found = requests.get(f"{lb}/api/events/{slug}/attendees/lookup", params={"q": name}, headers=headers,
                         timeout=30).json()["results"]
    assert found, f"nobody found for {name!r}"
    chosen = requests.post(f"{lb}/api/events/{slug}/attendees/select", json={"choice": found[0]["choice"]},
                           headers=headers, timeout=30)
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    headers.update({"X-Kiosk-Grant": body["grant"], "Idempotency-Key": uuid.uuid4().hex})
    return requests.post(f"{lb}/api/events/{slug}/attendees/{body['attendee']['id']}/checkin",
                         json={"consent_screen": True}, headers=headers, timeout=30)


def test_check_ins_through_the_balancer_reach_both_processes_and_survive_one_dying(tmp_path, pg_url, redis_url):
    need("HAProxy", HAProxy.available(), "apt-get install haproxy")
    setup = build_app(tmp_path / "setup", pg_url, MATCHER="off")
    with setup.app_context():
        s = db.session
        event = make_event(s, slug=f"lb-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        make_ana_and_ben(s, event)
        make_attendee(s, event, first_name="Chloé", last_name="Lefèvre", consent_screen=True,
                      offers=[{"text": "Brand workshops and landing page design", "tags": ["Design"]}],
                      needs=[{"text": "Angel investors for a pre-seed round", "tags": ["Funding"]}])
        screen = create_device(s, event, "screen", "Hall")
        _, screen_token = pair(s, screen.pairing_code)
        kiosk = create_device(s, event, "kiosk", "Door")
        _, kiosk_token = pair(s, kiosk.pairing_code)
        s.commit()
        slug, event_id = event.slug, event.id
    setup.extensions["givetake.db"].dispose()

    env = {"GIVETAKE_DATABASE_URL": pg_url, "GIVETAKE_REDIS_URL": redis_url, "GIVETAKE_MATCHER": "redis",
           "GIVETAKE_SECRET_KEY": "lb-" + uuid.uuid4().hex, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "run"),
           "GIVETAKE_PUBLIC_URL": "", "GIVETAKE_PROXY_HOPS": "1"}
    apps = [GunicornProcess(env), GunicornProcess(env)]
    lb = HAProxy([a.port for a in apps], workdir=tmp_path)
    matcher = None
    clients: list[FeedClient] = []
    try:
        for a in apps:
            a.launch()
        matcher = MatcherProcess(env)
        for a in apps:
            a.wait_ready()
        lb.launch().wait_ready(pids=2)

        # Screens join through the balancer until both processes hold some (round robin: every other one).
        while len(clients) < 6 or not all(a.health()["sockets"] for a in apps):
            assert len(clients) < 12, [a.health() for a in apps]
            client = FeedClient(lb.url, reconnect=False).connect()
            clients.append(client)
            assert client.join("screen", slug, token=screen_token)["ok"]
        held = {a.port: a.health()["sockets"] for a in apps}
        assert all(held.values()) and sum(held.values()) == len(clients), held
        pid_of = {a.health()["pid"]: a for a in apps}

        # A browser's transport: long-polling first. Every poll of its session must reach the process that holds
        # it; the balancer's cookie sees to that (round robin alone would answer "Invalid session" half the time).
        poller = socketio.Client(reconnection=False)
        got_poll: list[dict] = []
        poller.on("match", got_poll.append)
        poller.connect(lb.url, transports=["polling"], wait_timeout=10)
        assert poller.call("join", {"role": "screen", "event": slug, "token": screen_token}, timeout=10)["ok"]
        assert "GTSRV" in poller.eio.http.cookies.keys()

        assert _check_in_through(lb.url, slug, kiosk_token, "Ana").status_code == 200
        assert _check_in_through(lb.url, slug, kiosk_token, "Ben").status_code == 200
        for client in clients:
            assert client.wait_for(lambda t, p: t == "match", timeout=90), \
                f"a screen missed the match\nmatcher:\n{matcher.output()[-3000:]}"
        deadline = time.monotonic() + 10
        while not got_poll and time.monotonic() < deadline:
            time.sleep(0.05)
        assert got_poll, "the long-polling screen missed the match"
        poller.disconnect()

        # One process dies. Its screens lose their connection; the other process's screens keep theirs.
        victim = apps[0]
        victim_pid = victim.health()["pid"]
        victim.kill()
        orphans = [c for c in clients if c.disconnected(timeout=5)]
        survivors = [c for c in clients if c not in orphans]
        assert orphans and survivors and len(orphans) == held[victim.port]
        seen_before = {id(c): c.last_seq() for c in orphans}

        # Meanwhile Chloé checks in through the balancer (it now sends everything to the live process).
        answer = _check_in_through(lb.url, slug, kiosk_token, "Chlo")
        assert answer.status_code == 200, answer.text
        for client in survivors:
            assert client.wait_for(lambda t, p: t == "match" and "Chloé" in (p["a"]["first_name"],
                                                                              p["b"]["first_name"]), timeout=60)

        # The orphans reconnect through the balancer, land on the survivor, and catch up by seq.
        for client in orphans:
            client.connect()
            answer = client.join("screen", slug, token=screen_token, last_seq=seen_before[id(client)])
            assert answer["ok"]
            assert client.wait_for(lambda t, p: t == "match" and "Chloé" in (p["a"]["first_name"],
                                                                              p["b"]["first_name"]), timeout=10), \
                "a reconnected screen did not catch up on the match it missed"
            # Live messages may interleave with the replay, and one committed during the join may come both ways
            # (the page's feed.js holds, sorts and de-duplicates them); what counts is that every message the
            # screen room was sent after what the screen had, arrived (stats are snapshots: the newest is replayed).
            replayed = [seq for seq in client.seqs() if seq > seen_before[id(client)]]
            with setup.app_context():
                logged = set(db.session.scalars(select(EventLog.seq).where(
                    EventLog.event_id == event_id, EventLog.room == "screen", EventLog.type != "stats",
                    EventLog.seq > seen_before[id(client)])))
            assert logged and logged <= set(replayed), f"missed {sorted(logged - set(replayed))}"
        assert apps[1].health()["sockets"] == len(clients)
        assert victim_pid in pid_of and apps[1].health()["pid"] != victim_pid
    finally:
        for client in clients:
            try:
                client.close()
            except Exception:  # a client of the killed process may already be gone
                pass
        lb.stop()
        if matcher is not None:
            matcher.stop()
        for a in apps:
            a.stop()
    assert not lb.alive() and not any(a.alive() for a in apps) and matcher.process.poll() is not None
