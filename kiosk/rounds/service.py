"""Rounds: the organizer asks (admin button or `givetake round`), the matcher loop pairs and announces.

`request_round` runs in the web process or CLI and only queues the work; `plan_round` (read-only, pairs) then
`store_round` (a short write) run inside the single-writer matcher loop, which owns the engine and so the memory of
who already met (no repeats across rounds).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from operator import call
from typing import Callable

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from matcher import RoundResult
from ..attendees.serialize import for_partner, for_screen
from ..errors import ValidationFailed
from ..matching import service as matching
from ..matching.submit import submit_after_commit
from ..models import Attendee, Event, Match, MatchSource, MatchStatus, Round, present, present_count, utcnow
from ..realtime import publish

#: A round needs at least this many people present.
MIN_PEOPLE = 2
#: While a round is stored the loop lets other greenlets run at least this often (it holds the event loop on
#: gevent: the matcher loop is a patched thread).
YIELD_EVERY_S = 0.01


def meeting_point(event: Event, index: int) -> str:
    """The organizer's named spots in order, then numbered tables after them."""
    points = [p for p in (event.meeting_points or []) if isinstance(p, str) and p.strip()]
    if index < len(points):
        return points[index].strip()
    return f"Table {index + 1}"


def request_round(session: Session, event: Event) -> None:
    """Ask the matcher for a new round once the caller commits; ValidationFailed when too few people are here."""
    if present_count(session, event.id) < MIN_PEOPLE:
        raise ValidationFailed(f"A round needs at least {MIN_PEOPLE} people checked in.", code="too_few_people")
    submit_after_commit(session, "round", event.id, requested_at=utcnow().isoformat())


def current_round(session: Session, event_id: int) -> Round | None:
    """The newest round if it has not ended yet."""
    row = session.scalar(select(Round).where(Round.event_id == event_id).order_by(Round.number.desc()).limit(1))
    if row is None or (row.ends_at is not None and row.ends_at <= utcnow()):
        return None
    return row


def latest_round(session: Session, event_id: int) -> Round | None:
    """The newest round, ended or not."""
    return session.scalar(select(Round).where(Round.event_id == event_id).order_by(Round.number.desc()).limit(1))


@dataclass
class RoundPlan:
    """Who meets whom in the next round, worked out from a read-only look at the database."""

    number: int
    result: RoundResult


def plan_round(session: Session, event_id: int, engine, run: Callable = call) -> RoundPlan | None:
    """Pair everyone present (None when fewer than MIN_PEOPLE are); reads only, so it holds no write lock.

    Called by the matcher loop with the event's engine; pairs already in the database (earlier rounds, declines,
    meetings and scans, from any process) are excluded first, so nobody meets the same person twice. A pair only
    suggested live may meet now: a round is a good time for it. `run` calls
    `engine.pair_round` (the loop passes kiosk.concurrency.off_the_loop: a second of numpy at 2,000 people).
    """
    present_ids = [pid for pid in session.scalars(select(Attendee.id).where(present(event_id))
                                                  .order_by(Attendee.id)) if pid in engine]
    if len(present_ids) < MIN_PEOPLE:
        return None
    for a, b, reason in matching.known_pairs(session, event_id):
        if a in engine and b in engine:  # (the engine keeps the stronger reason: a decline stays a decline)
            engine.exclude(min(a, b), max(a, b), reason=reason)
    number = (session.scalar(select(func.max(Round.number)).where(Round.event_id == event_id)) or 0) + 1
    return RoundPlan(number=number, result=run(engine.pair_round, seed=number, present=present_ids))


def store_round(session: Session, event_id: int, engine, plan: RoundPlan) -> Round:
    """Store the planned Round and its Match rows, and announce it to screen, staff and phones.

    Someone who left or was erased while the pairs were worked out is in no group: their group is dropped and
    its others are listed as unpaired (a pair is never announced with a person who is gone). Everyone unpaired
    is told on their phone why and what to do meanwhile (a `round` message with `left_out`).
    """
    event = session.get(Event, event_id)
    number, result = plan.number, plan.result
    ids_in_round = [pid for group in result.groups for pid in group] + list(result.unpaired)
    people = {a.id: a for a in session.scalars(select(Attendee).where(
        Attendee.id.in_(ids_in_round), present(event_id)))}
    kept = [g for g in result.groups if all(pid in people for pid in g)]
    why = {pid: result.why_unpaired.get(pid, "already_met") for pid in result.unpaired if pid in people}
    why.update({pid: "partner_left" for g in result.groups if g not in kept for pid in g if pid in people})
    unpaired = list(why)
    starts = utcnow()
    ends = starts + timedelta(minutes=int(event.round_minutes or 10))
    groups = [{"ids": list(g), "meeting_point": meeting_point(event, i)} for i, g in enumerate(kept)]
    row = Round(event_id=event_id, number=number, starts_at=starts, ends_at=ends, pairs=groups,
                meeting_points=[g["meeting_point"] for g in groups])
    session.add(row)
    session.flush()
    head = {"round_id": row.id, "number": number, "starts_at": starts.isoformat(), "ends_at": ends.isoformat(),
            "minutes": int(event.round_minutes or 10)}
    stored = _store_matches(session, event_id, engine, [g["ids"] for g in groups], row.id)
    screen_groups = []
    turn = time.monotonic()
    for group in groups:
        ids = group["ids"]
        matches = [stored[(min(a, b), max(a, b))] for i, a in enumerate(ids) for b in ids[i + 1:]]
        if time.monotonic() - turn > YIELD_EVERY_S:  # on gevent: pages and sockets get a turn
            time.sleep(0)
            turn = time.monotonic()
        for pid in ids:
            me = people[pid]
            partners = [people[o] for o in ids if o != pid]
            publish(session, event_id, "round", f"attendee:{pid}", {
                **head, "meeting_point": group["meeting_point"],
                "partners": [for_partner(p) for p in partners],
                "matches": [matching.attendee_payload(m, me, people[m.b_id if m.a_id == pid else m.a_id])
                            for m in matches if pid in (m.a_id, m.b_id)]})
        screen_groups.append({"meeting_point": group["meeting_point"],
                              "people": [for_screen(people[p]) for p in ids]})
    for pid, reason in why.items():
        publish(session, event_id, "round", f"attendee:{pid}", {
            **head, "left_out": True, "why": reason, "meeting_point": None, "partners": [], "matches": []})
    publish(session, event_id, "round", "screen", {**head, "groups": screen_groups})
    publish(session, event_id, "round", "staff", {**head, "groups": screen_groups, "unpaired": unpaired,
                                                   "why_unpaired": {str(pid): r for pid, r in why.items()}})
    return row


def _store_matches(session: Session, event_id: int, engine, groups: list[list[int]],
                   round_id: int) -> dict[tuple[int, int], Match]:
    """A Match row (source=round) for every pair in the pairs and trios that has none yet: {(lo, hi): Match}.

    One query finds the pairs that already have a match and one flush inserts the rest (a query per pair
    flushed the pending messages each time: seconds for 2,000 people, all of it holding the event loop). A pair
    suggested live and now in the round keeps its match, which notes the round: after a restart the matcher
    knows from it that they were paired (no repeat in later rounds).
    """
    pairs = [(min(a, b), max(a, b)) for ids in groups for i, a in enumerate(ids) for b in ids[i + 1:]]
    if not pairs:
        return {}
    found = {(m.a_id, m.b_id): m for m in session.scalars(select(Match).where(
        Match.event_id == event_id, tuple_(Match.a_id, Match.b_id).in_(pairs)))}
    turn = time.monotonic()
    for lo, hi in pairs:
        if (lo, hi) in found:
            if found[(lo, hi)].round_id is None:
                found[(lo, hi)].round_id = round_id
            continue
        explained = engine.explain(lo, hi)
        found[(lo, hi)] = Match(event_id=event_id, a_id=lo, b_id=hi, score=float(explained.score),
                                direction=explained.direction, reasons=[r.to_dict() for r in explained.reasons],
                                starter=explained.starter, source=MatchSource.round, round_id=round_id,
                                status=MatchStatus.suggested)
        session.add(found[(lo, hi)])
        if time.monotonic() - turn > YIELD_EVERY_S:
            time.sleep(0)
            turn = time.monotonic()
    session.flush()
    return found
