"""Test data builders on top of the real services (so tests exercise the same validation as the app)."""
from __future__ import annotations

import itertools

from kiosk.attendees.service import create_attendee, set_cards
from kiosk.events.service import create_event
from kiosk.models import CardKind

_counter = itertools.count(1)


def make_event(session, **fields):
    """An event with a few tags."""
    n = next(_counter)
    fields.setdefault("name", f"Test Conference {n}")
    fields.setdefault("slug", f"test-conf-{n}")
    fields.setdefault("tags", ["Software", "Funding", "Design"])
    return create_event(session, **fields)


def make_attendee(session, event, offers=(), needs=(), **fields):
    """An attendee with optional offer and need cards."""
    n = next(_counter)
    fields.setdefault("first_name", f"Person{n}")
    fields.setdefault("last_name", "Tester")
    fields.setdefault("email", f"person{n}@example.org")
    attendee = create_attendee(session, event, **fields)
    if offers:
        set_cards(session, attendee, CardKind.offer, list(offers))
    if needs:
        set_cards(session, attendee, CardKind.need, list(needs))
    return attendee
