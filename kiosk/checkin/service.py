"""Check-in: find yourself, register as a walk-in, and the one atomic check-in that starts your matching."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..attendees.service import create_attendee, new_personal_token
from ..errors import Conflict, NotFound, ValidationFailed
from ..matching import submit_after_commit
from ..models import Attendee, Device, Event, RevokedBadgeToken, utcnow
from ..realtime import publish
from ..tokens import normalize_token
from ..validation import fold_for_search

MIN_LOOKUP_CHARS = 2
MAX_LOOKUP_RESULTS = 8


class CheckInConflict(Conflict):
    """The attendee was checked in already (by this or another kiosk)."""

    code = "already_checked_in"


@dataclass
class CheckInResult:
    """What a check-in did: `checked_in` is True only for the call that made it; the token is shown once."""

    attendee: Attendee
    checked_in: bool
    checked_in_at: datetime
    personal_token: str | None = None

    def to_dict(self) -> dict:
        body = {"attendee_id": self.attendee.id, "checked_in": self.checked_in, "already": not self.checked_in,
                "checked_in_at": self.checked_in_at.isoformat()}
        if self.personal_token:
            body["personal_token"] = self.personal_token
        return body


def lookup_by_name(session: Session, event: Event, query: str) -> list[Attendee]:
    """People whose first or last name starts with `query` (accent- and case-insensitive), a few at most."""
    folded = fold_for_search(query)
    if len(folded) < MIN_LOOKUP_CHARS:
        raise ValidationFailed(_("Type at least %(n)d letters of your name.", n=MIN_LOOKUP_CHARS),
                               details={"q": f"at least {MIN_LOOKUP_CHARS} characters"})
    like = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None),
                                   or_(Attendee.search_name.like(f"{like}%", escape="\\"),
                                       Attendee.search_name.like(f"% {like}%", escape="\\")))
            .order_by(Attendee.search_name, Attendee.id).limit(MAX_LOOKUP_RESULTS))
    return list(session.scalars(stmt))


def public_choice(attendee: Attendee) -> dict:
    """Just enough to choose yourself from a list: first name, last initial, company (no email, no ticket)."""
    return {"id": attendee.id, "first_name": attendee.first_name,
            "last_initial": (attendee.last_name[:1] + ".") if attendee.last_name else "",
            "company": attendee.company, "checked_in": attendee.checked_in_at is not None}


_BADGE_URL = re.compile(r"/b/([A-Za-z0-9]+)/?$")


def lookup_by_ticket(session: Session, event: Event, code: str) -> Attendee:
    """The attendee a scanned code belongs to: a ticket reference, an Eventbrite barcode, or one of our badges."""
    raw = (code or "").strip()
    if not raw or len(raw) > 512:
        raise ValidationFailed(_("That code is empty or too long to be a ticket."), details={"code": "invalid"})
    base = select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None))
    found = session.scalar(base.where(Attendee.ticket_ref == raw))
    if found is None and raw.isdigit() and len(raw) > 3:
        # Eventbrite prints the attendee number followed by a three-digit sequence in its barcodes.
        found = session.scalar(base.where(Attendee.ticket_ref == raw[:-3]))
    if found is None:
        badge = _BADGE_URL.search(raw)
        token = normalize_token(badge.group(1) if badge else raw)
        found = session.scalar(base.where(Attendee.badge_token == token))
        if found is None and session.scalar(select(RevokedBadgeToken.token).where(RevokedBadgeToken.token == token)):
            raise NotFound(_("This badge was replaced by a newer one; use the newest badge or type your name."),
                           code="badge_replaced")
    if found is None:
        raise NotFound(_("We could not find that ticket. Type your name instead, or ask at the desk."),
                       code="ticket_not_found")
    return found


def register_walkin(session: Session, event: Event, **fields) -> Attendee:
    """A person without a ticket registers at the kiosk."""
    allowed = {k: v for k, v in fields.items() if k in ("first_name", "last_name", "email", "company", "title",
                                                         "pronouns", "phone")}
    return create_attendee(session, event, source="walkin", **allowed)


def check_in(session: Session, event: Event, attendee: Attendee, device: Device | None = None) -> CheckInResult:
    """Check an attendee in with one compare-and-set: exactly one caller wins; the others learn it was done.

    The winner gets a fresh personal token (shown once, as the QR that opens the phone page), the staff dashboard
    hears of it, and the matcher is asked for suggestions once the transaction commits.
    """
    if attendee.event_id != event.id:
        raise NotFound("There is no such attendee in this event.")
    if attendee.erased_at is not None:
        raise NotFound("This attendee's data was erased.")
    now, device_id = utcnow(), device.id if device else None
    token, token_hash = new_personal_token()
    # The compare-and-set also sets the phone token: one statement for the winner, nothing written for the others.
    won = session.execute(
        update(Attendee).where(Attendee.id == attendee.id, Attendee.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by=device_id, personal_token_hash=token_hash)
        .returning(Attendee.id, Attendee.updated_at).execution_options(synchronize_session=False)).first()
    if won is None:
        session.refresh(attendee, ["checked_in_at", "checked_in_by"])
        return CheckInResult(attendee=attendee, checked_in=False, checked_in_at=attendee.checked_in_at)
    for key, value in (("checked_in_at", now), ("checked_in_by", device_id),
                       ("personal_token_hash", token_hash), ("updated_at", won.updated_at)):
        set_committed_value(attendee, key, value)  # what the row now holds; nothing left for the ORM to flush
    publish(session, event.id, "checkin", "staff",
            {"attendee_id": attendee.id, "first_name": attendee.first_name, "company": attendee.company,
             "ticket_type": attendee.ticket_type, "device": device.name if device else None,
             "at": now.isoformat(), "present": present_count(session, event)})
    submit_after_commit(session, "checkin", event.id, attendee_id=attendee.id)
    return CheckInResult(attendee=attendee, checked_in=True, checked_in_at=now, personal_token=token)


def present_count(session: Session, event: Event) -> int:
    """How many people are checked in."""
    return session.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event.id,
                                                                Attendee.checked_in_at.is_not(None))) or 0


def cards_changed(session: Session, attendee: Attendee) -> None:
    """Tell the matcher an attendee who is here changed their cards (after commit)."""
    if attendee.checked_in_at is not None:
        submit_after_commit(session, "cards", attendee.event_id, attendee_id=attendee.id)


def load_attendee(session: Session, event: Event, attendee_id: int, with_cards: bool = True) -> Attendee:
    """An attendee of this event (with their cards unless told otherwise), or NotFound."""
    stmt = select(Attendee).where(Attendee.id == attendee_id, Attendee.event_id == event.id,
                                  Attendee.erased_at.is_(None))
    attendee = session.scalar(stmt.options(selectinload(Attendee.cards)) if with_cards else stmt)
    if attendee is None:
        raise NotFound("There is no such attendee in this event.")
    return attendee
