"""Fixtures for check-in: an event with people and a paired kiosk browser."""
from __future__ import annotations

import pytest

from kiosk.db import db
from kiosk.devices.service import COOKIE, create_device, pair
from tests.factories import make_attendee, make_event


@pytest.fixture
def event_people(app):
    """An event with tags and three pre-registered people with complementary cards."""
    with app.app_context():
        s = db.session
        event = make_event(s, slug="kiosk-conf", tags=["Funding", "Design", "Software"])
        ana = make_attendee(s, event, first_name="Ana", last_name="García", company="Brightloop",
                            email="ana@example.org", ticket_ref="T-100",
                            offers=[{"text": "I review pitch decks and term sheets", "tags": ["Funding"]}],
                            needs=[{"text": "A designer for our landing page", "tags": ["Design"]}])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", company="Fjord Design",
                            email="ben@example.org", ticket_ref="T-101",
                            offers=[{"text": "Landing page and brand design", "tags": ["Design"]}],
                            needs=[{"text": "Feedback on our seed round term sheet", "tags": ["Funding"]}])
        chloe = make_attendee(s, event, first_name="Chloé", last_name="Lefèvre", company="Datawell",
                              email="chloe@example.org", ticket_ref="T-102",
                              offers=[{"text": "Python code reviews", "tags": ["Software"]}],
                              needs=[{"text": "Someone to sanity-check our data pipeline", "tags": ["Software"]}])
        s.commit()
        return {"event_id": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id, "chloe": chloe.id}


def pair_kiosk(app, client, event_id: int, name: str = "Entrance"):
    """Pair a test client's browser as a kiosk of the event; returns the device token."""
    from kiosk.models import Event
    with app.app_context():
        s = db.session
        device = create_device(s, s.get(Event, event_id), "kiosk", name)
        _, token = pair(s, device.pairing_code)
        s.commit()
    client.set_cookie(COOKIE, token)
    return token


@pytest.fixture
def kiosk_client(app, client, event_people):
    """A test client paired as a kiosk of the event."""
    pair_kiosk(app, client, event_people["event_id"])
    return client
