"""What an event keeps after it is over: its contacts and leads go `retention_days` after it ended.

An event "ended" at `ends_at`, else at `starts_at`, else when it was created (an event without dates). Only what
scanning made goes: contacts, sponsors' leads and the real-time messages about contacts; attendees, matches and
counts stay for the organizer's report.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import Contact, Event, EventLog, Lead


def expires_at(event: Event) -> datetime:
    """When an event's contacts and leads are due for deletion."""
    return (event.ends_at or event.starts_at or event.created_at) + timedelta(days=event.retention_days or 0)


def expired_events(session: Session, now: datetime, slug: str | None = None) -> list[Event]:
    """The events (or the one named) whose retention period is over at `now`, by slug."""
    stmt = select(Event).order_by(Event.slug)
    if slug is not None:
        stmt = stmt.where(Event.slug == slug)
    return [event for event in session.scalars(stmt) if expires_at(event) <= now]


def _count(session: Session, model, event_id: int) -> int:
    return session.scalar(select(func.count(model.id)).where(model.event_id == event_id)) or 0


def purge_expired(session: Session, now: datetime, *, slug: str | None = None,
                  dry_run: bool = False) -> dict[str, tuple[int, int]]:
    """Delete the contacts, leads and contact messages of every event past its retention period.

    Returns {event slug: (contacts, leads)} of what was (or, with `dry_run`, would be) deleted; the caller commits.
    """
    done: dict[str, tuple[int, int]] = {}
    for event in expired_events(session, now, slug):
        done[event.slug] = (_count(session, Contact, event.id), _count(session, Lead, event.id))
        if not dry_run:
            session.execute(delete(Contact).where(Contact.event_id == event.id))
            session.execute(delete(Lead).where(Lead.event_id == event.id))
            session.execute(delete(EventLog).where(EventLog.event_id == event.id, EventLog.type == "contact"))
    session.flush()
    return done
