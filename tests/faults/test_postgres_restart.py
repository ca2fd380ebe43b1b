"""PostgreSQL restarted (or killed) mid-event while kiosks check people in through a real `givetake serve`.

While the database is away every request fails at once with a clear, retryable answer (503 `database_unavailable`
with Retry-After; a "try again in a moment" page for people), never a 500 and never a hang. The kiosks send the
same request again with the same Idempotency-Key, the app finds PostgreSQL again by itself, and in the end every
attendee is checked in exactly once: one stored answer, one staff message and one seq each, no gap in the seqs.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from kiosk import create_app
from kiosk.db import PG_CONNECT_TIMEOUT_S, PG_STATEMENT_TIMEOUT_MS, db, make_engine, storage_failure
from kiosk.errors import RETRY_AFTER_SECONDS
from kiosk.devices.service import COOKIE, create_device, pair
from kiosk.models import Attendee, Event, EventLog, IdempotentResponse
from kiosk.tokens import DEVICE_TOKEN_LENGTH, hash_token, new_token
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, build_app, csrf_from
from tests.factories import kiosk_grant, make_attendee, make_event
from tests.livesrv import ServerProcess

ATTENDEES = 120
KIOSKS = 4
#: Check-ins acknowledged before PostgreSQL goes away.
BEFORE_THE_STOP = 25
#: How long PostgreSQL stays away once the first kiosk has seen it gone (s).
OUTAGE = 2.0
#: No answer may take longer (s): connect and statement timeouts keep an outage from hanging a kiosk.
SLOWEST_ANSWER = 8.0


@dataclass
class Answer:
    """One request a kiosk sent and what came back."""

    attendee: int
    key: str
    status: int  # 0: no HTTP answer at all
    body: dict
    retry_after: str | None
    seconds: float
    database: str  # "up", "down" or "back" when the request was sent


def seed(app, attendees: int, kiosks: int) -> tuple[str, list[int], dict[str, int]]:
    """An event with pre-registered attendees and paired kiosks: (slug, attendee ids, {kiosk token: device id})."""
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
        return event.slug, [p.id for p in people], tokens


def organizer_session(base: str) -> requests.Session:
    """A browser signed in as the organizer."""
    http = requests.Session()
    login = http.get(f"{base}/login", timeout=10)
    answer = http.post(f"{base}/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                              "csrf_token": csrf_from(login.text)}, timeout=10)
    assert answer.status_code == 200 and "/admin" in answer.url, answer.text[:500]
    return http


@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_check_ins_across_a_postgres_restart_land_exactly_once(private_pg, tmp_path, mode):
    admin = create_engine(private_pg.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE givetake"))
    admin.dispose()
    url = private_pg.url("givetake")
    setup = build_app(tmp_path / "instance", url, MATCHER="off")  # migrations, as `givetake init` runs them
    slug, ids, tokens = seed(setup, ATTENDEES, KIOSKS)
    setup.extensions["givetake.db"].dispose()
    env = {"GIVETAKE_DATABASE_URL": url, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "instance"),
           "GIVETAKE_SECRET_KEY": setup.config["SECRET_KEY"], "GIVETAKE_MATCHER": "off", "GIVETAKE_REDIS_URL": "",
           "GIVETAKE_PUBLIC_URL": "https://give.example.org"}
    server = ServerProcess(env)

    database = "up"
    answers: list[Answer] = []
    lock = threading.Lock()
    enough, outage_seen = threading.Event(), threading.Event()

    def kiosk(token: str, people: list[int]) -> None:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        for aid in people:
            key = f"kiosk-{tokens[token]}-checkin-{aid}"
            headers = {"Idempotency-Key": key, "X-Kiosk-Grant": kiosk_grant(setup, tokens[token], aid)}
            while True:  # the same request, with the same key, until it is answered
                sent_while, started = database, time.monotonic()
                try:
                    response = http.post(f"{server.url}/api/events/{slug}/attendees/{aid}/checkin", json={},
                                         headers=headers, timeout=30)
                    answer = Answer(aid, key, response.status_code, response.json() if response.content else {},
                                    response.headers.get("Retry-After"), time.monotonic() - started, sent_while)
                except (requests.RequestException, ValueError) as exc:
                    answer = Answer(aid, key, 0, {"error": repr(exc)}, None, time.monotonic() - started, sent_while)
                with lock:
                    answers.append(answer)
                    if answer.status == 200 and sum(a.status == 200 for a in answers) >= BEFORE_THE_STOP:
                        enough.set()
                    if answer.status != 200:
                        outage_seen.set()
                if answer.status == 200:
                    break
                if answer.status != 503:
                    return  # unexpected: the assertions below say what it was
                time.sleep(0.2)  # a kiosk waits Retry-After seconds; the test keeps it short

    kiosks = [threading.Thread(target=kiosk, args=(token, ids[k::KIOSKS])) for k, token in enumerate(tokens)]
    server.start(90)
    try:
        organizer = organizer_session(server.url)
        for thread in kiosks:
            thread.start()
        assert enough.wait(60), f"only {len(answers)} answers in 60 s:\n{server.output()[-3000:]}"
        database = "down"
        private_pg.stop(mode)  # with the kiosks' requests in flight
        assert outage_seen.wait(15), "no kiosk noticed that PostgreSQL was gone"
        kiosk_page = requests.get(f"{server.url}/kiosk/", cookies={COOKIE: next(iter(tokens))}, timeout=15)
        admin_page = organizer.get(f"{server.url}/admin/", timeout=15)
        time.sleep(OUTAGE)  # the outage itself: the kiosks keep retrying meanwhile
        private_pg.start()
        database = "back"
        for thread in kiosks:
            thread.join(120)
        assert not any(t.is_alive() for t in kiosks), "a kiosk was still retrying two minutes after the restart"
        assert server.process.poll() is None, "the app died instead of waiting for its database"
        log = server.output()
    finally:
        server.stop()

    unexpected = [a for a in answers if a.status not in (200, 503)]
    assert unexpected == [], f"{unexpected[:3]}\n{log[-3000:]}"
    slow = [a for a in answers if a.seconds > SLOWEST_ANSWER]
    assert slow == [], f"{len(slow)} answers took longer than {SLOWEST_ANSWER} s: {slow[:3]}"
    refused = [a for a in answers if a.status == 503]
    assert refused, "no request met the outage: the test tested nothing"
    for a in refused:
        assert a.body["code"] == "database_unavailable" and "try again" in a.body["message"], a
        assert a.retry_after and a.retry_after.isdigit(), a
    assert "Traceback" not in log and "unhandled error" not in log, log[-3000:]

    # People at the kiosk and the organizer at the dashboard get a page that says what to do, not a 500.
    for page in (kiosk_page, admin_page):
        assert page.status_code == 503 and page.headers.get("Retry-After"), (page.status_code, page.text[:500])
        assert "Try again in a moment" in page.text and "Traceback" not in page.text

    # Every kiosk got one success per attendee, some of them only after a 503 and a retry with the same key.
    won = {a.attendee: a for a in answers if a.status == 200}
    assert sorted(won) == sorted(ids) and sum(a.status == 200 for a in answers) == len(ids)
    retried = {a.attendee for a in refused} & set(won)
    assert retried, "no check-in was retried after the outage"

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(Attendee.id, Attendee.personal_token_hash)
                                .where(Attendee.checked_in_at.is_not(None))).all()
            logged = conn.execute(select(EventLog.payload["attendee_id"].as_integer())
                                  .where(EventLog.type == "checkin")).scalars().all()
            seqs = sorted(conn.execute(select(EventLog.seq)).scalars())
            last_seq = conn.execute(select(Event.last_seq)).scalar_one()
            stored = conn.execute(select(func.count(IdempotentResponse.id))).scalar_one()
    finally:
        engine.dispose()
    assert sorted(r.id for r in rows) == sorted(ids)
    # The token each kiosk showed is the one stored: a retry got the first answer, never a second check-in.
    assert all(r.personal_token_hash == hash_token(won[r.id].body["personal_token"]) for r in rows)
    assert sorted(logged) == sorted(ids), "a check-in's staff message is missing or doubled"
    assert seqs == list(range(1, len(seqs) + 1)) and last_seq == len(seqs), "a seq is missing: a half-written write"
    assert stored == len(ids)


def test_a_database_host_that_never_answers_gets_a_503_within_the_connect_timeout(tmp_path):
    # A listening socket nobody serves: the TCP handshake completes, PostgreSQL's greeting never comes (a wedged
    # server, a host gone half-way). Without a connect timeout the kiosk's request would wait for good.
    answers = []
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/givetake"
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "test",
                          "DATABASE_URL": url, "MATCHER": "off"})
        kiosk = {"Authorization": f"Bearer {new_token(DEVICE_TOKEN_LENGTH)}"}  # looked up in the database first
        started = time.monotonic()
        request = threading.Thread(target=lambda: answers.append(
            app.test_client().get("/api/events/any/stats", headers=kiosk)), daemon=True)
        request.start()
        request.join(PG_CONNECT_TIMEOUT_S + 5)
        waited = time.monotonic() - started
    app.extensions["givetake.db"].dispose()
    assert answers, f"the request still waited for the database after {waited:.0f} s"
    assert answers[0].status_code == 503 and answers[0].get_json()["code"] == "database_unavailable"
    assert answers[0].headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert PG_CONNECT_TIMEOUT_S - 1 < waited < PG_CONNECT_TIMEOUT_S + 3, waited


@pytest.mark.faults
def test_a_statement_stuck_behind_a_lock_is_cut_off_and_retryable(private_pg):
    engine = make_engine(private_pg.url())
    quick = make_engine(private_pg.url(), statement_timeout_ms=300)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == f"{PG_STATEMENT_TIMEOUT_MS // 1000}s"
            assert conn.connection.dbapi_connection.info.get_parameters()["connect_timeout"] == \
                str(PG_CONNECT_TIMEOUT_S)
            conn.execute(text("CREATE TABLE counter (n int)"))
            conn.execute(text("INSERT INTO counter VALUES (0)"))
            conn.commit()
            conn.execute(text("UPDATE counter SET n = 1"))  # holds the row lock, uncommitted
            with quick.connect() as other, pytest.raises(DBAPIError) as stuck:
                other.execute(text("UPDATE counter SET n = 2"))
            conn.rollback()
    finally:
        quick.dispose()
        engine.dispose()
    assert storage_failure(stuck.value) == "unavailable"  # the client is told to try again, not sent a 500
