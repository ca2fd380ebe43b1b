"""What the phone page does: open a session from the personal token, answer a match, find my round."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_babel import gettext as _

from ..errors import Forbidden, NotFound, ValidationFailed
from ..matching.submit import submit_after_commit
from ..rounds.service import current_round
from ..models import Attendee, EventLog, Match, MatchStatus, Round, utcnow
from ..tokens import PERSONAL_TOKEN_LENGTH, fingerprint, hash_token, is_well_formed, normalize_token, tokens_equal

#: What an attendee may set a match to from their phone.
ANSWERS = {"accept": MatchStatus.accepted, "decline": MatchStatus.declined, "met": MatchStatus.met}


def attendee_from_token(session: Session, raw: str) -> Attendee:
    """The attendee whose personal token this is (compared by hash), or NotFound."""
    token = normalize_token(raw)
    attendee = None
    if is_well_formed(token, PERSONAL_TOKEN_LENGTH):
        attendee = session.scalar(select(Attendee).where(Attendee.personal_token_hash == hash_token(token)))
    if attendee is None or attendee.erased_at is not None:
        raise NotFound(_("This personal link does not work (any more). Ask at the kiosk for a new code."),
                       code="bad_personal_token")
    return attendee


def open_phone_session(phone_session, attendee: Attendee) -> None:
    """Remember in this phone's signed session whose it is, and which generation of their token opened it."""
    phone_session.clear()  # a shared phone switching people must not keep the previous person's session
    phone_session["attendee_id"] = attendee.id
    phone_session["token_fp"] = fingerprint(attendee.personal_token_hash)
    phone_session.permanent = True  # survives the phone browser being closed for the rest of the event


def signed_in_attendee(session: Session, phone_session) -> Attendee | None:
    """The attendee this phone's signed session belongs to, or None (and the session forgets them) when they
    were erased or their personal token was reissued since: a new code ends every phone opened with the old."""
    attendee_id = phone_session.get("attendee_id")
    if not isinstance(attendee_id, int):
        return None
    attendee = session.get(Attendee, attendee_id)
    current = fingerprint(attendee.personal_token_hash) if attendee is not None else None
    if attendee is None or attendee.erased_at is not None or current is None \
            or not tokens_equal(current, str(phone_session.get("token_fp", ""))):
        phone_session.pop("attendee_id", None)
        phone_session.pop("token_fp", None)
        return None
    return attendee


def answer_match(session: Session, attendee: Attendee, match_id: int, answer: str) -> Match:
    """Accept, decline or mark a match as met; the matcher learns it after commit (no repeat suggestions)."""
    status = ANSWERS.get(answer)
    if status is None:
        raise ValidationFailed(_("Choose accept, decline or met."), details={"action": "unknown"})
    match = session.get(Match, match_id)
    if match is None or attendee.id not in (match.a_id, match.b_id) or match.event_id != attendee.event_id:
        raise Forbidden(_("That is not one of your matches."), code="not_your_match")
    if match.status == MatchStatus.met and status != MatchStatus.met:
        raise ValidationFailed(_("You have met already."), code="already_met")
    match.status = status
    match.updated_at = utcnow()
    session.flush()
    submit_after_commit(session, "status", match.event_id, a=match.a_id, b=match.b_id, status=status.value)
    return match


def my_round(session: Session, attendee: Attendee) -> tuple[Round, dict] | None:
    """The running round this attendee is in, and their group ({"ids", "meeting_point"})."""
    row = current_round(session, attendee.event_id)
    if row is None:
        return None
    group = next((g for g in row.pairs or [] if attendee.id in g.get("ids", [])), None)
    return (row, group) if group else None


def left_out_of_round(session: Session, attendee: Attendee) -> tuple[Round, str] | None:
    """The running round if it left this attendee out, with why (as their phone was told), else None."""
    row = current_round(session, attendee.event_id)
    if row is None:
        return None
    told = session.scalar(select(EventLog).where(
        EventLog.event_id == attendee.event_id, EventLog.room == f"attendee:{attendee.id}", EventLog.type == "round")
        .order_by(EventLog.seq.desc()).limit(1))
    if told is None or told.payload.get("round_id") != row.id or not told.payload.get("left_out"):
        return None
    return row, told.payload.get("why", "already_met")
