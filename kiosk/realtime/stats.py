"""Counters for the screen and the staff dashboard, published as `stats` snapshots at most once a second."""
from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Contact, Match, present_count
from .bus import publish

#: Seconds between two stats messages of one event: 40 check-ins at 8:55 make one update a second, not 40.
MIN_INTERVAL = 1.0


def event_stats(session: Session, event_id: int) -> dict:
    """Present (checked in, not erased), matches made and contacts swapped so far."""
    def count(stmt) -> int:
        return session.scalar(stmt) or 0

    return {
        "checked_in": present_count(session, event_id),
        "matches": count(select(func.count(Match.id)).where(Match.event_id == event_id)),
        "contacts": contacts_swapped(session, event_id),
    }


def contacts_swapped(session: Session, event_id: int) -> int:
    """"Contacts swapped": pairs of people with a badge-scan contact either way (a mutual pair counts once)."""
    rows, mutual = session.execute(select(func.count(Contact.id), func.count(Contact.id).filter(
        Contact.mutual.is_(True))).where(Contact.event_id == event_id)).one()
    return (rows or 0) - (mutual or 0) // 2


def publish_stats(session: Session, event_id: int, **extra) -> dict:
    """Publish a stats snapshot to the screen and the staff dashboard (staff also sees `extra`, e.g. the queue)."""
    stats = event_stats(session, event_id)
    publish(session, event_id, "stats", "screen", stats)
    publish(session, event_id, "stats", "staff", {**stats, **extra})
    return stats


class StatsThrottle:
    """Remembers which events changed and when each last had stats sent; `due()` says which to send now."""

    def __init__(self, interval: float = MIN_INTERVAL, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._dirty: set[int] = set()
        self._sent: dict[int, float] = {}

    def touch(self, event_id: int) -> None:
        """Something counted changed in this event."""
        self._dirty.add(event_id)

    def due(self) -> list[int]:
        """Events whose stats should go out now (and mark them sent)."""
        now = self.clock()
        ready = [e for e in sorted(self._dirty) if now - self._sent.get(e, -1e9) >= self.interval]
        for event_id in ready:
            self._dirty.discard(event_id)
            self._sent[event_id] = now
        return ready

    def pending(self) -> bool:
        """True while some event's stats wait to be sent."""
        return bool(self._dirty)

    def wait_hint(self, default: float) -> float:
        """How long the loop may block before a pending event becomes due."""
        if not self._dirty:
            return default
        now = self.clock()
        waits = [self._sent.get(e, -1e9) + self.interval - now for e in self._dirty]
        return max(0.01, min(default, min(waits)))
