"""Test data builders on top of the real services (so tests exercise the same validation as the app)."""
from __future__ import annotations

import itertools
import time
from html.parser import HTMLParser

from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kiosk.attendees.service import create_attendee
from kiosk.cards.service import set_cards
from kiosk.events.service import create_event
from kiosk.db import db
from kiosk.models import CardKind, Match

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


def make_ana_and_ben(session, event, ana_consents: bool = True, ben_consents: bool = True):
    """Two people who complement each other (funding for design, design for funding): a match once both are here.

    `event` needs the tags Funding and Design; the flags say who consented to the live screen.
    """
    ana = make_attendee(session, event, first_name="Ana", last_name="García", consent_screen=ana_consents,
                        offers=[{"text": "I review pitch decks and term sheets", "tags": ["Funding"]}],
                        needs=[{"text": "A designer for our landing page", "tags": ["Design"]}])
    ben = make_attendee(session, event, first_name="Ben", last_name="Okafor", consent_screen=ben_consents,
                        offers=[{"text": "Landing page and brand design", "tags": ["Design"]}],
                        needs=[{"text": "Feedback on our seed round term sheet", "tags": ["Funding"]}])
    return ana, ben


def card_form(kind: str, items) -> dict:
    """Form fields for one card as the pages post them: item i is `<kind>-<i>-text` and `<kind>-<i>-tags`.

    `items` are strings or (text, [tags]) pairs.
    """
    fields = {}
    for i, item in enumerate(items):
        text, tags = (item, []) if isinstance(item, str) else item
        fields[f"{kind}-{i}-text"] = text
        if tags:
            fields[f"{kind}-{i}-tags"] = list(tags)
    return fields


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") not in ("submit", "button"):
                self.fields.append((a["name"], a.get("value") or ""))
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self.fields.append((a["name"], ""))

    def handle_data(self, data):
        if self._textarea is not None:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


def form_values(html: str, containing: str) -> MultiDict:
    """What a browser would submit from the page's form that has a field named `containing`, untouched: its
    inputs, textareas and checked boxes."""
    for chunk in html.split("</form>"):
        start = chunk.rfind("<form")
        if start >= 0 and f'name="{containing}"' in chunk[start:]:
            reader = _FormReader()
            reader.feed(chunk[start:])
            return MultiDict(reader.fields)
    raise AssertionError(f"no form with a field {containing!r} on the page")


def choose_at_kiosk(client, name: str, csrf: str, base: str = "", **post_options):
    """Find `name` with the kiosk's own lookup and choose the first result, as a person at the tablet does (the
    kiosk posts the result's choice token, never an attendee id). Works with Flask's test client and with
    requests.Session (then `base` is the server's URL)."""
    answer = client.get(f"{base}/kiosk/lookup", query_string={"q": name}) if not base else \
        client.get(f"{base}/kiosk/lookup", params={"q": name})
    body = answer.get_json() if hasattr(answer, "get_json") else answer.json()
    assert body["results"], f"the kiosk lookup found nobody for {name!r}"
    return client.post(f"{base}/kiosk/select", data={"choice": body["results"][0]["choice"], "csrf_token": csrf},
                       **post_options)


def kiosk_grant(app, device_id: int, attendee_id: int, proof: bool = False) -> str:
    """The X-Kiosk-Grant a kiosk would hold after choosing this person from its lookup (for tests of what comes
    after the choice: the check-in itself, concurrency, crashes)."""
    from types import SimpleNamespace

    from kiosk.checkin.service import serving_grant
    with app.app_context():
        return serving_grant(SimpleNamespace(id=device_id), SimpleNamespace(id=attendee_id), proof=proof)


def api_grant(base_url: str, slug: str, kiosk_token: str, name: str) -> str:
    """A kiosk's grant to serve `name`, the API way: look the name up, choose the first result."""
    import requests
    headers = {"Authorization": f"Bearer {kiosk_token}"}
    found = requests.get(f"{base_url}/api/events/{slug}/attendees/lookup", params={"q": name}, headers=headers,
                         timeout=30).json()["results"]
    assert found, f"the API lookup found nobody for {name!r}"
    chosen = requests.post(f"{base_url}/api/events/{slug}/attendees/select", json={"choice": found[0]["choice"]},
                           headers=headers, timeout=30)
    assert chosen.status_code == 200, chosen.text
    return chosen.json()["grant"]


def wait_for_matches(app, attendee_id: int, timeout: float = 20) -> list[Match]:
    """The attendee's stored matches, once the matcher has made any (an empty list after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            rows = db.session.scalars(select(Match).where((Match.a_id == attendee_id) | (Match.b_id == attendee_id))).all()
            if rows:
                return rows
        time.sleep(0.05)
    return []
