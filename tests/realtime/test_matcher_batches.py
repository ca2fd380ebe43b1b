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
        {"kind": "present", "event_id": 1, "attendee_ids": [10, 11]},
        {"kind": "present", "event_id": 2, "attendee_ids": [20]},
        {"kind": "status", "event_id": 1, "a": 10, "b": 11, "status": "declined"},
        {"kind": "present", "event_id": 1, "attendee_ids": [12, 10]},
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
    # The engine forgot the unstored matches (the retry found them again) and knows exactly the stored pairs.
    engine = loop.engines[rt_event["event_id"]]
    assert all(engine.is_excluded(a, b) for a, b in pairs)
    for key in PEOPLE:
        pid = rt_event[key]
        assert engine.load(pid) == sum(pid in pair for pair in pairs)  # counted once, not twice


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


def test_one_bad_profile_costs_its_own_matches_not_the_batch(rt_server, rt_event, monkeypatch):
    app = rt_server.app
    loop, work = _burst(app, rt_event)
    engine = loop.engine_for(rt_event["event_id"])
    bad = rt_event["chloe"]
    real = engine.suggest

    def suggest(pid, k=3, **kw):
        if pid == bad:
            raise ValueError("a profile the engine cannot score")
        return real(pid, k=k, **kw)

    monkeypatch.setattr(engine, "suggest", suggest)
    loop.handle_logged(batches([work.get(1), *work.get_many(64)])[0])
    pairs = _matches(app, rt_event["event_id"])
    assert pairs, "the others' matches were lost with the bad one"
    # The engine remembers exactly what was stored: nothing of the failed batch lingers.
    excluded = {pair for pair, reason in engine._ledger.excluded.items() if reason == "matched"}
    assert excluded == set(pairs)
    for key in PEOPLE:
        assert engine.load(rt_event[key]) == sum(rt_event[key] in pair for pair in pairs)


def test_capacity_windows_survive_a_restart(rt_server, rt_event):
    app = rt_server.app
    loop, work = _burst(app, rt_event)
    loop.handle_logged(batches([work.get(1), *work.get_many(64)])[0])
    pairs = _matches(app, rt_event["event_id"])
    assert pairs
    restarted = MatcherLoop(app.extensions["givetake.db"], LocalQueue())  # a new process, same database
    engine = restarted.engine_for(rt_event["event_id"])
    for key in PEOPLE:
        pid = rt_event[key]
        assert engine.load(pid) == sum(pid in pair for pair in pairs)
    assert all(engine.is_excluded(a, b) for a, b in pairs)


def test_a_person_erased_while_the_round_is_worked_out_is_in_no_group(rt_server, rt_event):
    from kiosk.attendees.service import erase_attendee
    from kiosk.models import Attendee, Round
    from kiosk.rounds.service import plan_round, store_round
    app = rt_server.app
    loop, _ = _burst(app, rt_event)
    engine = loop.engine_for(rt_event["event_id"])
    with app.extensions["givetake.db"].reader() as session:
        plan = plan_round(session, rt_event["event_id"], engine)
    groups = [tuple(g) for g in plan.result.groups]
    gone = groups[0][0]
    partners = [pid for pid in groups[0] if pid != gone]
    with app.app_context():
        erase_attendee(db.session, db.session.get(Attendee, gone))
        db.session.commit()
    with app.extensions["givetake.db"].transaction() as session:
        row = store_round(session, rt_event["event_id"], engine, plan)
        stored = [tuple(g["ids"]) for g in row.pairs]
    assert all(gone not in g for g in stored) and len(stored) == len(groups) - 1
    with app.app_context():
        assert not db.session.scalars(select(Match).where((Match.a_id == gone) | (Match.b_id == gone))).all()
        staff = db.session.scalars(select(EventLog).where(EventLog.type == "round", EventLog.room == "staff")).one()
        assert set(partners) <= set(staff.payload["unpaired"])
        assert db.session.get(Round, row.id).number == 1


def test_people_whose_work_was_lost_are_matched_by_the_catch_up_and_only_once(rt_server, rt_event):
    """A laptop that died with check-ins in its in-process queue: at the next start nobody present is forgotten."""
    app = rt_server.app
    loop, work = _burst(app, rt_event)
    work.get_many(64)  # the queue died with the process: its items are gone
    assert _matches(app, rt_event["event_id"]) == []
    assert loop.catch_up() == len(PEOPLE)
    pairs = _matches(app, rt_event["event_id"])
    matched = {x for pair in pairs for x in pair}
    assert matched, "the catch-up matched nobody"
    with app.app_context():
        logged = db.session.scalar(select(func.count()).select_from(EventLog).where(EventLog.type == "match"))
    # Asked again, only those still without a match are looked at, and nothing already made is made again.
    assert loop.catch_up() == len(PEOPLE) - len(matched & {rt_event[k] for k in PEOPLE})
    assert sorted(_matches(app, rt_event["event_id"])) == sorted(pairs)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(EventLog).where(EventLog.type == "match")) == logged
