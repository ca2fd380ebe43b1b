"""The Redis work queue is reliable: what the matcher took waits in a processing list until it is acknowledged.

A `givetake matcher` killed mid-batch (SIGKILL: no clean-up) leaves its batch there; the next matcher reclaims it
and every check-in is matched, none twice.
"""
from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from kiosk.db import db
from kiosk.matching.queue import RedisQueue
from kiosk.models import Attendee, EventLog, Match
from tests.conftest import build_app
from tests.factories import make_attendee, make_event
from tests.livesrv import MatcherProcess
from tests.realtime.conftest import check_in

pytestmark = [pytest.mark.redis]


def _items(work: RedisQueue, n: int) -> list[dict]:
    return [{"kind": "checkin", "event_id": 1, "attendee_id": i} for i in range(n)]


def test_taken_items_wait_until_acknowledged_and_come_back_first_in_order(redis_url):
    work = RedisQueue(redis_url)
    for item in _items(work, 5):
        work.put(item)
    first = work.get(timeout=1)
    more = work.get_many(2)
    assert [first["attendee_id"], *(x["attendee_id"] for x in more)] == [0, 1, 2]
    assert work.qsize() == 2 and work.unacknowledged() == 3
    work.ack([more[0]])  # 1 is done; 0 and 2 were taken when the matcher "died"
    assert work.unacknowledged() == 2

    successor = RedisQueue(redis_url)
    assert successor.reclaim() == 2
    assert successor.unacknowledged() == 0
    again = successor.get_many(10)
    assert [(x["attendee_id"], x.get("redelivered", False)) for x in again] == [
        (0, True), (2, True), (3, False), (4, False)]
    successor.ack(again)
    assert successor.unacknowledged() == 0 and successor.qsize() == 0


def test_an_item_that_is_not_json_is_dropped_not_choked_on(redis_url):
    work = RedisQueue(redis_url)
    work._redis.rpush(work._key, b"\xff not json")
    work.put({"kind": "checkin", "event_id": 1, "attendee_id": 7})
    assert [x["attendee_id"] for x in work.get_many(5)] == [7]
    assert work.unacknowledged() == 1  # only the real item waits for its ack


def test_one_matcher_holds_the_lease_and_a_second_is_refused(redis_url):
    first, second = RedisQueue(redis_url), RedisQueue(redis_url)
    assert first.acquire_lease(wait=0) is None
    assert second.acquire_lease(wait=0.6) == first.holder
    first.renew_lease()
    first.release_lease()
    assert second.acquire_lease(wait=0) is None


def _complementary_crowd(session, event, n: int) -> list[int]:
    """n people in two halves, each offering what the other half asks for."""
    ids = []
    for i in range(n):
        designer = i % 2 == 0
        person = make_attendee(
            session, event, first_name=f"P{i}", last_name="Crowd", company=f"Firm {i}",
            email=f"p{i}@example.org",
            offers=[{"text": "Landing page and brand design" if designer else "I review pitch decks and term sheets",
                     "tags": ["Design" if designer else "Funding"]}],
            needs=[{"text": "Feedback on our seed round" if designer else "A designer for our landing page",
                    "tags": ["Funding" if designer else "Design"]}])
        ids.append(person.id)
    return ids


@pytest.mark.postgres
@pytest.mark.slow
def test_a_matcher_killed_mid_batch_loses_no_check_ins_matching_and_doubles_none(tmp_path, pg_url, redis_url):
    setup = build_app(tmp_path / "setup", pg_url, MATCHER="off")
    with setup.app_context():
        event = make_event(db.session, slug=f"kill-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        people = _complementary_crowd(db.session, event, 160)
        db.session.commit()
        event_id = event.id
    env = {"GIVETAKE_DATABASE_URL": pg_url, "GIVETAKE_REDIS_URL": redis_url,
           "GIVETAKE_SECRET_KEY": "kill-" + uuid.uuid4().hex, "GIVETAKE_INSTANCE_PATH": str(tmp_path / "run")}
    work = RedisQueue(redis_url)
    matcher = MatcherProcess(env)
    try:
        # The matcher is up (its lease taken, its model loaded) before the doors open.
        deadline = time.monotonic() + 90
        while b"" == (work._redis.get(work._lease) or b"") or "Matcher running" not in matcher.output():
            assert matcher.process.poll() is None and time.monotonic() < deadline, matcher.output()
            time.sleep(0.1)
        for attendee_id in people:  # the 8:55 queue: every check-in commits...
            check_in(setup, event_id, attendee_id)
        for attendee_id in people:  # ...and its work reaches Redis (at once: the matcher takes full batches)
            work.put({"kind": "checkin", "event_id": event_id, "attendee_id": attendee_id,
                      "queued_at": "2000-01-01T00:00:00+00:00"})
        # Kill it while it holds a batch it has not acknowledged.
        deadline = time.monotonic() + 60
        while work.unacknowledged() == 0:
            assert time.monotonic() < deadline, "the matcher never took a batch"
            time.sleep(0.002)
        matcher.kill()
        held = work.unacknowledged()
        with setup.app_context():
            matched_before = db.session.scalar(select(func.count(Match.id)).where(Match.event_id == event_id))
        assert held > 0 and work.qsize() + held > 0
        print(f"killed holding {held} unacknowledged item(s), {work.qsize()} waiting, {matched_before} matches made")

        matcher = MatcherProcess(env)  # what systemd's Restart=always does
        deadline = time.monotonic() + 120
        while work.qsize() or work.unacknowledged() or "Matcher running" not in matcher.output():
            assert matcher.process.poll() is None and time.monotonic() < deadline, matcher.output()[-4000:]
            time.sleep(0.2)
        time.sleep(1)
    finally:
        matcher.stop()
    assert f"{held} work item(s) a previous matcher took but did not finish" in matcher.output()
    with setup.app_context():
        s = db.session
        pairs = s.execute(select(Match.a_id, Match.b_id).where(Match.event_id == event_id)).all()
        per_person = Counter(x for pair in pairs for x in pair)
        unmatched = [a for a in people if per_person[a] == 0]
        assert not unmatched, f"{len(unmatched)} checked-in people lost their matching: {unmatched[:10]}"
        # Each match was announced once, to each of its two people (a match handled twice would be told twice).
        told = Counter(row.payload["match_id"] for row in s.scalars(
            select(EventLog).where(EventLog.event_id == event_id, EventLog.type == "match",
                                   EventLog.room.like("attendee:%"))))
        assert len(told) == len(pairs), "a match was announced without a row, or the reverse"
        assert set(told.values()) == {2}, "a match was announced more (or less) than once to each of its people"
        assert s.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event_id,
                                                               Attendee.checked_in_at.is_not(None))) == len(people)
