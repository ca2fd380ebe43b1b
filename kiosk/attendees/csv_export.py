"""Attendee and card export as CSV, safe to open in a spreadsheet."""
from __future__ import annotations

import csv
import io
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..models import Attendee, CardKind, Event

COLUMNS = ["ticket_ref", "first_name", "last_name", "email", "phone", "company", "title", "pronouns",
           "ticket_type", "source", "checked_in_at", "consent_screen", "consent_share", "offers", "needs",
           "offer_tags", "need_tags", "group"]

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def safe_cell(value) -> str:
    """The value as text, with a leading apostrophe when a spreadsheet would read it as a formula (OWASP)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def attendee_row(attendee: Attendee, groups: dict[int, str] | None = None) -> list[str]:
    """One export row for an attendee (cards joined with ' | '); `groups` names the event's groups by id."""
    offers = attendee.cards_of(CardKind.offer)
    needs = attendee.cards_of(CardKind.need)
    values = [attendee.ticket_ref, attendee.first_name, attendee.last_name, attendee.email, attendee.phone,
              attendee.company, attendee.title, attendee.pronouns, attendee.ticket_type, attendee.source,
              attendee.checked_in_at.isoformat() if attendee.checked_in_at else "",
              "yes" if attendee.consent_screen else "no", " ".join(attendee.consent_share or []),
              " | ".join(c.text for c in offers), " | ".join(c.text for c in needs),
              " | ".join(", ".join(c.tags or []) for c in offers), " | ".join(", ".join(c.tags or []) for c in needs),
              (groups or {}).get(attendee.group_id, "")]
    return [safe_cell(v) for v in values]


def iter_export_rows(session: Session, event: Event) -> Iterable[list[str]]:
    """The header, then a row per non-erased attendee, ordered by name."""
    yield COLUMNS
    stmt = (select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None))
            .order_by(Attendee.search_name, Attendee.id).options(selectinload(Attendee.cards)))
    groups = {g.id: g.label for g in event.groups}
    for attendee in session.scalars(stmt):
        yield attendee_row(attendee, groups)


def export_csv(session: Session, event: Event) -> bytes:
    """The whole export as UTF-8 with a BOM (so Excel reads accents and CJK right)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows(iter_export_rows(session, event))
    return buffer.getvalue().encode("utf-8-sig")


#: The pre-event links export, for a ticket shop's or mail-merge's import (one link per attendee).
LINK_COLUMNS = ["ticket_ref", "first_name", "last_name", "email", "ticket_type", "prepare_link"]


def links_csv(links: Iterable[tuple[Attendee, str]]) -> bytes:
    """Attendees with their pre-event links (kiosk.prepare.service.event_links) as CSV, UTF-8 with a BOM."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(LINK_COLUMNS)
    for attendee, url in links:
        writer.writerow([safe_cell(v) for v in (attendee.ticket_ref, attendee.first_name, attendee.last_name,
                                                attendee.email, attendee.ticket_type, url)])
    return buffer.getvalue().encode("utf-8-sig")
