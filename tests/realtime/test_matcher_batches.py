"""The matcher loop takes what queued up in one go: a burst of check-ins is matched in one read and one write.

The loop runs here on the test's own queue (not the app's thread), so a test decides what is waiting when it runs.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from kiosk.db import db
from kiosk.matching import service
from kiosk.matching.loop import MatcherLoop, batches
from kiosk.matching.queue import LocalQueue
from kiosk.models import EventLog, Match
from tests.realtime.conftest import check_in

PEOPLE = ("ana", "ben", "chloe", "dev", "eve")


def test_consecutive_present_work_of_one_event_is_merged_and_order_is_kept():
    items = [{"kind": "checkin", "event_id": 1, "attendee_id": 10},
             {"kind": "cards", "event_id": 1, "attendee_id": 11},
             {"kind": "checkin", "event_id": 2, "attendee_id": 20},
             {"kind": "status", "event_id": 1, "a": 10, "b": 11, "status": "declined"},
             {"kind": "checkin", "event_id": 1, "attendee_id": 12},
             {"kind": "checkin", "event_id": 1, "attendee_id": 10}]
    assert batches(items) == [
        {"kind": "present", "event_id": 1, "attendee_ids": [10, 11], "count": 2},
        {"kind": "present", "event_id": 2, "attendee_ids": [20], "count": 1},
        {"kind": "status", "event_id": 1, "a": 10, "b": 11, "status": "declined"},
        {"kind": "present", "event_id": 1, "attendee_ids": [12, 10], "count": 2},
    ]
    assert batches([]) == []


def _burst(app, rt_event) -> tuple[MatcherLoop, LocalQueue]:
    """Everyone checked in (the app's own matcher is off); their work waits on a queue of our own."""
    work = LocalQueue()
    for key in PEOPLE:
        check_in(app, rt_event["event_id"], rt_event[key])
        work.put({"kind": "checkin", "event_id": rt_event["event_id"], "attendee_id": rt_event[key]})
    return MatcherLoop(app.extensions["givetake.db"], work), work


def _matches(app, event_id: int) -> list[tuple[int, int]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(select(Match.a_id, Match.b_id)
                                                     .where(Match.event_id == event_id))]


@pytest.fixture
def rt_config():
    return {"MATCHER": "off"}


def test_a_burst_is_matched_in_one_batch_without_repeating_a_pair(rt_server, rt_event):
    app = rt_server.app
    loop, work = _burst(app, rt_event)
    items = [work.get(1), *work.get_many(64)]
    assert len(items) == len(PEOPLE) and work.get_many(64) == []
    merged = batches(items)
    assert len(merged) == 1 and merged[0]["attendee_ids"] == [rt_event[k] for k in PEOPLE]
    loop.handle_with_retry(merged[0])

    pairs = _matches(app, rt_event["event_id"])
    assert pairs, "a burst of complementary people made no match"
    assert len(pairs) == len(set(pairs)) and all(a < b for a, b in pairs)
    engine = loop.engines[rt_event["event_id"]]
    for a, b in pairs:
        assert engine.is_excluded(a, b)  # the engine knows every stored match: none is offered again
    with app.app_context():
        phones = db.session.scalar(select(func.count()).select_from(EventLog).where(
            EventLog.type == "match", EventLog.room.like("attendee:%")))
    assert phones == 2 * len(pairs)  # each match reached both phones' logs


def test_a_failed_write_forgets_the_batch_and_the_retry_stores_it_once(rt_server, rt_event, monkeypatch):
    app = rt_server.app
    loop, work = _burst(app, rt_event)
    real = service.save_matches
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "save_matches", flaky)
    monkeypatch.setattr("kiosk.matching.loop.time.sleep", lambda s: None)  # the retry's backoff
    batch = batches([work.get(1), *work.get_many(64)])[0]
    loop.handle_with_retry(batch)
    assert len(calls) == 2
    pairs = _matches(app, rt_event["event_id"])
    assert pairs and len(pairs) == len(set(pairs))
    # The engine was rebuilt from the database for the retry: it knows exactly the stored pairs.
    engine = loop.engines[rt_event["event_id"]]
    assert all(engine.is_excluded(a, b) for a, b in pairs)


def test_warm_up_builds_the_engines_of_events_going_on_before_anyone_checks_in(rt_server, rt_event):
    from datetime import timedelta

    from kiosk.models import Event, utcnow
    app = rt_server.app
    loop, _ = _burst(app, rt_event)
    assert loop.warm_up() == {rt_event["event_id"]: len(PEOPLE)}
    assert set(loop.engines[rt_event["event_id"]].ids) == {rt_event[k] for k in PEOPLE}
    with app.app_context():
        db.session.get(Event, rt_event["event_id"]).ends_at = utcnow() - timedelta(days=3)
        db.session.commit()
    assert MatcherLoop(app.extensions["givetake.db"], LocalQueue()).warm_up() == {}  # long over: not loaded
