"""Lead pages: a sponsor's scanner at the booth (/leads), and the organizer's Sponsors page in admin.

The booth page is plain forms (POST, redirect, flash) so it works without JavaScript; a USB or Bluetooth scanner
types a badge's code into its field and presses Enter. leads.js adds the camera where the browser allows one.
"""
from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..db import db
from ..devices.service import current_device
from ..errors import DomainError
from ..events.service import get_event
from ..extensions import limiter
from ..models import Device, Event, Sponsor, utcnow
from ..transactions import Blueprint, discard
from . import export
from .service import (UNCHANGED, add_scanner, capture_lead, create_sponsor, delete_sponsor, get_sponsor, lead_counts,
                      lead_view, leads_of, scanner_sponsor, scanners_of, sponsors_of, update_lead,
                      update_sponsor)

bp = Blueprint("leads", __name__, url_prefix="/leads")
admin = Blueprint("sponsors", __name__, url_prefix="/admin/events/<slug>/sponsors")


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)
    app.register_blueprint(admin)


# --------------------------------------------------------------------------------------------- the booth's page

def _device_key() -> str:
    device = g.get("gt_device")
    return f"device:{device.id}" if device else f"ip:{request.remote_addr}"


@bp.before_request
def _sponsor_scanners_only():
    """Unpaired browsers go to the pairing screen; a kiosk, a screen or a scanner without a sponsor is refused."""
    device = current_device(db.session)
    if device is None:
        return redirect(url_for("devices.pair_device"))
    g.sponsor = scanner_sponsor(db.session, device)
    g.event = db.session.get(Event, device.event_id)
    return None


@bp.get("")
def page():
    """The booth's scanner: a field for a badge's code (or the camera), and the leads so far."""
    views = [{**lead_view(lead, person), "scanned_at": lead.created_at}
             for lead, person in leads_of(db.session, g.sponsor)]
    return render_template("leads/page.html", event=g.event, sponsor=g.sponsor, leads=views,
                           questions=list(g.sponsor.questions or []), fresh=request.args.get("lead", type=int))


@bp.post("/scan")
@limiter.limit("60 per minute", key_func=_device_key)
def scan():
    """A badge was scanned or typed: a new lead, or the one the booth has already."""
    try:
        found = capture_lead(db.session, g.gt_device, request.form.get("code", ""), request.form.get("nonce"))
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return redirect(url_for("leads.page"))
    name = found.attendee.full_name
    if found.created:
        flash(_("New lead: %(name)s.", name=name), "success")
    else:
        flash(_("%(name)s is one of your leads already.", name=name), "info")
    return redirect(url_for("leads.page", lead=found.lead.id, _anchor=f"lead-{found.lead.id}"))


@bp.post("/<int:lead_id>")
def lead_save(lead_id: int):
    """Rate a lead (the hot, warm, cold buttons), and save its note and answers."""
    questions = list(g.sponsor.questions or [])
    answers = {q: request.form[f"answer-{i}"] for i, q in enumerate(questions) if f"answer-{i}" in request.form}
    rating = request.form["rating"] if "rating" in request.form else UNCHANGED
    try:
        update_lead(db.session, g.sponsor, lead_id, rating=rating, note=request.form.get("note"), answers=answers)
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("leads.page", _anchor=f"lead-{lead_id}"))


@bp.get("/export.csv")
def page_csv():
    """This booth's leads as a spreadsheet."""
    return csv_download(g.sponsor)


@bp.get("/export.vcf")
def page_vcf():
    """This booth's leads as vCards (3.0, or 4.0 with ?version=4.0)."""
    return vcf_download(g.sponsor)


def csv_download(sponsor: Sponsor) -> Response:
    """A sponsor's leads as a CSV download (the booth's page, admin and the API)."""
    with db.database.reader() as session:
        payload = export.leads_csv(session, session.get(Sponsor, sponsor.id))
    return Response(payload, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{export.filename(sponsor, "csv")}"'})


def vcf_download(sponsor: Sponsor) -> Response:
    """A sponsor's leads as a .vcf download; ?version=4.0 for vCard 4.0."""
    version = export.vcard_version(request.args.get("version"))
    with db.database.reader() as session:
        payload = export.leads_vcf(session, session.get(Sponsor, sponsor.id), version)
    return Response(payload, mimetype="text/vcard; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{export.filename(sponsor, "vcf")}"'})


# ------------------------------------------------------------------------------------------- the Sponsors page

def _back(slug: str):
    return redirect(url_for("sponsors.sponsors", slug=slug))


@admin.get("/")
@login_required
def sponsors(slug: str):
    """An event's sponsors: their questions, lead counts by rating, scanners with pairing codes, exports."""
    session = db.session
    event = get_event(session, slug)
    rows = sponsors_of(session, event)
    return render_template("admin/sponsors.html", event=event, sponsors=rows, counts=lead_counts(session, event),
                           scanners={s.id: scanners_of(session, s) for s in rows}, now=utcnow())


@admin.post("/")
@login_required
def sponsor_new(slug: str):
    """Add a sponsor with its questions (one per line)."""
    session = db.session
    event = get_event(session, slug)
    try:
        sponsor = create_sponsor(session, event, request.form.get("name", ""), request.form.get("questions", ""))
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return _back(slug)
    flash(f"{sponsor.name} added: now add a scanner for its booth.", "success")
    return _back(slug)


def _sponsor(slug: str, sponsor_id: int) -> tuple[Event, Sponsor]:
    session = db.session
    event = get_event(session, slug)
    return event, get_sponsor(session, event, sponsor_id)


@admin.post("/<int:sponsor_id>/edit")
@login_required
def sponsor_edit(slug: str, sponsor_id: int):
    """Rename a sponsor or change its questions."""
    _, sponsor = _sponsor(slug, sponsor_id)
    try:
        update_sponsor(db.session, sponsor, name=request.form.get("name"), questions=request.form.get("questions"))
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return _back(slug)
    flash(f"{sponsor.name} saved.", "success")
    return _back(slug)


@admin.post("/<int:sponsor_id>/delete")
@login_required
def sponsor_delete(slug: str, sponsor_id: int):
    """Remove a sponsor, its leads and its scanners (asked to confirm by typing DELETE)."""
    _, sponsor = _sponsor(slug, sponsor_id)
    if request.form.get("confirm", "").strip().upper() != "DELETE":
        flash("Type DELETE to confirm; nothing was removed.", "error")
        return _back(slug)
    name = sponsor.name
    delete_sponsor(db.session, sponsor)
    flash(f"{name} removed, with its leads; its scanners are unpaired.", "success")
    return _back(slug)


@admin.post("/<int:sponsor_id>/scanners")
@login_required
def scanner_new(slug: str, sponsor_id: int):
    """Add a scanner device for a sponsor's booth and show its pairing code."""
    event, sponsor = _sponsor(slug, sponsor_id)
    try:
        device: Device = add_scanner(db.session, event, sponsor, request.form.get("name", ""))
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return _back(slug)
    flash(f"{device.name} added: pair it with the code {device.pairing_code}.", "success")
    return _back(slug)


@admin.get("/<int:sponsor_id>/leads.csv")
@login_required
def sponsor_csv(slug: str, sponsor_id: int):
    """Download a sponsor's leads as CSV."""
    return csv_download(_sponsor(slug, sponsor_id)[1])


@admin.get("/<int:sponsor_id>/leads.vcf")
@login_required
def sponsor_vcf(slug: str, sponsor_id: int):
    """Download a sponsor's leads as vCards."""
    return vcf_download(_sponsor(slug, sponsor_id)[1])

