"""The database side of matching: profiles from attendees, cached embeddings, Match rows and their messages."""
from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import or_, select, tuple_
from sqlalchemy.orm import Session, selectinload

import matcher
from matcher.scoring import Reason, display_name, reader_starter, reader_topics, topic
from ..models import Attendee, Card, CardKind, Contact, Event, EventLog, Match, MatchSource, MatchStatus, present
from ..realtime import publish

#: Defaults for Event.match_settings. `floor`: live suggestions must score above it; None is the matcher's
#: calibrated floor (docs/matcher.md, "The floor"). Rounds pair anyone (the group rule and declines aside).
DEFAULT_SETTINGS = {"k": 3, "capacity": 3, "window_s": 900, "exclude_same_company": False, "floor": None,
                    "group_rule": "any"}
#: The message a phone gets when nobody present clears the floor: it will be paired in the next round.
UNMATCHED = "unmatched"


def settings_of(event: Event) -> dict:
    """The event's matcher settings over the defaults."""
    return {**DEFAULT_SETTINGS, **(event.match_settings or {})}


def live_floor(settings: dict, engine: matcher.MatchEngine) -> float:
    """The score a live suggestion must exceed: the event's setting, else the engine's calibrated floor."""
    floor = settings.get("floor")
    return engine.live_floor if floor is None else float(floor)


def profile_of(attendee: Attendee, model_id: str | None) -> matcher.Profile:
    """The matcher's view of an attendee; cached embeddings are used when `model_id` made them."""
    def card(c) -> matcher.Card:
        vector = None
        if c.embedding and model_id and c.embedding_model == model_id:
            vector = np.frombuffer(c.embedding, dtype=np.float32)
        return matcher.Card(text=c.text or "", tags=tuple(c.tags or ()), embedding=vector)

    return matcher.Profile(id=attendee.id, offers=[card(c) for c in attendee.cards_of(CardKind.offer)],
                           needs=[card(c) for c in attendee.cards_of(CardKind.need)],
                           company=attendee.company or None, name=attendee.first_name, group=attendee.group_id)


def needs_embeddings(profile: matcher.Profile) -> bool:
    """True if some card of the profile had no cached vector (so the engine encoded it and it is worth storing)."""
    return any(card.embedding is None for card in (*profile.offers, *profile.needs))


def store_embeddings(session: Session, profiles: list[matcher.Profile], model_id: str | None) -> None:
    """Cache the vectors the engine computed on these attendees' cards (a restart then skips the encoder).

    Runs in its own short transaction after the encoding: a card edited meanwhile (other text at that position)
    keeps no vector rather than a wrong one.
    """
    if not model_id or not profiles:
        return
    by_id = {p.id: p for p in profiles}
    rows = session.scalars(select(Card).where(Card.attendee_id.in_(by_id))
                           .order_by(Card.attendee_id, Card.kind, Card.position))
    for row in rows:
        profile = by_id[row.attendee_id]
        cards = profile.offers if row.kind == CardKind.offer else profile.needs
        if row.position < len(cards):
            card = cards[row.position]
            if card.embedding is not None and card.text == (row.text or "") and row.embedding_model != model_id:
                row.embedding = np.asarray(card.embedding, dtype=np.float32).tobytes()
                row.embedding_model = model_id


def present_attendees(session: Session, event_id: int) -> list[Attendee]:
    """Everyone checked in and not erased, with their cards."""
    return list(session.scalars(
        select(Attendee).where(present(event_id)).options(selectinload(Attendee.cards))))


def known_pairs(session: Session, event_id: int) -> list[tuple[int, int, str]]:
    """Pairs the engine must not suggest again: existing matches and badge-scan contacts, with why.

    Declined and met pairs, and pairs already in a round (a Match with a round), are never in a round either; a
    pair only suggested live ("matched") may be.
    """
    pairs = [(a, b, "declined" if status == MatchStatus.declined else "met" if status == MatchStatus.met else
              "round" if round_id is not None else "matched")
             for a, b, status, round_id in session.execute(
                 select(Match.a_id, Match.b_id, Match.status, Match.round_id).where(Match.event_id == event_id))]
    pairs += [(c.from_id, c.to_id, "met")
              for c in session.scalars(select(Contact).where(Contact.event_id == event_id))]
    return pairs


def recent_live_matches(session: Session, event_id: int, since: datetime) -> list[tuple[matcher.Match, datetime]]:
    """Live suggestions made since `since`, oldest first, with when: they count toward capacity after a rebuild."""
    rows = session.execute(select(Match.a_id, Match.b_id, Match.score, Match.created_at).where(
        Match.event_id == event_id, Match.source == MatchSource.live, Match.created_at >= since)
        .order_by(Match.created_at, Match.id)).all()
    return [(matcher.Match(a=a, b=b, score=score, direction="both", reasons=[], starter=""), created_at)
            for a, b, score, created_at in rows]


def _side(attendee: Attendee) -> dict:
    return {"id": attendee.id, "first_name": attendee.first_name, "badge": attendee.id}


def screen_payload(match: Match, a: Attendee, b: Attendee) -> dict:
    """What the live screen shows: first names, badge numbers, who can help whom with what; no contact details."""
    gives = [{"giver": r["giver"], "taker": r["taker"], "topic": topic(r.get("need", ""), r.get("tags") or [])}
             for r in match.reasons]
    return {"match_id": match.id, "a": _side(a), "b": _side(b), "direction": match.direction,
            "score": round(match.score, 3), "gives": gives}


def _reasons(match: Match) -> list[Reason]:
    return [Reason(giver=r["giver"], taker=r["taker"], offer=r.get("offer", ""), need=r.get("need", ""),
                   tags=list(r.get("tags") or []), score=float(r.get("score", 0.0))) for r in match.reasons or []]


def opener(match: Match, me: Attendee, other: Attendee) -> dict:
    """The reader's starter in parts, for the phone to word in its language: whom to ask about what (`ask`) and
    what they want to hear about from the reader (`tell`); either may be None."""
    ask, tell = reader_topics(_reasons(match), me.id)
    return {"name": display_name(other.first_name, other.id), "ask": ask, "tell": tell}


def attendee_payload(match: Match, me: Attendee, other: Attendee) -> dict:
    """What an attendee's phone shows about a match: the other person, reasons and the starter addressed to them
    (`starter` in English, `opener` in parts; the screen keeps the third-person line)."""
    reasons = _reasons(match)
    names = {me.id: display_name(me.first_name, me.id), other.id: display_name(other.first_name, other.id)}
    return {"match_id": match.id, "other": {"id": other.id, "first_name": other.first_name,
                                            "last_name": other.last_name, "company": other.company,
                                            "title": other.title, "badge": other.id},
            "score": round(match.score, 3), "direction": match.direction, "reasons": match.reasons,
            "starter": reader_starter(reasons, me.id, names) if reasons else "",
            "opener": opener(match, me, other) if reasons else None,
            "status": match.status.value, "source": match.source.value}


def announce_unmatched(session: Session, event_id: int, attendee_id: int) -> None:
    """Tell a phone that nobody present clears the floor for them: they will be paired in the next round."""
    publish(session, event_id, UNMATCHED, f"attendee:{attendee_id}", {"attendee_id": attendee_id,
                                                                        "next_round": True})


def waiting_for_round(session: Session, attendee: Attendee) -> bool:
    """Whether the attendee has no match and was told nobody clears the floor (their page says so on load)."""
    has_match = session.scalar(select(Match.id).where(
        Match.event_id == attendee.event_id, or_(Match.a_id == attendee.id, Match.b_id == attendee.id)).limit(1))
    if has_match is not None:
        return False
    return session.scalar(select(EventLog.id).where(
        EventLog.event_id == attendee.event_id, EventLog.room == f"attendee:{attendee.id}",
        EventLog.type == UNMATCHED).limit(1)) is not None


def save_matches(session: Session, event_id: int, found: list[matcher.Match], people: dict[int, Attendee], *,
                 source: MatchSource = MatchSource.live, round_id: int | None = None) -> list[Match]:
    """Store suggestions and publish each to both phones, the staff dashboard and (with consent) the screen.

    Pairs that already have a match are skipped (the single writer makes this rare, a restart possible). One
    query finds them and one flush inserts the rest: a burst of check-ins costs a statement per batch, not per
    match. The screen's message is published first, so the projector hears of a match before anyone else.
    """
    wanted = {(m.a, m.b): m for m in found}
    if not wanted:
        return []
    existing = set(session.execute(select(Match.a_id, Match.b_id).where(
        Match.event_id == event_id, tuple_(Match.a_id, Match.b_id).in_(list(wanted)))).all())
    rows = [Match(event_id=event_id, a_id=m.a, b_id=m.b, score=float(m.score), direction=m.direction,
                  reasons=[r.to_dict() for r in m.reasons], starter=m.starter, source=source, round_id=round_id,
                  status=MatchStatus.suggested)
            for pair, m in wanted.items() if pair not in existing]
    session.add_all(rows)
    session.flush()
    for row in rows:
        a, b = people[row.a_id], people[row.b_id]
        screen = screen_payload(row, a, b)
        if a.consent_screen and b.consent_screen:
            publish(session, event_id, "match", "screen", screen)
        publish(session, event_id, "match", "staff", screen)
        publish(session, event_id, "match", f"attendee:{a.id}", attendee_payload(row, a, b))
        publish(session, event_id, "match", f"attendee:{b.id}", attendee_payload(row, b, a))
    return rows


def matches_for(session: Session, attendee: Attendee) -> list[tuple[Match, Attendee]]:
    """An attendee's matches with the other person, newest first."""
    rows = session.scalars(select(Match).where(Match.event_id == attendee.event_id,
                                               or_(Match.a_id == attendee.id, Match.b_id == attendee.id))
                           .order_by(Match.created_at.desc(), Match.id.desc())).all()
    others = {a.id: a for a in session.scalars(select(Attendee).where(
        Attendee.id.in_([m.b_id if m.a_id == attendee.id else m.a_id for m in rows])))}
    return [(m, others[m.b_id if m.a_id == attendee.id else m.a_id]) for m in rows]
