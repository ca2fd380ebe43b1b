"""The database side of matching: profiles from attendees, cached embeddings, Match rows and their messages."""
from __future__ import annotations

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

import matcher
from matcher.scoring import topic
from ..models import Attendee, Card, CardKind, Contact, Event, Match, MatchSource, MatchStatus
from ..realtime import publish

#: Defaults for Event.match_settings.
DEFAULT_SETTINGS = {"k": 3, "capacity": 3, "window_s": 900, "exclude_same_company": False}


def settings_of(event: Event) -> dict:
    """The event's matcher settings over the defaults."""
    return {**DEFAULT_SETTINGS, **(event.match_settings or {})}


def profile_of(attendee: Attendee, model_id: str | None) -> matcher.Profile:
    """The matcher's view of an attendee; cached embeddings are used when `model_id` made them."""
    def card(c) -> matcher.Card:
        vector = None
        if c.embedding and model_id and c.embedding_model == model_id:
            vector = np.frombuffer(c.embedding, dtype=np.float32)
        return matcher.Card(text=c.text or "", tags=tuple(c.tags or ()), embedding=vector)

    return matcher.Profile(id=attendee.id, offers=[card(c) for c in attendee.cards_of(CardKind.offer)],
                           needs=[card(c) for c in attendee.cards_of(CardKind.need)],
                           company=attendee.company or None, name=attendee.first_name)


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
        select(Attendee).where(Attendee.event_id == event_id, Attendee.checked_in_at.is_not(None),
                               Attendee.erased_at.is_(None)).options(selectinload(Attendee.cards))))


def known_pairs(session: Session, event_id: int) -> list[tuple[int, int, str]]:
    """Pairs the engine must not suggest again: existing matches (by status) and badge-scan contacts."""
    pairs = [(m.a_id, m.b_id, "declined" if m.status == MatchStatus.declined else
              "met" if m.status == MatchStatus.met else "matched")
             for m in session.scalars(select(Match).where(Match.event_id == event_id))]
    pairs += [(c.from_id, c.to_id, "met")
              for c in session.scalars(select(Contact).where(Contact.event_id == event_id))]
    return pairs


def _side(attendee: Attendee) -> dict:
    return {"id": attendee.id, "first_name": attendee.first_name, "badge": attendee.id}


def screen_payload(match: Match, a: Attendee, b: Attendee) -> dict:
    """What the live screen shows: first names, badge numbers, who can help whom with what; no contact details."""
    gives = [{"giver": r["giver"], "taker": r["taker"], "topic": topic(r.get("need", ""), r.get("tags") or [])}
             for r in match.reasons]
    return {"match_id": match.id, "a": _side(a), "b": _side(b), "direction": match.direction,
            "score": round(match.score, 3), "gives": gives}


def attendee_payload(match: Match, me: Attendee, other: Attendee) -> dict:
    """What an attendee's phone shows about a new match: the other person, reasons and the starter."""
    return {"match_id": match.id, "other": {"id": other.id, "first_name": other.first_name,
                                            "last_name": other.last_name, "company": other.company,
                                            "title": other.title, "badge": other.id},
            "score": round(match.score, 3), "direction": match.direction, "reasons": match.reasons,
            "starter": match.starter, "status": match.status.value, "source": match.source.value}


def save_match(session: Session, event_id: int, found: matcher.Match, people: dict[int, Attendee], *,
               source: MatchSource = MatchSource.live, round_id: int | None = None) -> Match | None:
    """Store one suggestion and publish it to both phones, the staff dashboard and (with consent) the screen.

    Returns None when the pair already has a match (the single writer makes this rare, a restart possible).
    """
    exists = session.scalar(select(Match.id).where(Match.event_id == event_id, Match.a_id == found.a,
                                                   Match.b_id == found.b))
    if exists:
        return None
    row = Match(event_id=event_id, a_id=found.a, b_id=found.b, score=float(found.score),
                direction=found.direction, reasons=[r.to_dict() for r in found.reasons], starter=found.starter,
                source=source, round_id=round_id, status=MatchStatus.suggested)
    session.add(row)
    session.flush()
    a, b = people[found.a], people[found.b]
    publish(session, event_id, "match", f"attendee:{a.id}", attendee_payload(row, a, b))
    publish(session, event_id, "match", f"attendee:{b.id}", attendee_payload(row, b, a))
    screen = screen_payload(row, a, b)
    publish(session, event_id, "match", "staff", screen)
    if a.consent_screen and b.consent_screen:
        publish(session, event_id, "match", "screen", screen)
    return row


def matches_for(session: Session, attendee: Attendee) -> list[tuple[Match, Attendee]]:
    """An attendee's matches with the other person, newest first."""
    rows = session.scalars(select(Match).where(Match.event_id == attendee.event_id,
                                               or_(Match.a_id == attendee.id, Match.b_id == attendee.id))
                           .order_by(Match.created_at.desc(), Match.id.desc())).all()
    others = {a.id: a for a in session.scalars(select(Attendee).where(
        Attendee.id.in_([m.b_id if m.a_id == attendee.id else m.a_id for m in rows])))}
    return [(m, others[m.b_id if m.a_id == attendee.id else m.a_id]) for m in rows]
