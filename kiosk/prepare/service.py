"""Pre-event links: a private link per attendee to fill their two cards and consents at home, before the event.

The link's token is recomputed from a random nonce stored on the attendee and the app's secret key
(`tokens.derived_token`), so an organizer can copy or export it again; only its hash is looked up, so a database
alone opens nothing. It stops working once the event is over and when the attendee is erased; a new link
(`issue_link(..., new=True)`) replaces the old one.
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..attendees.service import choose_consents
from ..cards.service import update_cards
from ..errors import DomainError, NotFound
from ..models import Attendee, Event, utcnow
from ..personal import prepare_url
from ..tokens import PERSONAL_TOKEN_LENGTH, derived_token, fingerprint, hash_token, is_well_formed, normalize_token

#: What the token is derived for (the HMAC's label): never the same as another derived token's.
PURPOSE = "prepare"
#: Without an end time, a link works until this long after the event's start.
WITHOUT_END = timedelta(days=1)


class LinkExpired(DomainError):
    """The event is over: its pre-event links stopped working."""

    code = "link_expired"
    status = 410


def link_expires_at(event: Event) -> datetime | None:
    """When an event's pre-event links stop working: its end, else a day after its start; None without dates."""
    if event.ends_at is not None:
        return event.ends_at
    if event.starts_at is not None:
        return event.starts_at + WITHOUT_END
    return None


def issue_link(attendee: Attendee, *, new: bool = False) -> str:
    """The attendee's pre-event token (made now if they have none, or a fresh one replacing it when `new`)."""
    if new or not attendee.prepare_nonce:
        attendee.prepare_nonce = secrets.token_hex(16)
    token = derived_token(PURPOSE, attendee.prepare_nonce, PERSONAL_TOKEN_LENGTH)
    attendee.prepare_token_hash = hash_token(token)
    return token


def link_url(attendee: Attendee, event: Event | None = None) -> str:
    """The attendee's pre-event link, as an organizer copies, exports or mails it (issued if they have none)."""
    return prepare_url(issue_link(attendee), event or attendee.event)


def event_links(session: Session, event: Event) -> list[tuple[Attendee, str]]:
    """Everyone of an event who may still get a link (not erased), with their link, issuing missing ones."""
    people = session.scalars(select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None))
                             .order_by(Attendee.search_name, Attendee.id)).all()
    links = [(person, link_url(person, event)) for person in people]
    session.flush()
    return links


def attendee_from_link(session: Session, raw: str, *, now: datetime | None = None) -> Attendee:
    """The attendee whose pre-event token this is (by hash), or NotFound; LinkExpired once the event is over."""
    token = normalize_token(raw)
    attendee = None
    if is_well_formed(token, PERSONAL_TOKEN_LENGTH):
        attendee = session.scalar(select(Attendee).where(Attendee.prepare_token_hash == hash_token(token))
                                  .options(selectinload(Attendee.cards)))
    if attendee is None or attendee.erased_at is not None:
        raise NotFound(_("This link does not work (any more). Ask the organizers for a new one."),
                       code="bad_prepare_link")
    expires = link_expires_at(attendee.event)
    if expires is not None and (now or utcnow()) >= expires:
        raise LinkExpired(_("This event is over, so this link has expired."))
    return attendee


def open_link_session(browser_session, attendee: Attendee) -> None:
    """Remember in this browser's signed session whose pre-event page it is (the token leaves the URL)."""
    browser_session["prepare"] = {"id": attendee.id, "fp": fingerprint(attendee.prepare_token_hash)}
    browser_session.permanent = True


def attendee_of_session(session: Session, browser_session, *, now: datetime | None = None) -> Attendee | None:
    """Whose pre-event page this browser has open, or None (forgotten) when the link was replaced, revoked or
    expired since."""
    held = browser_session.get("prepare") or {}
    attendee = session.get(Attendee, held.get("id")) if isinstance(held.get("id"), int) else None
    expires = link_expires_at(attendee.event) if attendee is not None else None
    if attendee is None or attendee.erased_at is not None or not attendee.prepare_token_hash \
            or fingerprint(attendee.prepare_token_hash) != held.get("fp") \
            or (expires is not None and (now or utcnow()) >= expires):
        browser_session.pop("prepare", None)
        return None
    return attendee


def save_prepared(session: Session, attendee: Attendee, *, offers: list, needs: list, consent_screen: bool,
                  consent_share: list[str]) -> Attendee:
    """The use case "my cards before the event": both cards and the consents they chose (their own choice)."""
    update_cards(session, attendee, offers=offers, needs=needs)
    choose_consents(session, attendee, consent_screen=consent_screen, consent_share=consent_share)
    return attendee
