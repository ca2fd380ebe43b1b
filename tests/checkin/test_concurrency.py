"""Concurrent check-ins through the real HTTP API on a live threaded server, on SQLite and on PostgreSQL.

What DESIGN.md promises for the 8:55 queue: two kiosks checking in the same person give one check-in and a clear
"already checked in" to the other; many kiosks at once lose nothing and double nothing; a retried request with the
same Idempotency-Key gets the first answer; and on SQLite an acknowledged check-in survives the server being killed.
"""
from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest
import requests
from sqlalchemy import func, select, text

from kiosk.db import db, make_engine
from kiosk.devices.service import create_device, pair
from kiosk.models import Attendee, Event, EventLog, IdempotentResponse
from kiosk.tokens import hash_token
from tests.conftest import build_app
from tests.factories import kiosk_grant, make_attendee, make_event
from tests.livesrv import LiveServer, ServerProcess

#: Long enough for a request stuck behind SQLite's 15 s busy timeout to come back with its answer.
HTTP_TIMEOUT = 60


@dataclass
class Venue:
    """An event on a live server: its attendees and its paired kiosks (token -> device id)."""

    url: str
    slug: str
    event_id: int
    attendee_ids: list[int]
    kiosks: dict[str, int] = field(default_factory=dict)
    #: The server's app (for signing what its kiosks hold after choosing someone).
    app: object = None

    def checkin_url(self, attendee_id: int) -> str:
        return f"{self.url}/api/events/{self.slug}/attendees/{attendee_id}/checkin"

    def grant(self, token: str, attendee_id: int) -> str:
        """What kiosk `token` holds once it chose this person from its lookup (the API's X-Kiosk-Grant)."""
        return kiosk_grant(self.app, self.kiosks[token], attendee_id)


def seed(app, attendees: int, kiosks: int) -> tuple[int, str, list[int], dict[str, int]]:
    """An event with `attendees` pre-registered people and `kiosks` paired kiosk devices."""
    with app.app_context():
        s = db.session
        event = make_event(s)
        people = [make_attendee(s, event, first_name=f"Guest{i}", email=f"guest{i}@example.org")
                  for i in range(attendees)]
        tokens = {}
        for k in range(kiosks):
            device, token = pair(s, create_device(s, event, "kiosk", f"Kiosk {k + 1}").pairing_code)
            tokens[token] = device.id
        s.commit()
        return event.id, event.slug, [p.id for p in people], tokens


def kiosk_session(token: str) -> requests.Session:
    """One kiosk's HTTP client: its own keep-alive connection and its device token."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def post_checkin(http: requests.Session, url: str, key: str | None = None, grant: str | None = None
                 ) -> tuple[int, dict]:
    headers = {**({"Idempotency-Key": key} if key else {}), **({"X-Kiosk-Grant": grant} if grant else {})}
    response = http.post(url, headers=headers, timeout=HTTP_TIMEOUT)
    return response.status_code, response.json() if response.content else {}


def run_together(jobs: list) -> list:
    """Run every job in its own thread, released at the same instant by a barrier; results in job order."""
    barrier = threading.Barrier(len(jobs))

    def released(job):
        barrier.wait(timeout=30)
        return job()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(released, jobs))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def live_app(request, tmp_path):
    """The app with the default in-process matcher, on SQLite then on a throwaway PostgreSQL database."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    app = build_app(tmp_path / "instance", url)
    with LiveServer(app) as server:
        app.config["LIVE_URL"] = server.url
        yield app
    loop = app.extensions["givetake.matcher"].loop
    if loop is not None:
        loop.stop()
    app.extensions["givetake.db"].dispose()


def venue(app, attendees: int, kiosks: int) -> Venue:
    event_id, slug, ids, tokens = seed(app, attendees, kiosks)
    return Venue(app.config["LIVE_URL"], slug, event_id, ids, tokens, app)


def checkin_log(app, event_id: int) -> list[dict]:
    """The payloads of the staff `checkin` messages logged for the event."""
    with app.app_context():
        return [row.payload for row in db.session.scalars(
            select(EventLog).where(EventLog.event_id == event_id, EventLog.type == "checkin"))]


def test_twenty_kiosks_checking_in_one_person_give_one_checkin(live_app):
    place = venue(live_app, attendees=1, kiosks=20)
    person = place.attendee_ids[0]
    sessions = {token: kiosk_session(token) for token in place.kiosks}
    answers = run_together([lambda http=http, t=t: post_checkin(http, place.checkin_url(person),
                                                                 grant=place.grant(t, person))
                            for t, http in sessions.items()])

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * 19, statuses
    winner_index = next(i for i, (status, _) in enumerate(answers) if status == 200)
    winner = answers[winner_index][1]
    assert winner["checked_in"] is True and winner["personal_token"]
    for status, body in answers:
        if status == 409:
            assert body["code"] == "already_checked_in"
            assert "personal_token" not in body
            assert body["details"]["checked_in_at"] == winner["checked_in_at"]

    with live_app.app_context():
        row = db.session.get(Attendee, person)
        assert row.checked_in_at.isoformat() == winner["checked_in_at"]
        assert row.checked_in_by == list(place.kiosks.values())[winner_index]
        # One personal token: the stored hash is the winner's, so the token shown on the winning kiosk works.
        assert row.personal_token_hash == hash_token(winner["personal_token"])
    assert [p["attendee_id"] for p in checkin_log(live_app, place.event_id)] == [person]


@pytest.mark.slow
def test_ten_kiosks_checking_in_two_hundred_people_each_lose_and_double_nothing(live_app):
    place = venue(live_app, attendees=2000, kiosks=10)
    kiosks = list(place.kiosks)
    queues = {token: place.attendee_ids[k::len(kiosks)] for k, token in enumerate(kiosks)}

    def kiosk_work(token: str) -> list[tuple[int, int, dict]]:
        http = kiosk_session(token)
        return [(aid, *post_checkin(http, place.checkin_url(aid), grant=place.grant(token, aid)))
                for aid in queues[token]]

    results = run_together([lambda token=token: kiosk_work(token) for token in kiosks])

    failures = [(aid, status, body) for kiosk in results for aid, status, body in kiosk if status != 200]
    assert failures == [], f"{len(failures)} of 2000 check-ins failed, first: {failures[:3]}"
    acknowledged = sorted(aid for kiosk in results for aid, _, _ in kiosk)
    assert acknowledged == sorted(place.attendee_ids)

    with live_app.app_context():
        s = db.session
        rows = s.execute(select(Attendee.id, Attendee.checked_in_by, Attendee.personal_token_hash)
                         .where(Attendee.event_id == place.event_id, Attendee.checked_in_at.is_not(None))).all()
        assert sorted(r.id for r in rows) == sorted(place.attendee_ids)
        kiosk_of = {aid: place.kiosks[token] for token, ids in queues.items() for aid in ids}
        assert {r.id: r.checked_in_by for r in rows} == kiosk_of
        assert all(r.personal_token_hash for r in rows)
        # Every real-time message got its own seq, with no gap a reconnecting screen would wait for forever.
        seqs = sorted(s.scalars(select(EventLog.seq).where(EventLog.event_id == place.event_id)))
        assert seqs == list(range(1, len(seqs) + 1))
        # The counter against the log in one statement, so one snapshot: the matcher's stats message may commit
        # between two separate reads (on PostgreSQL it did: last_seq 4078 against 4077 rows read a moment before).
        in_log = select(EventLog.seq).where(EventLog.event_id == place.event_id)
        last, rows_logged, top = s.execute(select(
            Event.last_seq, select(func.count()).select_from(in_log.subquery()).scalar_subquery(),
            select(func.max(EventLog.seq)).where(EventLog.event_id == place.event_id).scalar_subquery())
            .where(Event.id == place.event_id)).one()
        assert last == rows_logged == top >= len(seqs)
    logged = sorted(p["attendee_id"] for p in checkin_log(live_app, place.event_id))
    assert logged == sorted(place.attendee_ids)


def test_a_retry_storm_with_one_idempotency_key_gets_one_answer_and_one_checkin(live_app):
    place = venue(live_app, attendees=5, kiosks=1)
    token = next(iter(place.kiosks))
    for n, person in enumerate(place.attendee_ids):
        key = f"retry-{n}-{person}"
        sessions = [kiosk_session(token) for _ in range(5)]
        grant = place.grant(token, person)
        answers = run_together([lambda http=http: post_checkin(http, place.checkin_url(person), key, grant)
                                for http in sessions])
        assert [status for status, _ in answers] == [200] * 5, answers
        assert all(body == answers[0][1] for _, body in answers), answers
        assert answers[0][1]["checked_in"] is True and answers[0][1]["personal_token"]
        # A new key is a new request: now the person is already checked in.
        status, body = post_checkin(sessions[0], place.checkin_url(person), key + "-later", grant)
        assert status == 409 and body["code"] == "already_checked_in"

    logged = sorted(p["attendee_id"] for p in checkin_log(live_app, place.event_id))
    assert logged == sorted(place.attendee_ids)
    with live_app.app_context():
        # One stored answer per person: the first success. An error answer (the later 409) is not kept: a retry
        # of a failed request fails the same way on its own.
        stored = db.session.scalar(select(func.count(IdempotentResponse.id)))
        assert stored == len(place.attendee_ids)
        assert all(db.session.get(Attendee, person).checked_in_at for person in place.attendee_ids)


@pytest.mark.slow
def test_every_acknowledged_checkin_survives_kill_9_on_sqlite(tmp_path):
    instance = tmp_path / "instance"
    app = build_app(instance, MATCHER="off")
    event_id, slug, ids, tokens = seed(app, attendees=320, kiosks=4)
    database_path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    app.extensions["givetake.db"].dispose()

    kill_after = 200
    env = {"GIVETAKE_INSTANCE_PATH": str(instance), "GIVETAKE_MATCHER": "off", "GIVETAKE_DATABASE_URL": "",
           "GIVETAKE_SECRET_KEY": app.secret_key}  # the server signs and checks grants with the same key
    server = ServerProcess(env).start()
    place = Venue(server.url, slug, event_id, ids, tokens, app)
    acknowledged: list[int] = []
    unexpected: list[tuple[int, int]] = []
    enough = threading.Event()
    lock = threading.Lock()

    def kiosk_work(k: int, token: str) -> None:
        http = kiosk_session(token)
        for aid in ids[k::len(tokens)]:
            try:
                status, _ = post_checkin(http, place.checkin_url(aid), grant=place.grant(token, aid))
            except requests.RequestException:
                return  # the server is gone; what it acknowledged before is what counts
            with lock:
                if status != 200:
                    unexpected.append((aid, status))
                    return
                acknowledged.append(aid)
                if len(acknowledged) >= kill_after:
                    enough.set()

    threads = [threading.Thread(target=kiosk_work, args=(k, t)) for k, t in enumerate(tokens)]
    try:
        for thread in threads:
            thread.start()
        assert enough.wait(60), f"only {len(acknowledged)} check-ins in 60 s:\n{server.output()}"
        server.kill()  # SIGKILL right after the 200th answer, with the other kiosks' requests still in flight
    finally:
        server.kill()
        for thread in threads:
            thread.join(HTTP_TIMEOUT)
    with lock:
        promised = set(acknowledged)
    assert unexpected == [] and len(promised) >= kill_after

    # Reopen the file the way a restarted server would (WAL recovery included) and read what it kept.
    reopened = sqlite3.connect(database_path)
    try:
        assert reopened.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        checked_in = {aid for (aid,) in reopened.execute(
            "SELECT id FROM attendees WHERE event_id = ? AND checked_in_at IS NOT NULL", (event_id,))}
        logged = [aid for (aid,) in reopened.execute(
            "SELECT json_extract(payload, '$.attendee_id') FROM event_log WHERE event_id = ? AND type = 'checkin'",
            (event_id,))]
    finally:
        reopened.close()
    assert promised - checked_in == set(), f"{len(promised - checked_in)} acknowledged check-ins were lost"
    # A check-in and its log line commit together or not at all, even when the process dies mid-transaction.
    assert sorted(logged) == sorted(checked_in)


def test_sqlite_connections_are_wal_and_synchronous_full(tmp_path):
    """The durability the crash test relies on: an fsync at every commit, not just a write to the OS cache."""
    engine = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    finally:
        engine.dispose()
