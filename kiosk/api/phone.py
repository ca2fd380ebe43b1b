"""The phone's API under /api/me/: scan a badge, my contacts, notes, follow-ups and vCards.

An attendee's phone authenticates with its signed session (opened by the personal link); writes need the
`X-CSRFToken` header (kiosk.api.views._authenticate). Scans are rate-limited per attendee and per address.
"""
from __future__ import annotations

from flask import Response, g, jsonify, request

from ..db import db
from ..errors import ValidationFailed
from ..extensions import limiter
from ..models import Attendee, Event
from ..scanning import service as scanning
from ..scanning.vcard import VERSIONS, Card, dumps
from .views import _body, _rate_key, bp, writes


def _me() -> Attendee:
    return g.api_actor.attendee


def _scan_answer(result: scanning.ScanResult) -> tuple[dict, int]:
    view = scanning.view_for(db.session, _me(), result.contact.id)
    return {"contact": view, "created": result.created, "mutual": result.mutual}, 201 if result.created else 200


@bp.post("/me/scan")
@limiter.limit("120 per minute")
@limiter.limit("30 per minute", key_func=_rate_key)
@writes
def me_scan():
    """Scan (or type) a badge: the contact is made once; the scanned person is told and can connect back."""
    data = _body()
    code = data.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ValidationFailed("Send the scanned or typed badge code as a string in `code`.",
                               details={"code": "required"})
    return _scan_answer(scanning.scan(db.session, _me(), code, nonce=data.get("nonce")))


@bp.get("/me/contacts")
@limiter.limit("60 per minute", key_func=_rate_key)
def me_contacts():
    """My contacts, newest first: people whose card I hold and people who scanned me."""
    return jsonify({"contacts": scanning.contacts_of(db.session, _me())})


@bp.get("/me/contacts/<int:contact_id>")
@limiter.limit("240 per minute", key_func=_rate_key)
def me_contact(contact_id: int):
    """One contact as I may see it now (what a live `contact` message asks for)."""
    return jsonify({"contact": scanning.view_for(db.session, _me(), contact_id)})


@bp.patch("/me/contacts/<int:contact_id>")
@limiter.limit("120 per minute", key_func=_rate_key)
@writes
def me_contact_update(contact_id: int):
    """My private note and follow-up flag on a contact."""
    data = _body()
    unknown = sorted(set(data) - {"note", "follow_up"})
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(unknown)}.",
                               details={k: "not allowed" for k in unknown})
    if "note" in data and not isinstance(data["note"], str):
        raise ValidationFailed("`note` is a string.", details={"note": "wrong type"})
    row = scanning.update_contact(db.session, _me(), contact_id, note=data.get("note"),
                                  follow_up=data.get("follow_up"))
    return {"contact": scanning.view_for(db.session, _me(), row.id)}, 200


@bp.post("/me/contacts/<int:contact_id>/connect")
@limiter.limit("30 per minute", key_func=_rate_key)
@writes
def me_connect_back(contact_id: int):
    """Connect back to someone who scanned me: the contact becomes mutual."""
    return _scan_answer(scanning.connect_back(db.session, _me(), contact_id))


def _version() -> str:
    version = request.args.get("version", "3.0")
    if version not in VERSIONS:
        raise ValidationFailed(f"vCard version is one of {', '.join(VERSIONS)}.", details={"version": "unknown"})
    return version


def vcard_of(view: dict, event: Event) -> Card:
    """A contact's vCard: their name, exactly what they share, my note and where we met."""
    other, shared = view["other"], view["other"].get("shared", {})
    met = f"Met at {event.name}" + (f" ({event.starts_at:%Y-%m-%d})" if event.starts_at else "")
    note = "\n".join(t for t in (view.get("note", ""), met, f"Ask me about: {view['offer']}" if view.get("offer")
                                 else "") if t)
    return Card(first_name=other["first_name"], last_name=other.get("last_name", ""), email=shared.get("email", ""),
                phone=shared.get("phone", ""), website=shared.get("website", ""), company=shared.get("company", ""),
                title=shared.get("title", ""), note=note, categories=[event.name],
                uid=f"givetake-{event.slug}-{other['id']}")


def _vcf(cards: list[Card], filename: str) -> Response:
    # text/vcard opens the contacts app on iOS and Android; the filename keeps letters of any script out of the
    # header (RFC 6266 needs an encoded form for those) by naming the file after the event and badge number.
    return Response(dumps(cards, _version()), mimetype="text/vcard",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


@bp.get("/me/contacts.vcf")
@limiter.limit("30 per minute", key_func=_rate_key)
def me_contacts_vcf():
    """Every contact whose card I hold, as one vCard file (3.0; `?version=4.0` for 4.0)."""
    me = _me()
    event = db.session.get(Event, me.event_id)
    views = [v for v in scanning.contacts_of(db.session, me) if v["state"] != "theirs"]
    return _vcf([vcard_of(v, event) for v in reversed(views)], f"{event.slug}-contacts.vcf")


@bp.get("/me/contacts/<int:contact_id>.vcf")
@limiter.limit("60 per minute", key_func=_rate_key)
def me_contact_vcf(contact_id: int):
    """One contact as a vCard (3.0; `?version=4.0` for 4.0)."""
    me = _me()
    view = scanning.view_for(db.session, me, contact_id)
    if view["state"] == "theirs":
        raise ValidationFailed("Connect back first: they scanned you, you do not hold their card yet.",
                               code="connect_first", status=409)
    event = db.session.get(Event, me.event_id)
    return _vcf([vcard_of(view, event)], f"{event.slug}-{view['other']['badge']}.vcf")
