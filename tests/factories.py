"""Test data builders on top of the real services (so tests exercise the same validation as the app)."""
from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

from kiosk.attendees.service import create_attendee
from kiosk.cards.service import set_cards
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


def form_values(html: str, form_class: str | None = None) -> MultiDict:
    """What a browser would submit from the page's first form (of that class, if given), untouched: inputs,
    textareas, checked boxes."""
    if form_class:
        start = re.search(rf'<form\b[^>]*\bclass="(?:[^"]* )?{re.escape(form_class)}[" ]', html)
        assert start, f"no form of class {form_class} in the page"
        html = html[start.start():]
    reader = _FormReader()
    reader.feed(html.split("</form>", 1)[0])
    return MultiDict(reader.fields)
