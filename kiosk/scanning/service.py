"""Badge scanning: read a badge's code, show its public card, make contacts, and show each side what it may see.

A `Contact` from X to Y means X scanned Y's badge (or connected back) and holds Y's card: Y's details as Y chose
to share them when someone scans their badge (`consent_share`), read at the moment of viewing, so a consent change
applies at once and an erasure takes them off every list. Y is told and can connect back with one tap; both
directions make the contact mutual, and a mutual contact also shows each other's cards.

Real-time messages about contacts carry ids only (`{"kind", "contact_id"}`): the page asks for the current view,
so nothing personal sits in the event log to be replayed after a consent change or an erasure.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..matching.submit import submit_after_commit
from ..models import (Attendee, CardKind, Contact, Event, Match, MatchStatus, RevokedBadgeToken, utcnow)
from ..personal import BADGE_PATH
from ..realtime.bus import publish
from ..tokens import (ALPHABET, BADGE_TOKEN_LENGTH, SHORT_CODE_LENGTH, is_well_formed, normalize_token, short_code,
                      tokens_equal)
from ..validation import clean_paragraph

#: The longest private note on a contact.
MAX_NOTE = 2000
#: Longest client nonce accepted with a scan (the offline queue's id, so a resend is idempotent).
MAX_NONCE = 64

# "#42 K7M-Q2P", "42 k7mq2p", "42/K7MQ2P": the badge number, then the short code.
_TYPED = re.compile(r"^\s*#?\s*(\d{1,9})\s*[\s/:·.\-]\s*([A-Za-z0-9\- ]{4,12})\s*$")


@dataclass
class BadgeLookup:
    """What a scanned or typed badge code turned out to be.

    `state` is "ok" (a current badge), "replaced" (reprinted since: `attendee` is whose it was), "unknown" (well
    formed, but no badge of ours) or "garbled" (not a badge code at all)."""

    state: str
    attendee: Attendee | None = None


def token_from_scan(raw: str) -> str:
    """The badge token in what a camera read or a person typed: a `/b/<token>` URL (any host) or the bare token."""
    text = (raw or "").strip()
    if "://" in text or text.startswith("/"):
        path = urlsplit(text).path if "://" in text else text.split("?")[0]
        if BADGE_PATH in path:
            text = path.rsplit(BADGE_PATH, 1)[1].strip("/")
        else:
            return ""
    return normalize_token(text)


def resolve_badge(session: Session, raw: str) -> BadgeLookup:
    """Find whose badge this is, from a scanned URL, a bare token, or a typed "#42 K7M-Q2P"."""
    if not isinstance(raw, str) or len(raw) > 500:
        return BadgeLookup("garbled")
    typed = _TYPED.match(raw)
    if typed:
        return _resolve_typed(session, int(typed.group(1)), normalize_token(typed.group(2)))
    token = token_from_scan(raw)
    if not is_well_formed(token, BADGE_TOKEN_LENGTH):
        return BadgeLookup("garbled")
    attendee = session.scalar(select(Attendee).where(Attendee.badge_token == token))
    if attendee is not None and attendee.erased_at is None:
        return BadgeLookup("ok", attendee)
    revoked = session.get(RevokedBadgeToken, token)
    if revoked is not None:
        owner = session.get(Attendee, revoked.attendee_id)
        if owner is not None and owner.erased_at is None:
            return BadgeLookup("replaced", owner)
    return BadgeLookup("unknown")


def _resolve_typed(session: Session, number: int, code: str) -> BadgeLookup:
    if len(code) != SHORT_CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return BadgeLookup("garbled")
    attendee = session.get(Attendee, number)
    if attendee is None or attendee.erased_at is not None:
        return BadgeLookup("unknown")
    if tokens_equal(short_code(attendee.badge_token).replace("-", ""), code):
        return BadgeLookup("ok", attendee)
    for old in session.scalars(select(RevokedBadgeToken.token).where(RevokedBadgeToken.attendee_id == number)):
        if tokens_equal(old[:SHORT_CODE_LENGTH], code):
            return BadgeLookup("replaced", attendee)
    return BadgeLookup("unknown")


def badge_or_error(session: Session, raw: str, event: Event) -> Attendee:
    """The current badge's owner in `event`, or the error a scanner should show (replaced, unknown, garbled)."""
    found = resolve_badge(session, raw)
    if found.state == "garbled":
        raise ValidationFailed(_("That is not a Give & Take badge code. Scan the QR code on the badge, or type "
                                 "the number and code printed under it (like #42 K7M-Q2P)."), code="bad_badge_code")
    if found.state == "replaced":
        raise Conflict(_("This badge was replaced by a new one: scan the badge %(name)s wears now.",
                         name=found.attendee.first_name), code="badge_replaced")
    if found.state == "unknown" or found.attendee.event_id != event.id:
        raise NotFound(_("We do not know this badge at this event."), code="unknown_badge")
    return found.attendee


# ------------------------------------------------------------------------------------------------- what is seen

def top_card(attendee: Attendee, kind: CardKind) -> str:
    """The first filled item of a card: what the badge prints as "Ask me about" / "Looking for"."""
    return next((c.text or ", ".join(c.tags or []) for c in attendee.cards_of(kind) if c.text or c.tags), "")


def public_card(attendee: Attendee, shows_company: bool = True) -> dict:
    """What anyone holding the badge may see (it is printed on it): first name, company, "Ask me about"."""
    return {"first_name": attendee.first_name, "company": attendee.company if shows_company else "",
            "offer": top_card(attendee, CardKind.offer), "badge": attendee.id}


def shared_fields(attendee: Attendee) -> dict:
    """The contact details this person agreed to share when someone scans their badge, and nothing else."""
    allowed = set(attendee.consent_share or []) if attendee.erased_at is None else set()
    return {field: value for field in ("email", "phone", "website", "company", "title")
            if field in allowed and (value := getattr(attendee, field))}


def _items(attendee: Attendee, kind: CardKind) -> list[dict]:
    return [{"text": c.text, "tags": list(c.tags or [])} for c in attendee.cards_of(kind) if c.text or c.tags]


def contact_view(mine: Contact | None, theirs: Contact | None, me: Attendee, other: Attendee,
                 reasons: list | None = None) -> dict:
    """One entry of my contact list, as I may see it.

    `mine` is my row (I scanned them or connected back: I hold their card, with my note), `theirs` their row (they
    scanned me). Holding their card shows what they share; only a mutual contact also shows their cards and the
    match reasons; someone who only scanned me shows their public card and a "connect back".
    """
    holds = mine is not None
    mutual = holds and theirs is not None
    view = {"contact_id": (mine or theirs).id, "state": "mutual" if mutual else "mine" if holds else "theirs",
            "other": {"id": other.id, "badge": other.id, "first_name": other.first_name,
                      "last_name": other.last_name if holds else "",
                      **({"shared": shared_fields(other)} if holds else {})},
            "offer": top_card(other, CardKind.offer), "company": other.company,
            "note": mine.note if holds else "", "follow_up": bool(mine.follow_up) if holds else False,
            "created_at": (mine or theirs).created_at.isoformat()}
    if mutual:
        view["offers"] = _items(other, CardKind.offer)
        view["needs"] = _items(other, CardKind.need)
        view["reasons"] = list(reasons or [])
    return view


def pair_rows(session: Session, a_id: int, b_id: int) -> tuple[Contact | None, Contact | None]:
    rows = {(c.from_id, c.to_id): c for c in session.scalars(select(Contact).where(
        or_(and_(Contact.from_id == a_id, Contact.to_id == b_id), and_(Contact.from_id == b_id,
                                                                       Contact.to_id == a_id))))}
    return rows.get((a_id, b_id)), rows.get((b_id, a_id))


def _match_reasons(session: Session, a_id: int, b_id: int) -> list:
    lo, hi = sorted((a_id, b_id))
    match = session.scalar(select(Match).where(Match.a_id == lo, Match.b_id == hi))
    return list(match.reasons or []) if match is not None else []


def view_for(session: Session, me: Attendee, contact_id: int) -> dict:
    """My view of one contact (mine or one that names me), or NotFound: the page asks for it on a live message."""
    row = session.get(Contact, contact_id)
    if row is None or me.id not in (row.from_id, row.to_id) or row.event_id != me.event_id:
        raise NotFound(_("There is no such contact."), code="no_contact")
    other = session.get(Attendee, row.to_id if row.from_id == me.id else row.from_id)
    if other is None or other.erased_at is not None:
        raise NotFound(_("There is no such contact."), code="no_contact")
    mine, theirs = pair_rows(session, me.id, other.id)
    return contact_view(mine, theirs, me, other, _match_reasons(session, me.id, other.id))


def contacts_of(session: Session, me: Attendee) -> list[dict]:
    """My contact list, newest first: people whose card I hold, and people who scanned me (to connect back)."""
    rows = session.scalars(select(Contact).where(Contact.event_id == me.event_id,
                                                 or_(Contact.from_id == me.id, Contact.to_id == me.id))).all()
    mine = {c.to_id: c for c in rows if c.from_id == me.id}
    theirs = {c.from_id: c for c in rows if c.to_id == me.id}
    ids = set(mine) | set(theirs)
    people = {a.id: a for a in session.scalars(select(Attendee).where(Attendee.id.in_(ids), Attendee.erased_at.is_(None))
                                               .options(selectinload(Attendee.cards)))} if ids else {}
    reasons = {}
    if people:
        for m in session.scalars(select(Match).where(Match.event_id == me.event_id, or_(
                Match.a_id == me.id, Match.b_id == me.id))):
            reasons[m.b_id if m.a_id == me.id else m.a_id] = m.reasons
    views = [contact_view(mine.get(i), theirs.get(i), me, person, reasons.get(i)) for i, person in people.items()]
    return sorted(views, key=lambda v: v["created_at"], reverse=True)


# ------------------------------------------------------------------------------------------------------ changes

@dataclass
class ScanResult:
    """What a scan did: the scanner's row, whether it is new (a repeat says so), and whether it is now mutual."""

    contact: Contact
    other: Attendee
    created: bool
    mutual: bool


def _check_nonce(nonce) -> str | None:
    if nonce is None or nonce == "":
        return None
    if not isinstance(nonce, str) or len(nonce) > MAX_NONCE or not nonce.isprintable():
        raise ValidationFailed(_("The scan's nonce must be at most %(n)d printable characters.", n=MAX_NONCE),
                               code="bad_nonce")
    return nonce


def connect(session: Session, me: Attendee, other: Attendee, *, nonce: str | None = None) -> ScanResult:
    """Make the contact from me to `other` (a scan of their badge, or connecting back), once.

    A repeat returns the existing contact with `created` False, except a resend of the same scan (its nonce):
    that gets the first answer again, so an offline queue that sends twice shows one new contact.
    """
    nonce = _check_nonce(nonce)
    if me.erased_at is not None:
        raise Forbidden(_("Open your personal link again."), code="signed_out")
    if other.event_id != me.event_id:
        raise NotFound(_("We do not know this badge at this event."), code="unknown_badge")
    if other.id == me.id:
        raise ValidationFailed(_("That is your own badge."), code="own_badge")
    if other.erased_at is not None:
        raise NotFound(_("We do not know this badge at this event."), code="unknown_badge")
    mine, theirs = pair_rows(session, me.id, other.id)
    if mine is not None:
        return ScanResult(mine, other, created=bool(nonce) and mine.nonce == nonce, mutual=theirs is not None)
    mine = Contact(event_id=me.event_id, from_id=me.id, to_id=other.id, nonce=nonce, mutual=theirs is not None)
    try:
        with session.begin_nested():
            session.add(mine)
    except IntegrityError:  # the same scan raced in from another tab or process: one contact, as a repeat
        mine, theirs = pair_rows(session, me.id, other.id)
        return ScanResult(mine, other, created=False, mutual=theirs is not None)
    if theirs is not None:
        theirs.mutual = True
        theirs.updated_at = utcnow()
    _met_in_person(session, me, other)
    session.flush()
    kind = "mutual" if theirs is not None else "scanned_you"
    publish(session, me.event_id, "contact", f"attendee:{other.id}", {"kind": kind, "contact_id": mine.id})
    publish(session, me.event_id, "contact", f"attendee:{me.id}",
            {"kind": "mutual" if theirs is not None else "added", "contact_id": mine.id})
    # The matcher stops suggesting them to each other, and the screen's counter moves (kiosk.matching.loop).
    submit_after_commit(session, "contact", me.event_id, a=me.id, b=other.id)
    return ScanResult(mine, other, created=True, mutual=theirs is not None)


def _met_in_person(session: Session, me: Attendee, other: Attendee) -> None:
    # Scanning each other's badge means they met: a match between them is "met" (it feeds the report's funnel).
    lo, hi = sorted((me.id, other.id))
    match = session.scalar(select(Match).where(Match.event_id == me.event_id, Match.a_id == lo, Match.b_id == hi))
    if match is not None and match.status in (MatchStatus.suggested, MatchStatus.accepted):
        match.status = MatchStatus.met
        match.updated_at = utcnow()


def scan(session: Session, me: Attendee, raw: str, *, nonce: str | None = None) -> ScanResult:
    """A signed-in attendee scanned (or typed) a badge: connect to its owner."""
    event = session.get(Event, me.event_id)
    return connect(session, me, badge_or_error(session, raw, event), nonce=nonce)


def connect_back(session: Session, me: Attendee, contact_id: int) -> ScanResult:
    """The scanned person taps "connect back" on someone who scanned them: the contact becomes mutual."""
    row = session.get(Contact, contact_id)
    if row is None or me.id not in (row.from_id, row.to_id) or row.event_id != me.event_id:
        raise NotFound(_("There is no such contact."), code="no_contact")
    other = session.get(Attendee, row.from_id if row.to_id == me.id else row.to_id)
    if other is None:
        raise NotFound(_("There is no such contact."), code="no_contact")
    return connect(session, me, other)


def update_contact(session: Session, me: Attendee, contact_id: int, *, note=None, follow_up=None) -> Contact:
    """Change my private note or follow-up flag on a contact I hold."""
    row = session.get(Contact, contact_id)
    if row is None or row.from_id != me.id:
        raise NotFound(_("There is no such contact."), code="no_contact")
    if note is not None:
        row.note = clean_paragraph(note, field="note", max_length=MAX_NOTE)
    if follow_up is not None:
        if not isinstance(follow_up, bool):
            raise ValidationFailed(_("follow_up is true or false."), details={"follow_up": "not a boolean"})
        row.follow_up = follow_up
    row.updated_at = utcnow()
    session.flush()
    return row


def held_contacts(session: Session, me: Attendee) -> list[tuple[Contact, Attendee]]:
    """The contacts whose card I hold (for vCards), oldest first, without erased people."""
    return list(session.execute(
        select(Contact, Attendee).join(Attendee, Attendee.id == Contact.to_id)
        .where(Contact.from_id == me.id, Attendee.erased_at.is_(None)).order_by(Contact.created_at, Contact.id)
        .options(selectinload(Attendee.cards))).tuples())


def announce_consent_change(session: Session, attendee: Attendee) -> None:
    """Tell every phone holding this person's card to refresh it: what they share changed (or they left).

    One query for all holders (an erasure or consent change of someone scanned by hundreds stays one statement)."""
    for contact_id, holder in session.execute(select(Contact.id, Contact.from_id).where(Contact.to_id == attendee.id)):
        publish(session, attendee.event_id, "contact", f"attendee:{holder}",
                {"kind": "changed", "contact_id": contact_id})
