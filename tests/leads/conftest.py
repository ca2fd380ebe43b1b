"""Fixtures for leads: an event with people who share different things, two sponsors, each with a paired scanner."""
from __future__ import annotations

import pytest

from kiosk.db import db
from kiosk.devices.service import pair
from kiosk.leads.service import add_scanner, create_sponsor
from kiosk.models import Event
from kiosk.scanning.service import short_code
from tests.factories import make_attendee, make_event


def make_booth(app, slug: str = "expo-conf") -> dict:
    """An event, three attendees, sponsors Acme (with questions) and Globex, a paired scanner each."""
    with app.app_context():
        s = db.session
        event = make_event(s, slug=slug)
        ana = make_attendee(s, event, first_name="Ana", last_name="García", email="ana@example.org",
                            phone="+34 600 000 000", company="Brightloop", title="CTO",
                            website="https://ana.example.org", consent_share=["email", "company"])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", email="ben@example.org",
                            company="Fjord Design", consent_share=[])
        hina = make_attendee(s, event, first_name="陽菜", last_name="鈴木", email="hina@example.jp",
                             company="京都大学", consent_share=["email", "phone", "website", "company", "title"])
        acme = create_sponsor(s, event, "Acme Cloud", ["Budget this year?", "Timeline?"])
        globex = create_sponsor(s, event, "Globex", [])
        tokens = {}
        for sponsor in (acme, globex):
            device = add_scanner(s, event, sponsor)
            tokens[sponsor.name] = pair(s, device.pairing_code)[1]
        s.commit()
        people = {p.first_name: p for p in (ana, ben, hina)}
        return {"event_id": event.id, "slug": event.slug, "acme": acme.id, "globex": globex.id,
                "acme_token": tokens["Acme Cloud"], "globex_token": tokens["Globex"],
                **{name: p.id for name, p in people.items()},
                "codes": {name: f"#{p.id} {short_code(p.badge_token)}" for name, p in people.items()},
                "urls": {name: f"https://give.example.org/b/{p.badge_token}" for name, p in people.items()}}


@pytest.fixture
def booth(app):
    return make_booth(app)


class Scanner:
    """An API client with a scanner's bearer token."""

    def __init__(self, client, token: str, slug: str):
        self.client, self.headers, self.base = client, {"Authorization": f"Bearer {token}"}, f"/api/events/{slug}"

    def get(self, path: str, **kw):
        return self.client.get(self.base + path, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def send(self, method: str, path: str, json=None, **kw):
        return self.client.open(self.base + path, method=method, json=json,
                                headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def capture(self, code: str, **body):
        return self.send("POST", "/leads", {"code": code, **body})


@pytest.fixture
def acme(client, booth):
    return Scanner(client, booth["acme_token"], booth["slug"])


@pytest.fixture
def globex(app, booth):
    return Scanner(app.test_client(), booth["globex_token"], booth["slug"])


def event_of(booth) -> Event:
    return db.session.get(Event, booth["event_id"])
