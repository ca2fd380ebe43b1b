"""Sponsors and their leads: a sponsor's scanner reads a badge, and the booth rates the lead and answers questions.

A `Lead` holds the booth's own words (rating, note, answers) and points at the attendee; what the booth sees of
the person is read at view time by the contact rules of `kiosk.scanning.service` (`shared_fields`), so a consent
change applies at once and an erased attendee drops off every list (their leads are deleted with the erasure).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..devices.service import create_device, revoke
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..models import Attendee, Device, DeviceKind, Event, Lead, LeadRating, Sponsor, utcnow
from ..scanning.service import badge_or_error, shared_fields
from ..validation import clean_line, clean_paragraph

MAX_QUESTIONS = 10
MAX_QUESTION = 200
MAX_ANSWER = 500
MAX_NOTE = 2000
#: Longest client nonce accepted with a capture (an offline queue's id, so a resend is idempotent).
MAX_NONCE = 64
#: Ids past this are nobody's (and would overflow a database integer).
MAX_ID = 2**31 - 1
#: `update_lead(rating=...)` default: leave the rating as it is (None clears it).
UNCHANGED = object()


# ----------------------------------------------------------------------------------------------------- sponsors

def parse_questions(raw) -> list[str]:
    """Qualifier questions from text (one per line) or a list: cleaned, de-duplicated, in order."""
    items = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    questions: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValidationFailed(_("Each question is a line of text."), details={"questions": "not text"})
        question = clean_line(item, field="questions", max_length=MAX_QUESTION, label=_("question"))
        if question and question.casefold() not in {q.casefold() for q in questions}:
            questions.append(question)
    if len(questions) > MAX_QUESTIONS:
        raise ValidationFailed(_("At most %(n)d questions, please.", n=MAX_QUESTIONS),
                               details={"questions": f"at most {MAX_QUESTIONS}"})
    return questions


def _apply_sponsor(session: Session, sponsor: Sponsor, name, questions) -> None:
    if name is not None:
        name = clean_line(name, field="name", max_length=200, required=True)
        same = select(Sponsor.id).where(Sponsor.event_id == sponsor.event_id, Sponsor.name == name)
        if sponsor.id is not None:
            same = same.where(Sponsor.id != sponsor.id)
        clash = session.scalar(same)
        if clash is not None:
            raise Conflict(_("There is a sponsor called %(name)s already.", name=name), details={"name": "taken"})
        sponsor.name = name
    if questions is not None:
        sponsor.questions = parse_questions(questions)


def create_sponsor(session: Session, event: Event, name: str, questions=()) -> Sponsor:
    """Add a sponsor or exhibitor to an event, with its qualifier questions."""
    sponsor = Sponsor(event_id=event.id, name="", questions=[])
    _apply_sponsor(session, sponsor, name, questions)
    session.add(sponsor)
    session.flush()
    return sponsor


def update_sponsor(session: Session, sponsor: Sponsor, *, name=None, questions=None) -> Sponsor:
    """Rename a sponsor or change its questions (answers already given stay with their leads)."""
    _apply_sponsor(session, sponsor, name, questions)
    session.flush()
    return sponsor


def scanners_of(session: Session, sponsor: Sponsor) -> list[Device]:
    """The scanner devices collecting this sponsor's leads, oldest first."""
    return list(session.scalars(select(Device).where(Device.event_id == sponsor.event_id,
                                                     Device.sponsor_id == sponsor.id).order_by(Device.id)))


def delete_sponsor(session: Session, sponsor: Sponsor) -> None:
    """Remove a sponsor with its leads; its scanners are unpaired and forget it (devices.sponsor_id has no FK)."""
    for device in scanners_of(session, sponsor):
        revoke(device)
        # SQLite may hand a deleted sponsor's id to the next one: a re-paired old scanner must not collect for it.
        device.sponsor_id = None
    session.delete(sponsor)  # its leads go by ON DELETE CASCADE
    session.flush()


def _is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get_sponsor(session: Session, event: Event, sponsor_id) -> Sponsor:
    """The sponsor with this id in this event, or NotFound."""
    sponsor = session.get(Sponsor, sponsor_id) if _is_id(sponsor_id) else None
    if sponsor is None or sponsor.event_id != event.id:
        raise NotFound(_("There is no such sponsor at this event."), code="no_sponsor")
    return sponsor


def sponsors_of(session: Session, event: Event) -> list[Sponsor]:
    """An event's sponsors by name."""
    return list(session.scalars(select(Sponsor).where(Sponsor.event_id == event.id).order_by(Sponsor.name)))


def lead_counts(session: Session, event: Event) -> dict[int, dict[str, int]]:
    """{sponsor id: {"hot", "warm", "cold", "unrated", "total"}} of an event's leads (erased people not counted)."""
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(select(Lead.sponsor_id, Lead.rating, func.count(Lead.id))
                           .join(Attendee, Attendee.id == Lead.attendee_id)
                           .where(Lead.event_id == event.id, Attendee.erased_at.is_(None))
                           .group_by(Lead.sponsor_id, Lead.rating))
    for sponsor_id, rating, n in rows:
        entry = counts.setdefault(sponsor_id, {"hot": 0, "warm": 0, "cold": 0, "unrated": 0, "total": 0})
        entry[rating.value if rating else "unrated"] += n
        entry["total"] += n
    return counts


def add_scanner(session: Session, event: Event, sponsor: Sponsor, name: str = "") -> Device:
    """A new scanner device for a sponsor's booth, waiting to be paired (its pairing code is on the device)."""
    if sponsor.event_id != event.id:
        raise NotFound(_("There is no such sponsor at this event."), code="no_sponsor")
    count = len(scanners_of(session, sponsor))
    device = create_device(session, event, DeviceKind.scanner,
                           name or f"{sponsor.name[:88]} scanner {count + 1}")
    device.sponsor_id = sponsor.id
    session.flush()
    return device


def scanner_sponsor(session: Session, device: Device | None) -> Sponsor:
    """The sponsor a paired scanner collects leads for, or Forbidden (no device, another kind, no sponsor)."""
    if device is None:
        raise Forbidden(_("This device is not paired. Ask an organizer for a pairing code."), code="not_paired")
    if device.kind != DeviceKind.scanner:
        raise Forbidden(_("Only a sponsor's scanner collects leads; this is a %(kind)s.", kind=device.kind.value),
                        code="wrong_device")
    sponsor = session.get(Sponsor, device.sponsor_id) if device.sponsor_id is not None else None
    if sponsor is None or sponsor.event_id != device.event_id:
        raise Forbidden(_("This scanner belongs to no sponsor. Ask an organizer to add it under Sponsors."),
                        code="no_sponsor")
    return sponsor


# -------------------------------------------------------------------------------------------------------- leads

@dataclass
class LeadCapture:
    """What a capture did: the lead, whose it is, and whether it is new (a repeat says so)."""

    lead: Lead
    attendee: Attendee
    created: bool


def _check_nonce(nonce) -> str | None:
    if nonce is None or nonce == "":
        return None
    if not isinstance(nonce, str) or len(nonce) > MAX_NONCE or not nonce.isprintable():
        raise ValidationFailed(_("The scan's nonce must be at most %(n)d printable characters.", n=MAX_NONCE),
                               code="bad_nonce", details={"nonce": f"at most {MAX_NONCE} printable characters"})
    return nonce


def _lead_of(session: Session, sponsor: Sponsor, attendee: Attendee) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.sponsor_id == sponsor.id, Lead.attendee_id == attendee.id))


def capture_lead(session: Session, device: Device | None, raw_code, nonce=None, *,
                 sponsor: Sponsor | None = None) -> LeadCapture:
    """A sponsor's scanner read (or someone typed) a badge code: one lead per sponsor and attendee.

    A repeat returns the existing lead with `created` False, except a resend of the same scan (its nonce), which
    gets the first answer again. Organizers capture for a `sponsor` without a device.
    """
    if sponsor is None:
        sponsor = scanner_sponsor(session, device)
    nonce = _check_nonce(nonce)
    if not isinstance(raw_code, str) or not raw_code.strip():
        raise ValidationFailed(_("Scan a badge or type the code printed under its QR (like #42 K7M-Q2P)."),
                               code="bad_badge_code", details={"code": "required"})
    attendee = badge_or_error(session, raw_code, session.get(Event, sponsor.event_id))
    existing = _lead_of(session, sponsor, attendee)
    if existing is not None:
        return LeadCapture(existing, attendee, created=bool(nonce) and existing.nonce == nonce)
    lead = Lead(event_id=sponsor.event_id, sponsor_id=sponsor.id, attendee_id=attendee.id,
                device_id=device.id if device is not None else None, note="", answers={}, nonce=nonce)
    try:
        with session.begin_nested():
            session.add(lead)
    except IntegrityError:  # another scanner of the booth read the same badge at the same moment: one lead
        return LeadCapture(_lead_of(session, sponsor, attendee), attendee, created=False)
    return LeadCapture(lead, attendee, created=True)


def get_lead(session: Session, sponsor: Sponsor, lead_id) -> tuple[Lead, Attendee]:
    """One of this sponsor's leads and its attendee, or NotFound (another sponsor's lead is not there)."""
    lead = session.get(Lead, lead_id) if _is_id(lead_id) else None
    attendee = session.get(Attendee, lead.attendee_id) if lead is not None else None
    if lead is None or lead.sponsor_id != sponsor.id or attendee is None or attendee.erased_at is not None:
        raise NotFound(_("There is no such lead."), code="no_lead")
    return lead, attendee


def _rating(value) -> LeadRating | None:
    if value is None or value == "":
        return None
    try:
        return LeadRating(value)
    except (ValueError, TypeError):
        raise ValidationFailed(_("A rating is hot, warm or cold."),
                               details={"rating": "one of hot, warm, cold or null"}) from None


def _answers(sponsor: Sponsor, current: dict, given) -> dict:
    if not isinstance(given, dict):
        raise ValidationFailed(_("Answers are given as {question: answer}."), details={"answers": "not an object"})
    answers = dict(current or {})
    for question, answer in given.items():
        if question not in (sponsor.questions or []):
            raise ValidationFailed(_("“%(q)s” is not one of this sponsor's questions.", q=str(question)[:80]),
                                   details={"answers": f"unknown question: {str(question)[:80]}"})
        if answer is not None and not isinstance(answer, str):
            raise ValidationFailed(_("An answer is text."), details={"answers": f"not text: {question}"})
        text = clean_paragraph(answer, field="answer", max_length=MAX_ANSWER)
        if text:
            answers[question] = text
        else:
            answers.pop(question, None)
    return answers


def update_lead(session: Session, sponsor: Sponsor, lead_id, *, rating=UNCHANGED, note=None,
                answers=None) -> tuple[Lead, Attendee]:
    """Rate a lead (hot, warm, cold; None clears), change its note, or answer some of the sponsor's questions."""
    lead, attendee = get_lead(session, sponsor, lead_id)
    if rating is not UNCHANGED:
        lead.rating = _rating(rating)
    if note is not None:
        if not isinstance(note, str):
            raise ValidationFailed(_("A note is text."), details={"note": "not text"})
        lead.note = clean_paragraph(note, field="note", max_length=MAX_NOTE)
    if answers is not None:
        lead.answers = _answers(sponsor, lead.answers, answers)
    lead.updated_at = utcnow()
    session.flush()
    return lead, attendee


def leads_of(session: Session, sponsor: Sponsor) -> list[tuple[Lead, Attendee]]:
    """A sponsor's leads with their attendees, newest first, without erased people."""
    rows = session.execute(select(Lead, Attendee).join(Attendee, Attendee.id == Lead.attendee_id)
                           .where(Lead.sponsor_id == sponsor.id, Attendee.erased_at.is_(None))
                           .order_by(Lead.created_at.desc(), Lead.id.desc()))
    return [(lead, attendee) for lead, attendee in rows]


def lead_view(lead: Lead, attendee: Attendee) -> dict:
    """A lead as its sponsor sees it: the name, what the person shares on a scan (now), and the booth's notes.

    `badge` is the number printed on the badge (public); it also lets an erasure find stored answers naming them.
    """
    return {"id": lead.id,
            "attendee": {"first_name": attendee.first_name, "last_name": attendee.last_name, "badge": attendee.id},
            "shared": shared_fields(attendee),
            "rating": lead.rating.value if lead.rating else None, "note": lead.note or "",
            "answers": dict(lead.answers or {}), "created_at": lead.created_at.isoformat()}


def sponsors_who_scanned(session: Session, attendee: Attendee) -> list[dict]:
    """Which sponsors hold this person as a lead, and when they scanned them (for their phone page), oldest first."""
    if attendee.erased_at is not None:
        return []
    rows = session.execute(select(Sponsor.name, Lead.created_at).join(Sponsor, Sponsor.id == Lead.sponsor_id)
                           .where(Lead.attendee_id == attendee.id).order_by(Lead.created_at, Lead.id))
    return [{"name": name, "scanned_at": at} for name, at in rows]
