"""Badge PDFs to download, print-job status for the kiosk, and the organizer's printing page."""
from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from ..checkin.service import granted_attendee, load_attendee
from ..db import db
from ..devices.service import current_device
from ..errors import DomainError, Forbidden
from ..events.service import get_event
from ..models import Device, DeviceKind, Event, PrintJob, PrintStatus
from ..transactions import Blueprint, discard
from . import service
from .layouts import LAYOUTS
from .printing import PrintError, list_printers, submit_job
from .render import render_test_page

bp = Blueprint("badges", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _organizer_or_kiosk_of(event: Event, attendee_id: int | None = None) -> None:
    """Organizers, or a kiosk of this event; with `attendee_id`, a kiosk only for the person it is serving (its
    page session, or the API's X-Kiosk-Grant)."""
    if current_user.is_authenticated:
        return
    device = current_device(db.session)
    if device is None or device.event_id != event.id or device.kind != DeviceKind.kiosk:
        raise Forbidden("Sign in as an organizer, or use a kiosk paired to this event.", code="not_allowed")
    if attendee_id is None:
        return
    # A kiosk prints or shows the badge of the person it serves only: not yet checked in, or proved it is them
    # (their ticket), as for every other change at the kiosk; a stranger must not walk off with someone's badge.
    state = session.get("kiosk") or {}
    grant = request.headers.get("X-Kiosk-Grant")
    if grant:
        person, proof = granted_attendee(db.session, event, device, grant)
        serving = person.id
    else:
        serving, proof = state.get("id"), bool(state.get("proof"))
    if serving != attendee_id:
        raise Forbidden("This kiosk is not serving that attendee.", code="not_your_attendee")
    if not proof and load_attendee(db.session, event, attendee_id, with_cards=False).checked_in_at is not None:
        raise Forbidden("They are checked in already: scan their ticket first.", code="proof_needed")


def _pdf(payload: bytes, filename: str) -> Response:
    return Response(payload, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"})


@bp.get("/badges/<slug>/<int:attendee_id>.pdf")
def attendee_pdf(slug: str, attendee_id: int):
    """One attendee's badge as a PDF (organizers, and kiosks of the event)."""
    event = get_event(db.session, slug)
    _organizer_or_kiosk_of(event, attendee_id)
    attendee = load_attendee(db.session, event, attendee_id)
    layout = request.args.get("layout") or None
    if layout and layout not in LAYOUTS:
        abort(404)
    return _pdf(service.render_attendees([attendee], event, layout), f"badge-{attendee.id}.pdf")


@bp.get("/badges/jobs/<int:job_id>")
def job_status(job_id: int):
    """Where a print job stands, for the kiosk's done screen."""
    job = db.session.get(PrintJob, job_id)
    if job is None:
        abort(404)
    _organizer_or_kiosk_of(db.session.get(Event, job.event_id))
    return jsonify({"id": job.id, "status": job.status.value, "printer": job.printer,
                    "message": service.job_message(job)})


@bp.route("/admin/events/<slug>/printing", methods=["GET", "POST"])
@login_required
def printing(slug: str):
    """Printers, kiosk assignments, badge layout, batch runs and the print-job log."""
    session = db.session
    event = get_event(session, slug)
    if request.method == "POST":
        try:
            _printing_action(session, event, request.form.get("action", ""))
        except (DomainError, PrintError, ValueError) as exc:
            discard()
            flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for("badges.printing", slug=slug))
    try:
        printers, printer_error = list_printers(), None
    except PrintError as exc:
        printers, printer_error = [], str(exc)
    kiosks = session.scalars(select(Device).where(Device.event_id == event.id, Device.kind == DeviceKind.kiosk,
                                                  Device.revoked_at.is_(None)).order_by(Device.id)).all()
    jobs = session.scalars(select(PrintJob).where(PrintJob.event_id == event.id)
                           .order_by(PrintJob.id.desc()).limit(100)).all()
    names = {a.id: a.full_name for a in service.attendees_for_batch(session, event)}
    newest = {}
    for job in jobs:  # newest first: only an attendee's newest job can be retried or printed (once)
        newest.setdefault(job.attendee_id, job.id)
    return render_template("admin/printing.html", event=event, printers=printers, printer_error=printer_error,
                           kiosks=kiosks, jobs=jobs, names=names, newest=newest, layouts=service.layout_choices(),
                           failed=PrintStatus.failed)


def _printing_action(session, event: Event, action: str) -> None:
    form = request.form
    if action == "layout":
        name = form.get("layout", "")
        if name not in LAYOUTS:
            raise ValueError("Unknown layout.")
        event.badge_layout = name
        flash(f"Badges now use {LAYOUTS[name].title}.", "success")
    elif action == "assign":
        device = session.get(Device, form.get("device_id", type=int) or 0)
        if device is None or device.event_id != event.id:
            raise ValueError("Unknown kiosk.")
        device.printers = [p.strip() for p in form.get("printers", "").split(",") if p.strip()][:5]
        flash(f"{device.name} prints on {', '.join(device.printers) or 'no printer'}.", "success")
    elif action == "test":
        printer = form.get("printer", "")
        layout = LAYOUTS.get(form.get("layout", "") or event.badge_layout) or LAYOUTS["label-4x3"]
        job = submit_job(render_test_page(layout, printer=printer), printer, title="test-page", media=layout.media)
        flash(f"Test page sent to {printer} (job {job}).", "success")
    elif action in ("retry", "move", "print"):
        # print: a job that had no printer (a kiosk without one) goes to the chosen one; retry: again to its own
        # printer; move: to another.
        job = session.get(PrintJob, form.get("job_id", type=int) or 0)
        if job is None or job.event_id != event.id or job.attendee_id is None:
            raise ValueError("Unknown print job.")
        if job.status in (PrintStatus.sent, PrintStatus.done):
            raise ValueError(f"Job {job.id} reached its printer: reprint the badge from the attendee list instead.")
        targets = [form.get("printer", "")] if action != "retry" else ([job.printer] if job.printer else [])
        targets = [t for t in targets if t]
        if not targets:
            raise ValueError("Choose a printer.")
        new = service.retry_job(session, job, targets)
        flash(f"Sent again as job {new.id} to {', '.join(targets)}.", "success")
    elif action == "batch":
        # In failover order, as for a kiosk: the next is used when one is stopped or removed mid-batch.
        printers = [p.strip() for p in form.get("printer", "").split(",") if p.strip()][:5]
        if not printers:
            raise ValueError("Choose a printer.")
        people = service.attendees_for_batch(session, event, only_not_printed=bool(form.get("only_not_printed")),
                                             sort=form.get("sort", "last_name"))
        for attendee in people:
            service.queue_badge_print(session, attendee, printers=printers)
        flash(f"{len(people)} badges queued on {', '.join(printers)}.", "success")
    else:
        raise ValueError("Unknown action.")


@bp.get("/admin/events/<slug>/badges.pdf")
@login_required
def batch_pdf(slug: str):
    """Every badge of the event (or only those not printed yet) in one PDF, sorted as asked."""
    with db.database.reader() as session:
        event = get_event(session, slug)
        people = service.attendees_for_batch(session, event,
                                             only_not_printed=bool(request.args.get("only_not_printed")),
                                             sort=request.args.get("sort", "last_name"))
        if not people:
            flash("No badges to make.", "info")
            return redirect(url_for("badges.printing", slug=slug))
        layout = request.args.get("layout") if request.args.get("layout") in LAYOUTS else None
        payload = service.render_attendees(people, event, layout, crop_marks=bool(request.args.get("crop_marks")))
    return _pdf(payload, f"{event.slug}-badges.pdf")
