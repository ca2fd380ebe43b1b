"""The JSON API under /api/: what kiosks, scanners and scripts use. Described by /api/openapi.json.

Callers authenticate with `Authorization: Bearer <device token>`, a paired browser's device cookie, or an organizer
session. Cookie-authenticated calls that change something need the `X-CSRFToken` header (a bearer token cannot
be sent by another site, a cookie can). Errors are `{"code", "message", "details"?}` with a fitting status.
"""
from __future__ import annotations

import functools

from flask import g, jsonify, request, session as flask_session, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..attendees.serialize import for_api, for_lookup
from ..attendees.service import set_group, update_attendee
from ..cards.service import update_cards
from .. import idempotency
from ..checkin import service as checkin
from ..db import db
from ..devices.service import current_device
from ..errors import DomainError, Forbidden, NotFound, ValidationFailed
from ..events.service import get_event
from ..extensions import csrf, limiter
from ..matching.service import attendee_payload, matches_for
from ..me.service import signed_in_attendee
from ..models import Attendee, Contact, DeviceKind, Event, Match, MatchStatus, present_count
from ..personal import badge_url, personal_url
from ..transactions import Blueprint
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api")


csrf.exempt(bp)  # checked below, only where a cookie (not a bearer token) authenticates the call

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
#: Routes an attendee's phone calls about itself (kiosk.api.phone).
PHONE_PREFIX = "/api/me/"


class Actor:
    """Who is calling: an organizer (any event), a device (its own event, its kind's rights), or an attendee's
    phone (its signed session; only the `/api/me/` routes, about themselves)."""

    def __init__(self, organizer=None, device=None, attendee=None):
        self.organizer = organizer
        self.device = device
        self.attendee = attendee

    @property
    def scope(self) -> str:
        return idempotency.actor_scope(attendee=self.attendee, organizer=self.organizer, device=self.device)

    def can_see_contact_details(self) -> bool:
        return self.organizer is not None


def _rate_key() -> str:
    actor = g.get("api_actor")
    return actor.scope if actor else f"ip:{request.remote_addr}"


@bp.before_request
def _authenticate():
    """Resolve the caller; refuse anonymous calls; require CSRF for cookie-authenticated writes."""
    if request.endpoint == "api.openapi":
        return None
    session = db.session
    if request.path.startswith(PHONE_PREFIX):
        # An attendee's phone, by its session cookie: these routes only, never a device's or organizer's.
        attendee = signed_in_attendee(session, flask_session)
        if attendee is None:
            raise Forbidden("Open your personal link on this phone first (the QR code from check-in).",
                            code="signed_out", status=401)
        g.api_actor = Actor(attendee=attendee)
        if request.method in UNSAFE:
            csrf.protect()
            if request.content_length and not request.is_json:
                raise ValidationFailed("Send JSON (Content-Type: application/json).", code="bad_content_type",
                                       status=415)
        return None
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    device = current_device(session)
    # CSRF is decided by how the caller was actually authenticated: a valid bearer token cannot be sent by another
    # site; a cookie (the organizer's session, a paired browser's device cookie) can, even next to a bad bearer.
    by_bearer = device is not None and bearer
    if device is not None:
        g.api_actor = Actor(device=device)
    elif current_user.is_authenticated:
        g.api_actor = Actor(organizer=current_user._get_current_object())
    else:
        raise Forbidden("Sign in as an organizer or send a device token (Authorization: Bearer ...).",
                        code="unauthenticated", status=401)
    if request.method in UNSAFE and not by_bearer:
        csrf.protect()
    if request.method in UNSAFE and request.content_length and not request.is_json:
        raise ValidationFailed("Send JSON (Content-Type: application/json).", code="bad_content_type", status=415)
    return None


def _body() -> dict:
    """The JSON object sent, or a clear 400."""
    if not request.content_length:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("The body is not a JSON object.", code="bad_json", status=400)
    return data


def _event(slug: str, *kinds: DeviceKind) -> Event:
    """The event, which a device may only reach if it is paired to it (and of an allowed kind)."""
    event = get_event(db.session, slug)
    actor: Actor = g.api_actor
    if actor.device is not None:
        if actor.device.event_id != event.id:
            raise NotFound(f"There is no event '{slug}'.")
        if kinds and actor.device.kind not in kinds:
            raise Forbidden(f"A {actor.device.kind.value} cannot do this.", code="wrong_device")
    return event


#: The header a kiosk sends to act for the person it is serving (see `select`).
GRANT_HEADER = "X-Kiosk-Grant"


def _event_attendee(slug: str, attendee_id: int, *, needs_proof: bool = False,
                    with_cards: bool = True) -> tuple[Event, Attendee]:
    """The event and one of its attendees, as this caller may reach them.

    Organizers reach anyone. A kiosk reaches only the person it is serving: its `X-Kiosk-Grant` (from choosing a
    lookup result, a ticket scan or a walk-in) must name them; and for someone already checked in it changes
    nothing and gets no badge unless they proved it is them (their ticket scanned), exactly as at the kiosk pages.
    """
    event = _event(slug, DeviceKind.kiosk)
    device = g.api_actor.device
    if device is None:
        return event, checkin.load_attendee(db.session, event, attendee_id, with_cards=with_cards)
    grant = request.headers.get(GRANT_HEADER, "")
    if not grant:
        raise Forbidden(f"A kiosk acts only for the person it serves: send {GRANT_HEADER} from "
                        "attendees/select, lookup-ticket or a walk-in.", code="no_grant")
    person, proof = checkin.granted_attendee(db.session, event, device, grant, with_cards=with_cards)
    if person.id != attendee_id:
        raise Forbidden("This kiosk is not serving that attendee.", code="not_your_attendee")
    if needs_proof and person.checked_in_at is not None and not proof:
        raise Forbidden("They are checked in already: scan their ticket (lookup-ticket) before changing "
                        "anything.", code="proof_needed")
    return event, person


def _for_kiosk(person: Attendee, *, proof: bool) -> dict:
    """A chosen person as a kiosk gets them: the API view without contact details, and the grant to serve them."""
    return {"attendee": for_api(person, False),
            "grant": checkin.serving_grant(g.api_actor.device, person, proof=proof)}


def _lookup_results(people: list[Attendee]) -> list[dict]:
    """Lookup results: a choice token for kiosks (never an id), the id for organizers."""
    device = g.api_actor.device
    if device is None:
        return [{**for_lookup(a), "id": a.id} for a in people]
    return checkin.kiosk_choices(device, people)


def _check_types(data: dict) -> None:
    """Text fields must be strings, consent_screen a boolean, consent_share a list: clear 422s, not str(42)."""
    for key, value in data.items():
        if key == "consent_screen":
            ok = isinstance(value, bool)
        elif key == "consent_share":
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = value is None or isinstance(value, str)
        if not ok:
            raise ValidationFailed(f"`{key}` has the wrong type.", details={key: "wrong type"})


#: Fields of an answer that are secrets: stored only sealed under the client's Idempotency-Key.
SECRET_FIELDS = ("personal_token", "personal_url", "grant")


def writes(view):
    """Answer a write view with its (body, status) as JSON, replayable by `Idempotency-Key` (kiosk.idempotency).

    The request's one transaction (kiosk.transactions) commits what the view did. With an `Idempotency-Key` header
    the first successful answer is stored in that same transaction and replayed to retries with the same key (per
    caller and route), so a kiosk that lost the answer can safely send the request again. A retry that raced the
    first attempt and lost (its check-in conflicts, or its stored answer clashes) gets the winner's answer.
    Stored are a hash of the key and the answer with its secrets (the personal token) sealed under the key itself:
    the database alone holds no token. Answers are purged a day after they were given, whoever gave them.
    """
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        session = db.session
        key = idempotency.checked_key(request.headers.get("Idempotency-Key"))
        scope = f"{g.api_actor.scope}:{request.endpoint}:{request.path}"

        def replay():
            first = idempotency.stored_answer(session, scope, key) if key else None
            return None if first is None else (jsonify(idempotency.unsealed(first.body, key)), first.status_code)
        if (answer := replay()) is not None:
            return answer
        try:
            body, status = view(*args, **kwargs)
            if key:
                idempotency.remember(session, scope, key, status, idempotency.sealed(body, key, SECRET_FIELDS))
        except (DomainError, IntegrityError):
            session.rollback()
            if (answer := replay()) is not None:
                return answer
            raise
        return jsonify(body), status
    return wrapper


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())


@bp.get("/events/<slug>/attendees/lookup")
@limiter.limit("60 per minute", key_func=_rate_key)
def lookup(slug: str):
    """Find attendees by the first letters of a name: only enough to choose (no email, no ticket)."""
    event = _event(slug, DeviceKind.kiosk)
    people = checkin.lookup_by_name(db.session, event, request.args.get("q", "")[:80])
    return jsonify({"results": _lookup_results(people)})


@bp.post("/events/<slug>/attendees/select")
@limiter.limit("30 per minute", key_func=_rate_key)
def select_attendee(slug: str):
    """A kiosk chooses a lookup result (its `choice`): the person's details and the grant to serve them."""
    event = _event(slug, DeviceKind.kiosk)
    if g.api_actor.device is None:
        raise ValidationFailed("Organizers use attendee ids; select is for kiosks.", code="not_a_kiosk")
    choice = _body().get("choice")
    if not isinstance(choice, str):
        raise ValidationFailed("Send the lookup result's `choice` as a string.", details={"choice": "required"})
    person = checkin.chosen_attendee(db.session, event, g.api_actor.device, choice)
    return jsonify(_for_kiosk(person, proof=False))


@bp.post("/events/<slug>/attendees/lookup-ticket")
@limiter.limit("30 per minute", key_func=_rate_key)
def lookup_ticket(slug: str):
    """Find the attendee a scanned ticket QR or barcode belongs to."""
    event = _event(slug, DeviceKind.kiosk)
    code = _body().get("code")
    if not isinstance(code, str):
        raise ValidationFailed("Send the scanned code as a string in `code`.", details={"code": "required"})
    person, proof = checkin.lookup_by_code(db.session, event, code)
    if g.api_actor.device is None:
        return jsonify({"attendee": {**for_lookup(person), "id": person.id}})
    return jsonify(_for_kiosk(person, proof=proof))  # their own ticket is proof; a (public) badge is not


@bp.post("/events/<slug>/attendees")
@limiter.limit("10 per minute", key_func=_rate_key)
@writes
def walkin(slug: str):
    """Register a walk-in (or, for organizers, any attendee)."""
    event = _event(slug, DeviceKind.kiosk)
    fields = {k: v for k, v in _body().items() if k in checkin.WALKIN_FIELDS}
    _check_types(fields)
    attendee = checkin.register_walkin(db.session, event, fields,
                                       source="admin" if g.api_actor.organizer is not None else "walkin")
    if g.api_actor.device is not None:
        return _for_kiosk(attendee, proof=True), 201  # they registered themselves just now
    return {"attendee": for_api(attendee, True)}, 201


@bp.get("/events/<slug>/attendees/<int:attendee_id>")
@limiter.limit("30 per minute", key_func=_rate_key)
def attendee(slug: str, attendee_id: int):
    """One attendee's details and cards."""
    _, person = _event_attendee(slug, attendee_id)
    return jsonify({"attendee": for_api(person, g.api_actor.can_see_contact_details())})


@bp.patch("/events/<slug>/attendees/<int:attendee_id>")
@writes
def attendee_update(slug: str, attendee_id: int):
    """Correct details or change consents."""
    event, person = _event_attendee(slug, attendee_id, needs_proof=True)
    data = _body()
    allowed = {"first_name", "last_name", "company", "title", "pronouns", "consent_screen", "consent_share"}
    if g.api_actor.organizer is not None:
        allowed |= {"email", "phone", "website", "ticket_ref", "ticket_type", "group"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(unknown)}.",
                               details={k: "not allowed" for k in unknown})
    _check_types(data)
    if "group" in data:  # one of the event's groups by label (a kiosk never sets it: the kiosk never asks)
        set_group(db.session, event, person, data.pop("group") or "")
    update_attendee(db.session, person, **data)
    return {"attendee": for_api(person, g.api_actor.can_see_contact_details())}, 200


def _card_items(data: dict, key: str) -> list | None:
    if key not in data:
        return None
    items = data[key]
    if not isinstance(items, list) or not all(isinstance(i, (str, dict)) for i in items):
        raise ValidationFailed(f"`{key}` must be a list of {{text, tags}} objects.", details={key: "not a list"})
    for item in items:
        if isinstance(item, dict) and (not isinstance(item.get("text", ""), str)
                                       or not isinstance(item.get("tags", []), list)):
            raise ValidationFailed(f"Each item of `{key}` needs a string `text` and a list `tags`.",
                                   details={key: "bad item"})
    return items


@bp.put("/events/<slug>/attendees/<int:attendee_id>/cards")
@writes
def cards_update(slug: str, attendee_id: int):
    """Replace the offer and/or need cards; the matcher re-runs for attendees who are here."""
    event, person = _event_attendee(slug, attendee_id, needs_proof=True)
    data = _body()
    offers, needs = _card_items(data, "offers"), _card_items(data, "needs")
    if offers is None and needs is None:
        raise ValidationFailed("Send `offers`, `needs` or both.", details={"offers": "required"})
    update_cards(db.session, person, offers=offers, needs=needs)
    return {"attendee": for_api(person, g.api_actor.can_see_contact_details())}, 200


@bp.post("/events/<slug>/attendees/<int:attendee_id>/checkin")
@writes
def check_in(slug: str, attendee_id: int):
    """Check in (one atomic compare-and-set). 409 `already_checked_in` when someone else did it first."""
    event, person = _event_attendee(slug, attendee_id, with_cards=False)
    data = _body()
    consent = {k: data[k] for k in checkin.CONSENT_FIELDS if k in data}
    _check_types(consent)
    result = checkin.check_in(db.session, event, person, device=g.api_actor.device, consent=consent)
    body = result.to_dict()
    body["personal_url"] = personal_url(result.personal_token, event)
    body["badge_url"] = badge_url(person.badge_token, event)
    return body, 200


@bp.get("/events/<slug>/attendees/<int:attendee_id>/matches")
@limiter.limit("30 per minute", key_func=_rate_key)
def matches(slug: str, attendee_id: int):
    """An attendee's matches with reasons and conversation starters."""
    event, person = _event_attendee(slug, attendee_id)
    return jsonify({"matches": [attendee_payload(m, person, other) for m, other in matches_for(db.session, person)]})


@bp.get("/events/<slug>/attendees/<int:attendee_id>/badge")
@limiter.limit("30 per minute", key_func=_rate_key)
def badge(slug: str, attendee_id: int):
    """Where to download this attendee's badge PDF."""
    event, person = _event_attendee(slug, attendee_id, needs_proof=True)
    return jsonify({"pdf": url_for("badges.attendee_pdf", slug=event.slug, attendee_id=person.id, _external=True),
                    "layout": event.badge_layout, "qr": badge_url(person.badge_token, event)})


@bp.get("/events/<slug>/stats")
def stats(slug: str):
    """Counts for dashboards: registered, checked in, matches by status, contacts."""
    event = _event(slug)
    s = db.session
    registered = s.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event.id,
                                                                Attendee.erased_at.is_(None))) or 0
    by_status = dict(s.execute(select(Match.status, func.count(Match.id)).where(Match.event_id == event.id)
                               .group_by(Match.status)).all())
    return jsonify({"registered": registered, "checked_in": present_count(s, event.id),
                    "matches": {st.value: by_status.get(st, 0) for st in MatchStatus},
                    "contacts": s.scalar(select(func.count(Contact.id)).where(Contact.event_id == event.id)) or 0})
