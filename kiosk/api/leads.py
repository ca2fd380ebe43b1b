"""The lead API: a sponsor's scanner captures, lists, rates and exports its own leads.

Its routes join the API's blueprint (`kiosk.api.views.bp`: the same authentication, errors and idempotency).
A scanner only ever reaches its own sponsor's leads; organizers name the sponsor with `?sponsor=<id>`.
"""
from __future__ import annotations

import re

from flask import g, jsonify, request

from ..db import db
from ..errors import Forbidden, ValidationFailed
from ..extensions import limiter
from ..leads.service import UNCHANGED, capture_lead, get_sponsor, lead_view, leads_of, scanner_sponsor, update_lead
from ..leads.views import csv_download, vcf_download
from ..models import DeviceKind, Event, Sponsor
from .views import _body, _event, _rate_key, bp, writes

_SPONSOR_ID = re.compile(r"^[0-9]{1,9}$")
LEAD_FIELDS = ("rating", "note", "answers")


def _sponsor(slug: str) -> tuple[Event, Sponsor]:
    """The event and the sponsor whose leads this caller reaches: a scanner's own, or the organizer's choice."""
    event = _event(slug, DeviceKind.scanner)
    device = g.api_actor.device
    if device is not None:
        sponsor = scanner_sponsor(db.session, device)
        if request.args.get("sponsor") not in (None, "", str(sponsor.id)):
            raise Forbidden("A scanner reaches only its own sponsor's leads.", code="not_your_sponsor")
        return event, sponsor
    raw = request.args.get("sponsor", "")
    if not _SPONSOR_ID.match(raw):
        raise ValidationFailed("Organizers name the sponsor: ?sponsor=<id>.", details={"sponsor": "required"})
    return event, get_sponsor(db.session, event, int(raw))


@bp.post("/events/<slug>/leads")
@limiter.limit("60 per minute", key_func=_rate_key)
@writes
def lead_capture(slug: str):
    """A scanned or typed badge becomes a lead: 201 when new, 200 when the booth has it already."""
    _, sponsor = _sponsor(slug)
    data = _body()
    if not isinstance(data.get("code"), str):
        raise ValidationFailed("Send the scanned or typed badge code as a string in `code`.",
                               details={"code": "required"})
    found = capture_lead(db.session, g.api_actor.device, data["code"], data.get("nonce"), sponsor=sponsor)
    return {"lead": lead_view(found.lead, found.attendee), "created": found.created}, 201 if found.created else 200


@bp.get("/events/<slug>/leads")
def lead_list(slug: str):
    """The sponsor's leads, newest first, each with only what the person shares."""
    _, sponsor = _sponsor(slug)
    return jsonify({"sponsor": {"id": sponsor.id, "name": sponsor.name, "questions": list(sponsor.questions or [])},
                    "leads": [lead_view(lead, person) for lead, person in leads_of(db.session, sponsor)]})


@bp.patch("/events/<slug>/leads/<int:lead_id>")
@writes
def lead_update(slug: str, lead_id: int):
    """Rate a lead (hot, warm, cold or null), change its note, answer qualifier questions."""
    _, sponsor = _sponsor(slug)
    data = _body()
    unknown = sorted(set(data) - set(LEAD_FIELDS))
    if unknown:
        raise ValidationFailed(f"These fields cannot be changed here: {', '.join(unknown)}.",
                               details={k: "not allowed" for k in unknown})
    lead, person = update_lead(db.session, sponsor, lead_id, rating=data["rating"] if "rating" in data else UNCHANGED,
                               note=data.get("note"), answers=data.get("answers"))
    return {"lead": lead_view(lead, person)}, 200


@bp.get("/events/<slug>/leads.csv")
def lead_csv(slug: str):
    """The sponsor's leads as CSV (UTF-8 with a BOM), one column per qualifier question."""
    return csv_download(_sponsor(slug)[1])


@bp.get("/events/<slug>/leads.vcf")
def lead_vcf(slug: str):
    """The sponsor's leads as vCards: 3.0, or 4.0 with ?version=4.0."""
    return vcf_download(_sponsor(slug)[1])
