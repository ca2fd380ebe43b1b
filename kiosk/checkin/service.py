"""Check-in: find yourself, register as a walk-in, and the one atomic check-in that starts your matching.

Every caller (kiosk pages, the API) goes through these functions: they validate, write, queue what follows after
commit (the badge, the matcher, the staff dashboard) and raise domain errors; views only translate.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ..attendees.serialize import for_lookup
from ..attendees.service import apply_fields, create_attendee, new_personal_token
from ..badges.service import queue_badge_print
from ..cards.service import replace_cards
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..matching.submit import submit_after_commit
from ..models import Attendee, Device, Event, PrintJob, RevokedBadgeToken, present_count, utcnow
from ..realtime import publish
from ..tokens import normalize_token, sign, unsign
from ..validation import fold_for_search

#: How long a lookup result can be chosen, and how long a kiosk may then serve the chosen person (seconds).
CHOICE_TTL = 10 * 60
GRANT_TTL = 15 * 60
#: Letters a name search needs: two in alphabets, one in scripts where one character is a whole syllable or word
#: (a Chinese surname such as 李 is one character; so are many Japanese and Korean ones).
MIN_LOOKUP_CHARS = 2
MAX_LOOKUP_RESULTS = 8
#: Typos are forgiven from this many letters on (shorter queries would match half the room): one edit (a letter
#: wrong, missing, extra, or two swapped) up to 7 letters, two from 8.
FUZZY_FROM_CHARS = 4
#: What a walk-in may fill in about themselves.
WALKIN_FIELDS = ("first_name", "last_name", "email", "company", "title", "pronouns", "phone", "website")
#: What may be chosen at check-in: the screen and what a badge scan shares.
CONSENT_FIELDS = ("consent_screen", "consent_share")


class CheckInConflict(Conflict):
    """The attendee was checked in already (by this or another kiosk)."""

    code = "already_checked_in"


@dataclass
class CheckInResult:
    """What a check-in did; the personal token (the phone QR) is shown once, the print job is None when no
    badge was asked for."""

    attendee: Attendee
    checked_in_at: datetime
    personal_token: str
    print_job: PrintJob | None = None

    def to_dict(self) -> dict:
        return {"attendee_id": self.attendee.id, "checked_in": True, "already": False,
                "checked_in_at": self.checked_in_at.isoformat(), "personal_token": self.personal_token}


def min_lookup_chars(folded: str) -> int:
    """2, or 1 when the query starts with a CJK ideograph, kana or hangul syllable."""
    if folded and unicodedata.name(folded[0], "").startswith(("CJK ", "HIRAGANA", "KATAKANA", "HANGUL")):
        return 1
    return MIN_LOOKUP_CHARS


def lookup_by_name(session: Session, event: Event, query: str) -> list[Attendee]:
    """People whose first or last name starts with `query` (accent- and case-insensitive), a few at most; when
    fewer than that start with it, names one typo away (two for long queries) follow, closest first."""
    folded = fold_for_search(query)
    need = min_lookup_chars(folded)
    if len(folded) < need:
        raise ValidationFailed(_("Type at least %(n)d letters of your name.", n=need),
                               details={"q": f"at least {need} characters"})
    like = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = (select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None),
                                   or_(Attendee.search_name.like(f"{like}%", escape="\\"),
                                       Attendee.search_name.like(f"% {like}%", escape="\\")))
            .order_by(Attendee.search_name, Attendee.id).limit(MAX_LOOKUP_RESULTS))
    found = list(session.scalars(stmt))
    if len(found) < MAX_LOOKUP_RESULTS and len(folded.replace(" ", "")) >= FUZZY_FROM_CHARS:
        found += _near_names(session, event, folded, {a.id for a in found}, MAX_LOOKUP_RESULTS - len(found))
    return found


def _near_names(session: Session, event: Event, folded: str, skip: set[int], limit: int) -> list[Attendee]:
    """Attendees with a name word (or the start of one) within a small edit distance of each query word.

    Optimal string alignment distance (rapidfuzz's OSA: a swapped pair of letters is one edit, as typed on a
    tablet) between every query word and each name word, and the same length prefix of it so a half-typed name
    with a typo is found too. A person qualifies when every query word is near one of their name words.
    """
    import numpy as np
    from rapidfuzz.distance import OSA
    from rapidfuzz.process import cdist

    words = folded.split()
    rows = session.execute(select(Attendee.id, Attendee.search_name).where(
        Attendee.event_id == event.id, Attendee.erased_at.is_(None))).all()
    owners, tokens = [], []
    for pid, name in rows:
        if pid in skip:
            continue
        for token in (name or "").split():
            owners.append(pid)
            tokens.append(token)
    if not tokens:
        return []
    names = dict(rows)
    best: dict[int, int] = {}
    for n, word in enumerate(words):
        cutoff = 1 if len(word) < 8 else 2
        whole = cdist([word], tokens, scorer=OSA.distance, score_cutoff=cutoff, workers=1)[0]
        start = cdist([word], [t[:len(word)] for t in tokens], scorer=OSA.distance, score_cutoff=cutoff,
                      workers=1)[0]
        distances = np.minimum(whole, start)
        near: dict[int, int] = {}
        for i in np.flatnonzero(distances <= cutoff).tolist():
            near[owners[i]] = min(near.get(owners[i], cutoff + 1), int(distances[i]))
        best = near if n == 0 else {pid: best[pid] + d for pid, d in near.items() if pid in best}
    ranked = sorted(best, key=lambda pid: (best[pid], names[pid], pid))[:limit]
    people = {a.id: a for a in session.scalars(select(Attendee).where(Attendee.id.in_(ranked)))} if ranked else {}
    return [people[pid] for pid in ranked]


_BADGE_URL = re.compile(r"/b/([A-Za-z0-9]+)/?$")


def lookup_by_code(session: Session, event: Event, code: str) -> tuple[Attendee, bool]:
    """The attendee a scanned or typed code belongs to (their ticket's QR secret from pretix, a ticket reference, an
    Eventbrite barcode, or one of our badges), and whether it proves that the person holding it is them.

    Their own ticket does (the QR or number from their ticket shop's mail: nobody else has seen it). A badge does
    not: it is worn in public, photographed, and scanned by everyone who swaps contacts with them.
    """
    raw = (code or "").strip()
    if not raw or len(raw) > 512:
        raise ValidationFailed(_("That code is empty or too long to be a ticket."), details={"code": "invalid"})
    base = select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None))
    # The secret is matched exactly (it is case-sensitive and unique per event), before anything looser.
    found = session.scalar(base.where(Attendee.ticket_secret == raw))
    if found is None:
        found = session.scalar(base.where(Attendee.ticket_ref == raw))
    if found is None and raw.isdigit() and len(raw) > 3:
        # Eventbrite prints the attendee number followed by a three-digit sequence in its barcodes.
        found = session.scalar(base.where(Attendee.ticket_ref == raw[:-3]))
    if found is not None:
        return found, True
    badge = _BADGE_URL.search(raw)
    token = normalize_token(badge.group(1) if badge else raw)
    found = session.scalar(base.where(Attendee.badge_token == token))
    if found is None and session.scalar(select(RevokedBadgeToken.token).where(RevokedBadgeToken.token == token)):
        raise NotFound(_("This badge was replaced by a newer one; use the newest badge or type your name."),
                       code="badge_replaced")
    if found is None:
        raise NotFound(_("We could not find that ticket. Type your name instead, or ask at the desk."),
                       code="ticket_not_found")
    return found, False


def choice_token(device: Device | None, attendee: Attendee) -> str:
    """What a lookup result carries instead of the attendee's id: choosable by this kiosk, for a few minutes.

    So a kiosk reaches only people who came up in its (rate-limited) name or ticket lookups, never anyone by
    counting ids.
    """
    return sign({"d": device.id if device else None, "a": attendee.id}, "kiosk-choice")


def kiosk_choices(device: Device | None, people: list[Attendee]) -> list[dict]:
    """Lookup results as a kiosk may choose them: enough to recognize yourself, and a choice token (never an id)."""
    return [{**for_lookup(a), "choice": choice_token(device, a)} for a in people]


def serving_grant(device: Device | None, attendee: Attendee, *, proof: bool) -> str:
    """The kiosk's permission to serve one chosen person (the API's X-Kiosk-Grant header); `proof` when they
    showed their ticket (a scan) or registered just now, not only typed a name or showed a badge."""
    return sign({"d": device.id if device else None, "a": attendee.id, "p": bool(proof)}, "kiosk-grant")


def _signed(device: Device | None, token: str, purpose: str, max_age: int) -> dict:
    payload = unsign(token, purpose, max_age)
    if payload is None or payload.get("d") != (device.id if device else None) or not isinstance(payload.get("a"), int):
        raise Forbidden(_("That choice has expired: search for your name again."), code="choice_expired")
    return payload


def chosen_attendee(session: Session, event: Event, device: Device | None, choice: str) -> Attendee:
    """The person a kiosk chose from its own lookup results (a `choice_token`), or Forbidden."""
    return load_attendee(session, event, _signed(device, choice, "kiosk-choice", CHOICE_TTL)["a"])


def granted_attendee(session: Session, event: Event, device: Device | None, grant: str, *,
                     with_cards: bool = True) -> tuple[Attendee, bool]:
    """The person a kiosk is serving (a `serving_grant`) and whether they proved it is them, or Forbidden."""
    payload = _signed(device, grant, "kiosk-grant", GRANT_TTL)
    return load_attendee(session, event, payload["a"], with_cards=with_cards), bool(payload.get("p"))


def register_walkin(session: Session, event: Event, fields: dict, *, source: str = "walkin") -> Attendee:
    """A person without a ticket registers (at a kiosk; `source="admin"` when an organizer adds them)."""
    return create_attendee(session, event, source=source,
                           **{k: v for k, v in fields.items() if k in WALKIN_FIELDS})


def check_in(session: Session, event: Event, attendee: Attendee, *, device: Device | None = None,
             consent: dict | None = None, cards: dict | None = None, print_badge: bool = False,
             printers: list[str] | None = None) -> CheckInResult:
    """Check an attendee in: one compare-and-set, then their consent and cards, their badge, the matcher.

    Exactly one caller wins; the others get CheckInConflict (with `checked_in_at`) and have changed nothing. The
    winner gets a fresh personal token (shown once, as the QR that opens the phone page); after commit the staff
    dashboard hears of it, the matcher looks for suggestions and the badge (`print_badge`) goes to the device's
    printer (or to `printers`: staff at the desk choose theirs). `consent` holds consent_screen / consent_share;
    `cards` holds offers / needs lists.
    """
    if attendee.event_id != event.id:
        raise NotFound("There is no such attendee in this event.")
    if attendee.erased_at is not None:
        raise NotFound("This attendee's data was erased.")
    unknown = sorted(set(consent or {}) - set(CONSENT_FIELDS))
    if unknown:
        raise ValidationFailed(f"These fields are not consents: {', '.join(unknown)}.",
                               details={k: "not a consent" for k in unknown})
    now, device_id = utcnow(), device.id if device else None
    token, token_hash = new_personal_token()
    # The compare-and-set also sets the phone token: one statement for the winner, nothing written for the others.
    won = session.execute(
        update(Attendee).where(Attendee.id == attendee.id, Attendee.checked_in_at.is_(None))
        .values(checked_in_at=now, checked_in_by=device_id, personal_token_hash=token_hash)
        .returning(Attendee.id, Attendee.updated_at).execution_options(synchronize_session=False)).first()
    if won is None:
        session.refresh(attendee, ["checked_in_at", "checked_in_by"])
        raise CheckInConflict(_("%(name)s is already checked in.", name=attendee.first_name),
                              details={"checked_in_at": attendee.checked_in_at.isoformat()})
    for key, value in (("checked_in_at", now), ("checked_in_by", device_id),
                       ("personal_token_hash", token_hash), ("updated_at", won.updated_at)):
        set_committed_value(attendee, key, value)  # what the row now holds; nothing left for the ORM to flush
    if consent:
        apply_fields(attendee, consent)
        attendee.consent_chosen_at = now  # their own choice, made at the kiosk (or the kiosk app) just now
    if cards:
        replace_cards(session, attendee, offers=cards.get("offers"), needs=cards.get("needs"))
    job = queue_badge_print(session, attendee, device, printers=printers) if print_badge else None
    publish(session, event.id, "checkin", "staff",
            {"attendee_id": attendee.id, "first_name": attendee.first_name, "company": attendee.company,
             "ticket_type": attendee.ticket_type, "device": device.name if device else None,
             "at": now.isoformat(), "present": present_count(session, event.id)})
    submit_after_commit(session, "checkin", event.id, attendee_id=attendee.id)
    return CheckInResult(attendee=attendee, checked_in_at=now, personal_token=token, print_job=job)


def load_attendee(session: Session, event: Event, attendee_id: int, with_cards: bool = True) -> Attendee:
    """An attendee of this event (with their cards unless told otherwise), or NotFound."""
    stmt = select(Attendee).where(Attendee.id == attendee_id, Attendee.event_id == event.id,
                                  Attendee.erased_at.is_(None))
    attendee = session.scalar(stmt.options(selectinload(Attendee.cards)) if with_cards else stmt)
    if attendee is None:
        raise NotFound("There is no such attendee in this event.")
    return attendee
