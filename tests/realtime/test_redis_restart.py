"""Redis restarted mid-event: two app processes and the matcher on a Redis server of the test's own.

The machine's shared Redis is left alone: the test starts Debian's redis-server on a free port, configured as
docs/operations.md says (append-only file, so queued matcher work survives a restart), SIGKILLs it mid-event and
starts it again on the same port and data directory. Meanwhile the kiosks keep checking people in; afterwards the
matcher matches who came during the outage, and screens attached to either process catch up on what they missed.
Nothing acknowledged is lost or doubled.
"""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import select

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Attendee, EventLog, Match
from tests.balancer import free_port
from tests.conftest import build_app
from tests.factories import make_ana_and_ben, make_attendee, make_event
from tests.livesrv import MatcherProcess, ServerProcess
from tests.realparts import need
from tests.realtime.conftest import FeedClient
from tests.realtime.test_balancer import _check_in_through

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]


class RedisServer:
    """Debian's redis-server on loopback, in the foreground, with an append-only file in `workdir`."""

    def __init__(self, workdir, port: int | None = None):
        self.workdir, self.port = workdir, port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.workdir),
             "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=1).ping()
                return self
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def test_a_redis_restart_mid_event_loses_and_doubles_nothing(tmp_path, pg_url):
    need("redis-server", shutil.which("redis-server") is not None, "apt-get install redis-server")
    redis_server = RedisServer(tmp_path).start()
    setup = build_app(tmp_path / "setup", pg_url, MATCHER="off")
    with setup.app_context():
        s = db.session
        event = make_event(s, slug=f"redis-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        make_ana_and_ben(s, event)
        for first, last in (("Chloé", "Lefèvre"), ("Dev", "Patel")):
            make_attendee(s, event, first_name=first, last_name=last, consent_screen=True,
                          offers=[{"text": "Brand workshops and landing page design", "tags": ["Design"]}],
                          needs=[{"text": "Angel investors for a pre-seed round", "tags": ["Funding"]}])
        screen = create_device(s, event, "screen", "Hall")
        _, screen_token = pair(s, screen.pairing_code)
        kiosk = create_device(s, event, "kiosk", "Door")
        _, kiosk_token = pair(s, kiosk.pairing_code)
        s.commit()
        slug, event_id = event.slug, event.id
    setup.extensions["givetake.db"].dispose()

    env = {"GIVETAKE_DATABASE_URL": pg_url, "GIVETAKE_REDIS_URL": redis_server.url, "GIVETAKE_MATCHER": "redis",
           "GIVETAKE_SECRET_KEY": "redis-" + uuid.uuid4().hex, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "run"),
           "GIVETAKE_PUBLIC_URL": ""}
    a, b = ServerProcess(env), ServerProcess(env)
    matcher = MatcherProcess(env)
    screens: list[FeedClient] = []
    try:
        a.start(), b.start()
        for server in (a, b):
            client = FeedClient(server.url).connect()
            screens.append(client)
            assert client.join("screen", slug, token=screen_token)["ok"]
        assert _check_in_through(b.url, slug, kiosk_token, "Ana").status_code == 200
        assert _check_in_through(a.url, slug, kiosk_token, "Ben").status_code == 200
        for client in screens:
            assert client.wait_for(lambda t, p: t == "match", timeout=90), matcher.output()[-3000:]

        redis_server.kill()
        # The doors stay open: check-ins go on on both processes while Redis is away.
        assert _check_in_through(b.url, slug, kiosk_token, "Chlo").status_code == 200
        assert _check_in_through(a.url, slug, kiosk_token, "Dev").status_code == 200
        time.sleep(1)
        redis_server.start()

        # The matcher matches who came meanwhile; each process tells its screens to rejoin, and they catch up.
        for client in screens:
            client.wait(lambda: client.resyncs > 0, timeout=30, what="a resync after Redis came back")
        deadline = time.monotonic() + 60
        while True:
            for client in screens:
                client.join("screen", slug, token=screen_token, last_seq=client.last_seq())
            with setup.app_context():
                matched = {x for pair in db.session.execute(select(Match.a_id, Match.b_id).where(
                    Match.event_id == event_id)) for x in pair}
                everyone = set(db.session.scalars(select(Attendee.id).where(Attendee.event_id == event_id)))
            if matched == everyone:
                break
            assert time.monotonic() < deadline, f"never matched: {everyone - matched}\n{matcher.output()[-3000:]}"
            time.sleep(0.5)
        for client in screens:
            client.join("screen", slug, token=screen_token, last_seq=client.last_seq())
    finally:
        for client in screens:
            client.close()
        matcher.stop()
        a.stop(), b.stop()
        redis_server.kill()

    with setup.app_context():
        s = db.session
        checked_in = s.scalars(select(Attendee.checked_in_at).where(Attendee.event_id == event_id)).all()
        assert len(checked_in) == 4 and all(checked_in)
        announced = s.scalars(select(EventLog).where(EventLog.event_id == event_id, EventLog.room == "screen",
                                                     EventLog.type == "match")).all()
        matches = s.scalars(select(Match.id).where(Match.event_id == event_id)).all()
        told = Counter(row.payload["match_id"] for row in announced)
        assert set(told) == set(matches) and set(told.values()) == {1}, "a match was lost or announced twice"
        for client in screens:
            got = Counter(p["match_id"] for t, p in client.raw if t == "match")
            assert set(got) == set(matches), f"a screen missed a match: {set(matches) - set(got)}"
