"""The data model and its migrations, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from kiosk import schema
from kiosk.db import db
from kiosk.models import Attendee, Contact, EventLog, Match
from kiosk.tokens import ALPHABET, BADGE_TOKEN_LENGTH
from tests.factories import make_attendee, make_event

TABLES = {"organizers", "events", "tags", "attendees", "revoked_badge_tokens", "cards", "rounds", "matches",
          "contacts", "devices", "print_jobs", "event_log", "idempotent_responses", "attendee_groups"}


def test_migrations_create_every_table_and_round_trip(any_app):
    url = any_app.config["DATABASE_URL"]
    engine = any_app.extensions["givetake.db"].engine
    assert schema.current_revision(url) == schema.head_revision()
    assert TABLES <= set(inspect(engine).get_table_names())
    any_app.extensions["givetake.db"].dispose()
    schema.downgrade(url, "base")
    assert schema.current_revision(url) is None
    assert not TABLES & set(inspect(engine).get_table_names())
    schema.upgrade(url)
    assert TABLES <= set(inspect(engine).get_table_names())


def test_the_groups_migration_keeps_everyone_and_their_cards(any_app):
    """0007 adds attendees.group_id in place: a table copy would have cascade-deleted cards, matches, contacts."""
    url = any_app.config["DATABASE_URL"]
    with any_app.app_context():
        s = db.session
        event = make_event(s, name="Mentoring night", slug="mentoring")
        ana = make_attendee(s, event, first_name="Ana", offers=[{"text": "I mentor founders", "tags": []}])
        ana_id = ana.id
        s.commit()
    any_app.extensions["givetake.db"].dispose()
    schema.downgrade(url, "0006")
    engine = any_app.extensions["givetake.db"].engine
    assert "group_id" not in {c["name"] for c in inspect(engine).get_columns("attendees")}
    assert "attendee_groups" not in inspect(engine).get_table_names()
    schema.upgrade(url)
    with any_app.app_context():
        s = db.session
        ana = s.get(Attendee, ana_id)
        assert ana.group_id is None and [c.text for c in ana.cards] == ["I mentor founders"]


def test_pairs_are_stored_with_a_less_than_b(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        a, b = make_attendee(s, event), make_attendee(s, event)
        s.add(Match(event_id=event.id, a_id=a.id, b_id=b.id, score=0.5, direction="both"))
        s.commit()
        s.add(Match(event_id=event.id, a_id=b.id, b_id=a.id, score=0.5, direction="both"))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()
        s.add(Match(event_id=event.id, a_id=a.id, b_id=b.id, score=0.7, direction="a->b"))
        with pytest.raises(IntegrityError):  # one row per pair and event
            s.commit()


def test_tokens_are_unique_random_and_unambiguous(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        people = [make_attendee(s, event) for _ in range(50)]
        s.commit()
        tokens = [p.badge_token for p in people]
        assert len(set(tokens)) == 50
        assert all(len(t) == BADGE_TOKEN_LENGTH and set(t) <= set(ALPHABET) for t in tokens)
        assert not set("01OIL") & set("".join(tokens))
        people[1].badge_token = people[0].badge_token
        with pytest.raises(IntegrityError):
            s.commit()


def test_ticket_ref_is_unique_per_event_but_not_across_events(any_app):
    with any_app.app_context():
        s = db.session
        e1, e2 = make_event(s), make_event(s)
        make_attendee(s, e1, ticket_ref="T-1")
        make_attendee(s, e2, ticket_ref="T-1")
        s.commit()
        with pytest.raises(IntegrityError):
            make_attendee(s, e1, ticket_ref="T-1")
            s.commit()


def test_ticket_secret_is_unique_per_event_when_set(any_app):
    with any_app.app_context():
        s = db.session
        e1, e2 = make_event(s), make_event(s)
        a, b = make_attendee(s, e1), make_attendee(s, e1)  # no secret: any number of them
        c = make_attendee(s, e2)
        a.ticket_secret = c.ticket_secret = "q9k7x2vavnwaut9d7857kq8899fscqmh"
        s.commit()
        b.ticket_secret = a.ticket_secret
        with pytest.raises(IntegrityError):
            s.commit()


def test_event_log_seq_is_unique_per_event(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        s.add(EventLog(event_id=event.id, seq=1, type="match", room="screen", payload={}))
        s.commit()
        s.add(EventLog(event_id=event.id, seq=1, type="stats", room="screen", payload={}))
        with pytest.raises(IntegrityError):
            s.commit()


def test_contact_cannot_be_with_oneself(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        a = make_attendee(s, event)
        s.add(Contact(event_id=event.id, from_id=a.id, to_id=a.id))
        with pytest.raises(IntegrityError):
            s.commit()


def test_timestamps_come_back_timezone_aware_in_utc(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        berlin = timezone(timedelta(hours=1))
        a = make_attendee(s, event)
        a.checked_in_at = datetime(2026, 11, 26, 9, 30, tzinfo=berlin)
        s.commit()
        s.expire_all()
        loaded = s.scalar(select(Attendee).where(Attendee.id == a.id))
        assert loaded.checked_in_at.tzinfo is not None
        assert loaded.checked_in_at == datetime(2026, 11, 26, 8, 30, tzinfo=timezone.utc)


def test_deleting_an_event_cascades_to_its_people(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        a = make_attendee(s, event, offers=["Python code reviews"], needs=["A designer"])
        s.commit()
        s.delete(event)
        s.commit()
        assert s.get(Attendee, a.id) is None


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app):
    from kiosk.db import SQLITE_ATTEMPT_MS
    engine = app.extensions["givetake.db"].engine
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_ATTEMPT_MS  # then we retry
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_a_sqlite_writer_waits_for_another_process_lock_well_past_one_attempt(app):
    import sqlite3
    import threading
    import time

    from kiosk.db import SQLITE_ATTEMPT_MS
    engine = app.extensions["givetake.db"].engine
    other = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # as a `givetake import` in another process would
    threading.Timer(0.4, lambda: other.execute("COMMIT")).start()
    started = time.monotonic()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE events SET last_seq = last_seq")
    waited = time.monotonic() - started
    other.close()
    assert waited >= 0.3 > SQLITE_ATTEMPT_MS / 1000  # it waited for the lock, over many attempts, and got it


def test_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path, monkeypatch):
    from kiosk import create_app
    monkeypatch.delenv("GIVETAKE_SECRET_KEY", raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second and len(first) >= 40
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0
    other = create_app({"INSTANCE_PATH": str(tmp_path / "other")}).config["SECRET_KEY"]
    assert other != first


def test_the_migrations_build_exactly_the_models(any_app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from kiosk.db import Base
    engine = any_app.extensions["givetake.db"].engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff  # a model change without its migration (or the reverse)
    with engine.connect() as conn:  # the index behind "how many are here"
        names = {ix["name"] for ix in inspect(conn).get_indexes("attendees")}
    assert "ix_attendees_event_present" in names
