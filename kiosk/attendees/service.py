"""Attendee records: create, edit, find, fill their cards, erase on request."""
from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from ..errors import NotFound, ValidationFailed
from ..events.service import find_group
from ..matching.submit import submit_after_commit
from ..scanning.service import announce_consent_change
from ..models import (Attendee, Contact, Event, EventLog, IdempotentResponse, Lead, Match, RevokedBadgeToken,
                      utcnow)
from ..tokens import PERSONAL_TOKEN_LENGTH, hash_token, new_token
from ..validation import clean_email, clean_line, clean_website, fold_for_search

#: Fields a person or organizer may set, with their maximum length.
FIELDS = {"first_name": 100, "last_name": 100, "company": 200, "title": 200, "pronouns": 40,
          "phone": 40, "ticket_ref": 100, "ticket_type": 100}
#: Contact details an attendee may agree to share when someone scans their badge.
SHAREABLE = ("email", "phone", "website", "company", "title")


def apply_fields(attendee: Attendee, fields: dict) -> None:
    """Validate and set the given personal fields on an attendee."""
    for key, max_length in FIELDS.items():
        if key in fields:
            value = clean_line(fields[key], field=key, max_length=max_length, required=(key == "first_name"))
            setattr(attendee, key, value or (None if key in ("ticket_ref", "phone") else ""))
    if "email" in fields:
        attendee.email = clean_email(fields["email"])
    if "website" in fields:
        attendee.website = clean_website(fields["website"])
    if "consent_screen" in fields:
        attendee.consent_screen = bool(fields["consent_screen"])
    if "consent_share" in fields:
        chosen = fields["consent_share"] or []
        unknown = [c for c in chosen if c not in SHAREABLE]
        if unknown:
            raise ValidationFailed(f"Unknown contact field(s): {', '.join(map(str, unknown))}.",
                                   details={"consent_share": f"choose from {', '.join(SHAREABLE)}"})
        attendee.consent_share = [c for c in SHAREABLE if c in chosen]
    attendee.search_name = fold_for_search(attendee.full_name)


def create_attendee(session: Session, event: Event, *, source: str = "admin", **fields) -> Attendee:
    """Add a person to an event (pre-registration, walk-in or admin), with fresh tokens."""
    attendee = Attendee(source=source, consent_share=[], first_name="", last_name="")
    apply_fields(attendee, {"first_name": "", **fields})  # validate before the row joins the session
    attendee.event = event
    session.add(attendee)
    session.flush()
    return attendee


def update_attendee(session: Session, attendee: Attendee, **fields) -> Attendee:
    """Change an attendee's details."""
    if attendee.erased_at is not None:
        raise ValidationFailed("This attendee's data was erased; it cannot be edited.")
    apply_fields(attendee, fields)
    session.flush()
    if {"consent_share", "first_name", "last_name", *SHAREABLE} & set(fields):
        announce_consent_change(session, attendee)  # phones holding their card show the change at once
    return attendee


def set_group(session: Session, event: Event, attendee: Attendee, label: str) -> None:
    """Put an attendee in one of the event's groups by its label (empty: in no group); ValidationFailed for a
    group the event does not have. If they are here, the matcher looks at them again under the event's rule."""
    group = find_group(event, label)
    wanted = group.id if group is not None else None
    if attendee.group_id == wanted:
        return
    attendee.group_id = wanted
    session.flush()
    if attendee.checked_in_at is not None and attendee.erased_at is None:
        submit_after_commit(session, "cards", event.id, attendee_id=attendee.id)


def group_label(event: Event, attendee: Attendee) -> str:
    """The label of the attendee's group, or "" when they are in none."""
    return next((g.label for g in event.groups if g.id == attendee.group_id), "")


def choose_consents(session: Session, attendee: Attendee, *, consent_screen: bool,
                    consent_share: list[str]) -> Attendee:
    """The attendee chose what the screen shows and what a scan shares (kiosk, phone, pre-event page): from now
    on the kiosk shows these as their own choice."""
    update_attendee(session, attendee, consent_screen=consent_screen, consent_share=consent_share)
    attendee.consent_chosen_at = utcnow()
    session.flush()
    return attendee


def get_attendee(session: Session, event: Event, attendee_id: int) -> Attendee:
    """The attendee with this id in this event, or NotFound."""
    attendee = session.get(Attendee, attendee_id)
    if attendee is None or attendee.event_id != event.id:
        raise NotFound("There is no such attendee in this event.")
    return attendee


def search_attendees(session: Session, event: Event, query: str = "", *, limit: int = 50, offset: int = 0,
                     include_erased: bool = False, arrived: bool | None = None) -> tuple[list[Attendee], int]:
    """Attendees whose name, email, company or ticket matches `query` (prefix on names), and the total count;
    `arrived` True or False: only those checked in, or only those who have not arrived yet."""
    stmt = select(Attendee).where(Attendee.event_id == event.id)
    if not include_erased:
        stmt = stmt.where(Attendee.erased_at.is_(None))
    if arrived is not None:
        stmt = stmt.where(Attendee.checked_in_at.is_not(None) if arrived else Attendee.checked_in_at.is_(None))
    folded = fold_for_search(query)
    if folded:
        like = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            Attendee.search_name.like(f"{like}%", escape="\\")
            | Attendee.search_name.like(f"% {like}%", escape="\\")
            | func.lower(Attendee.email).like(f"{like}%", escape="\\")
            | func.lower(Attendee.company).like(f"%{like}%", escape="\\")
            | (Attendee.ticket_ref == query.strip()))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(Attendee.search_name, Attendee.id).limit(limit).offset(offset)
                           .options(selectinload(Attendee.cards))).all()
    return list(rows), total or 0


def new_personal_token() -> tuple[str, str]:
    """A fresh private token for the phone page and the hash that is stored (the token itself never is)."""
    token = new_token(PERSONAL_TOKEN_LENGTH)
    return token, hash_token(token)


def issue_personal_token(attendee: Attendee) -> str:
    """Give the attendee a fresh private token for the phone page; show it now or never."""
    token, attendee.personal_token_hash = new_personal_token()
    return token


def rotate_badge_token(session: Session, attendee: Attendee) -> str:
    """Give the attendee a new badge token (reprint); the old one is revoked and says "badge replaced"."""
    session.add(RevokedBadgeToken(token=attendee.badge_token, attendee_id=attendee.id))
    attendee.badge_token = new_token()
    session.flush()
    return attendee.badge_token


#: Keys under which a real-time message names an attendee (a side of a match, the subject, a screen entry).
_NAMING_KEYS = ("attendee_id", "id", "badge")


def _names(item, attendee_id: int) -> bool:
    return isinstance(item, dict) and any(item.get(k) == attendee_id for k in _NAMING_KEYS)


def _mentions(payload, attendee_id: int) -> bool:
    """True if a real-time message names this attendee anywhere in it."""
    if _names(payload, attendee_id):
        return True
    if isinstance(payload, dict):
        return any(_mentions(v, attendee_id) for v in payload.values() if isinstance(v, (dict, list)))
    if isinstance(payload, list):
        return any(_mentions(v, attendee_id) for v in payload)
    return False


def _about(item, attendee_id: int) -> bool:
    """A list entry that is this attendee (a group's person, a partner) or a match with them (its `other`)."""
    return _names(item, attendee_id) or (isinstance(item, dict) and _names(item.get("other"), attendee_id))


def _without(payload, attendee_id: int):
    """The payload without the list entries about this attendee (a round group's people, a phone's matches)."""
    if isinstance(payload, dict):
        return {k: _without(v, attendee_id) for k, v in payload.items()}
    if isinstance(payload, list):
        return [_without(v, attendee_id) for v in payload if not _about(v, attendee_id)]
    return payload


def _scrub_event_log(session: Session, attendee: Attendee) -> None:
    # Logged messages quote names and cards, and clients replay them, so they go with the person: their own
    # room's messages and any message about them (a match, a check-in) are deleted (a gap in seq is fine for
    # clients); a round's screen and staff messages keep the other groups and lose only the erased person.
    rows = session.scalars(select(EventLog).where(EventLog.event_id == attendee.event_id))
    for row in rows:
        if row.room == f"attendee:{attendee.id}" or (row.type != "round" and _mentions(row.payload, attendee.id)):
            session.delete(row)
        elif _mentions(row.payload, attendee.id):
            row.payload = _without(row.payload, attendee.id)


def _scrub_idempotent_answers(session: Session, attendee: Attendee) -> None:
    # A stored API answer (a check-in, a walk-in) names them: it goes too; a retry then simply runs again.
    for row in session.scalars(select(IdempotentResponse)):
        if _mentions(row.body, attendee.id):
            session.delete(row)


def erase_attendee(session: Session, attendee: Attendee) -> None:
    """Remove an attendee's personal data on request, keeping the row for aggregate counts.

    Name, contact details, cards, notes about them, match reasons quoting them, sponsors' leads on them (a booth's
    rating and notes about a person are personal data too), their tokens and ticket secret go;
    check-in time, ticket type and the existence of matches and contacts stay, so attendance and networking figures
    still add up.
    """
    attendee.first_name = "Erased"
    attendee.last_name = ""
    attendee.search_name = ""
    attendee.email = None
    attendee.phone = None
    attendee.website = None
    attendee.company = ""
    attendee.title = ""
    attendee.pronouns = ""
    attendee.ticket_ref = None
    attendee.ticket_secret = None
    attendee.consent_screen = False
    attendee.consent_share = []
    attendee.consent_chosen_at = None
    attendee.personal_token_hash = None
    attendee.prepare_nonce = None  # the pre-event link stops working
    attendee.prepare_token_hash = None
    attendee.cards[:] = []
    # Their badges stop working and are forgotten: scanning one finds nobody (not even "replaced").
    session.execute(delete(RevokedBadgeToken).where(RevokedBadgeToken.attendee_id == attendee.id))
    attendee.badge_token = new_token()
    for contact in session.scalars(select(Contact).where((Contact.from_id == attendee.id)
                                                         | (Contact.to_id == attendee.id))):
        contact.note = ""  # the rows stay (the report's counts); every list, page and vCard skips erased people
    # Phones holding their card drop it now (the message names a contact id, nothing personal).
    announce_consent_change(session, attendee)
    session.execute(delete(Lead).where(Lead.attendee_id == attendee.id))  # a sponsor's notes about them
    for match in session.scalars(select(Match).where((Match.a_id == attendee.id) | (Match.b_id == attendee.id))):
        match.reasons = []  # they quote the erased person's cards
        match.starter = ""
    _scrub_event_log(session, attendee)
    _scrub_idempotent_answers(session, attendee)
    attendee.erased_at = utcnow()
    session.flush()
    # The matcher forgets them once this commits: their cards appear in no later match.
    submit_after_commit(session, "leave", attendee.event_id, attendee_id=attendee.id)
