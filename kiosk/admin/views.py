"""Organizer pages: events and their tags, attendees (search, edit, erase; the desk checks people in and prints
their badges from the list), CSV import and export, and the ready-for-doors panel."""
from __future__ import annotations

from flask import Response, current_app, flash, redirect, render_template, request, session as flask_session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import func, select

from ..attendees import csv_export, csv_import
from ..attendees.service import (SHAREABLE, create_attendee, erase_attendee, get_attendee, group_label,
                                 issue_personal_token, search_attendees, set_group, update_attendee)
from ..badges.printing import PrintError, list_printers
from ..badges.service import BadgeOnItsWay, badge_states, print_badge
from ..cards.service import MAX_CARDS_PER_KIND, items, items_from_form, update_cards
from ..checkin.service import check_in, load_attendee
from ..db import db
from ..errors import DomainError, ValidationFailed
from ..events.service import create_event, get_event, group_rule, update_event
from ..models import Attendee, CardKind, Event, utcnow
from ..personal import personal_qr_svg, personal_url, public_url_help, qr_svg
from ..prepare.service import event_links, issue_link, link_expires_at, link_url
from ..realtime.sockets import revalidate_after_commit
from ..reports.mail import mailing_counts
from ..transactions import Blueprint, discard
from .readiness import PHONE_CHECK_PATH, check_readiness

bp = Blueprint("admin", __name__, url_prefix="/admin")


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)

PAGE_SIZE = 50
#: The attendee list's arrival filter: ?arrived=no (not arrived yet), yes (checked in), or everyone.
ARRIVED = {"no": False, "yes": True}
#: What the desk does from an attendee's row (besides downloading the badge).
DESK_ACTIONS = ("checkin", "print", "reprint")
#: Where this browser's desk printer is remembered (the Flask session).
DESK_PRINTER = "desk_printer"
#: Seconds the attendee list waits for CUPS to list its queues (a wedged cupsd must not stall the desk).
DESK_CUPS_TIMEOUT = 2.0
EVENT_FIELDS = ("name", "slug", "venue", "timezone", "starts_at", "ends_at", "public_url", "round_minutes",
                "retention_days", "meeting_points", "tags", "groups", "group_rule")
ATTENDEE_FIELDS = ("first_name", "last_name", "email", "phone", "website", "company", "title", "pronouns", "ticket_ref",
                   "ticket_type")


@bp.before_request
@login_required
def _organizers_only():
    """Every admin page needs an organizer login."""


def _form(keys) -> dict:
    return {k: request.form.get(k, "") for k in keys if k in request.form}


@bp.get("/")
def home():
    """The organizer's start page: all events with their counts."""
    session = db.session
    counts = dict(session.execute(select(Attendee.event_id, func.count(Attendee.id))
                                  .where(Attendee.erased_at.is_(None)).group_by(Attendee.event_id)).all())
    here = dict(session.execute(select(Attendee.event_id, func.count(Attendee.id))
                                .where(Attendee.checked_in_at.is_not(None)).group_by(Attendee.event_id)).all())
    events = session.scalars(select(Event).order_by(Event.starts_at.desc().nulls_last(), Event.id.desc())).all()
    return render_template("admin/home.html", events=events, counts=counts, here=here)


@bp.route("/events/new", methods=["GET", "POST"])
def event_new():
    """Create an event."""
    values = _form(EVENT_FIELDS)
    if request.method == "POST":
        session = db.session
        try:
            fields = dict(values)
            event = create_event(session, name=fields.pop("name", ""), slug=fields.pop("slug", "") or None,
                                 **fields)
        except DomainError as exc:
            return render_template("admin/event_form.html", event=None, values=values, error=exc), exc.status
        flash(f"Event “{event.name}” created.", "success")
        return redirect(url_for("admin.event", slug=event.slug))
    return render_template("admin/event_form.html", event=None, values=values, error=None)


@bp.get("/events/<slug>")
def event(slug: str):
    """An event's overview."""
    session = db.session
    event = get_event(session, slug)
    stats = {
        "attendees": session.scalar(select(func.count(Attendee.id)).where(
            Attendee.event_id == event.id, Attendee.erased_at.is_(None))) or 0,
        "checked_in": session.scalar(select(func.count(Attendee.id)).where(
            Attendee.event_id == event.id, Attendee.checked_in_at.is_not(None))) or 0,
    }
    mail = {"counts": mailing_counts(session, event), "configured": bool(current_app.config.get("SMTP_HOST"))}
    return render_template("admin/event.html", event=event, stats=stats, mail=mail, **public_url_help(event))


@bp.get("/events/<slug>/ready")
def ready(slug: str):
    """Ready for doors: every check of kiosk.admin.readiness for this event, and a test QR to scan with a phone."""
    session = db.session
    event = get_event(session, slug)
    result = check_readiness(session, event, serving=True)
    test_url = result.public_url + PHONE_CHECK_PATH
    return render_template("admin/ready.html", event=event, ready=result, test_url=test_url, now=utcnow(),
                           test_qr=qr_svg(test_url, _("Test QR code: scan it with a phone on the venue network")))


@bp.route("/events/<slug>/edit", methods=["GET", "POST"])
def event_edit(slug: str):
    """Edit an event's details and tag taxonomy."""
    session = db.session
    event = get_event(session, slug)
    if request.method == "POST":
        values = _form(EVENT_FIELDS)
        values.pop("slug", None)  # URLs printed on badges and screens depend on it
        try:
            update_event(session, event, **values)
        except DomainError as exc:
            return render_template("admin/event_form.html", event=event, values=values, error=exc), exc.status
        flash("Event saved.", "success")
        return redirect(url_for("admin.event", slug=event.slug))
    values = {"name": event.name, "venue": event.venue, "timezone": event.timezone,
              "starts_at": _local_input(event, event.starts_at), "ends_at": _local_input(event, event.ends_at),
              "public_url": event.public_url or "", "round_minutes": event.round_minutes,
              "retention_days": event.retention_days,
              "meeting_points": "\n".join(event.meeting_points or []),
              "tags": "\n".join(t.label for t in event.tags),
              "groups": "\n".join(g.label for g in event.groups), "group_rule": group_rule(event)}
    return render_template("admin/event_form.html", event=event, values=values, error=None)


def _local_input(event: Event, value) -> str:
    """A stored time as a datetime-local form value on the venue's clock."""
    from zoneinfo import ZoneInfo
    return value.astimezone(ZoneInfo(event.timezone or "UTC")).strftime("%Y-%m-%dT%H:%M") if value else ""


@bp.get("/events/<slug>/attendees")
def attendees(slug: str):
    """Search and list an event's attendees; the desk checks people in and prints their badges from here."""
    session = db.session
    return _attendee_list(session, get_event(session, slug))


def _list_state() -> dict:
    """The attendee list's search, arrival filter and page, as its links and forms carry them along."""
    arrived = request.args.get("arrived", "")
    state = {"q": request.args.get("q", "")[:100], "arrived": arrived if arrived in ARRIVED else "",
             "page": max(1, request.args.get("page", 1, type=int))}
    return {k: v for k, v in state.items() if v and v != 1}


def _attendee_list(session, event: Event, done: dict | None = None):
    state = _list_state()
    page = state.get("page", 1)
    rows, total = search_attendees(session, event, state.get("q", ""), limit=PAGE_SIZE,
                                   offset=(page - 1) * PAGE_SIZE, arrived=ARRIVED.get(state.get("arrived", "")))
    printers, printer_error = desk_printers()
    return render_template("admin/attendees.html", event=event, attendees=rows, total=total,
                           query=state.get("q", ""), arrived=state.get("arrived", ""), state=state, page=page,
                           pages=max(1, -(-total // PAGE_SIZE)), counts=arrival_counts(session, event),
                           badges=badge_states(session, [a.id for a in rows]), printers=printers,
                           printer_error=printer_error, desk_printer=desk_printer(printers), done=done)


def arrival_counts(session, event: Event) -> dict:
    """How many attendees there are, how many arrived and how many not yet (for the filter's tabs)."""
    everyone, here = session.execute(select(func.count(Attendee.id), func.count(Attendee.checked_in_at)).where(
        Attendee.event_id == event.id, Attendee.erased_at.is_(None))).one()
    return {"": everyone, "yes": here, "no": everyone - here}


def desk_printers() -> tuple[list, str | None]:
    """The CUPS queues the desk can print on (asked over IPP with a short timeout), or why there are none."""
    try:
        return list_printers(timeout=DESK_CUPS_TIMEOUT), None
    except PrintError as exc:
        return [], str(exc)


def desk_printer(printers: list) -> str | None:
    """The queue this browser's desk prints on: chosen here, else GIVETAKE_PRINTER, else the only one there is."""
    chosen = flask_session.get(DESK_PRINTER)
    if chosen:
        return chosen
    if current_app.config.get("PRINTER"):
        return current_app.config["PRINTER"]
    return printers[0].name if len(printers) == 1 else None


@bp.post("/events/<slug>/desk-printer")
def desk_printer_choose(slug: str):
    """Choose the printer this desk's badges go to (remembered in this browser's session)."""
    event = get_event(db.session, slug)
    flask_session[DESK_PRINTER] = request.form.get("printer", "").strip()[:127] or None
    if flask_session[DESK_PRINTER]:
        flash(_("Desk badges now print on %(printer)s.", printer=flask_session[DESK_PRINTER]), "success")
    return redirect(url_for("admin.attendees", slug=event.slug, **_list_state()))


@bp.post("/events/<slug>/attendees/<int:attendee_id>/desk")
def desk_action(slug: str, attendee_id: int):
    """At the desk: check someone in (their badge goes to the desk printer) or print or reprint their badge."""
    session = db.session
    event = get_event(session, slug)
    attendee = load_attendee(session, event, attendee_id)
    action = request.form.get("action", "")
    printer = desk_printer(desk_printers()[0]) if action in DESK_ACTIONS else None
    try:
        if action == "checkin":
            # A badge printed before doors (a batch) waits in the box: checking in prints no second one.
            badge = badge_states(session, [attendee.id])[attendee.id]
            wanted = bool(printer) and not badge.printed and badge.pending is None
            result = check_in(session, event, attendee, print_badge=wanted, printers=[printer] if wanted else None)
            done = {"attendee": attendee, "job": result.print_job, "badge": badge, "phone_qr": personal_qr_svg(
                personal_url(result.personal_token, event))}
            return _attendee_list(session, event, done=done)
        if action not in DESK_ACTIONS:
            raise ValidationFailed(_("Unknown action."))
        if not printer:
            raise ValidationFailed(_("Choose the desk printer first, or download the badge (PDF)."))
        job = print_badge(session, attendee, [printer], reprint=action == "reprint")
    except DomainError as exc:
        discard()
        flash(exc.message, "info" if isinstance(exc, BadgeOnItsWay) else "error")
        return redirect(url_for("admin.attendees", slug=slug, **_list_state()))
    flash(_("%(name)s's badge is on its way to %(printer)s (job %(job)d).", name=attendee.full_name, printer=printer,
            job=job.id), "success")
    return redirect(url_for("admin.attendees", slug=slug, **_list_state()))


def _attendee_form(event: Event, attendee: Attendee | None, values: dict, error=None, status: int = 200,
                   phone_qr=None):
    # Their pre-event link (made on first view; the same link every time until replaced or erased).
    prepare = link_url(attendee, event) if attendee is not None and attendee.erased_at is None else None
    return render_template("admin/attendee_form.html", event=event, attendee=attendee, values=values,
                           error=error, shareable=SHAREABLE, tags=[t.label for t in event.tags],
                           groups=[g.label for g in event.groups], phone_qr=phone_qr, prepare_link=prepare,
                           prepare_expires=link_expires_at(event)), status


def _attendee_values(attendee: Attendee) -> dict:
    values = {k: getattr(attendee, k) or "" for k in ATTENDEE_FIELDS}
    values["group"] = group_label(attendee.event, attendee)
    values["consent_screen"] = attendee.consent_screen
    values["consent_share"] = attendee.consent_share or []
    for kind in CardKind:
        values[kind.value] = items(attendee, kind)
    return values


def _posted_attendee_values(event: Event) -> dict:
    values = _form(ATTENDEE_FIELDS)
    values["group"] = request.form.get("group", "")
    values["consent_screen"] = bool(request.form.get("consent_screen"))
    values["consent_share"] = request.form.getlist("consent_share")
    tags = [t.label for t in event.tags]
    for kind in CardKind:
        values[kind.value] = items_from_form(request.form, kind, MAX_CARDS_PER_KIND, tags)
    return values


def _save_attendee(session, event: Event, attendee: Attendee | None, values: dict) -> Attendee:
    fields = {k: v for k, v in values.items() if k not in ("offer", "need", "group")}
    if attendee is None:
        attendee = create_attendee(session, event, source="admin", **fields)
    else:
        update_attendee(session, attendee, **fields)
    set_group(session, event, attendee, values.get("group", ""))
    # The matcher looks again when the attendee is here (an organizer's edit counts like the attendee's own).
    return update_cards(session, attendee, offers=values["offer"], needs=values["need"])


@bp.route("/events/<slug>/attendees/new", methods=["GET", "POST"])
def attendee_new(slug: str):
    """Add an attendee by hand."""
    session = db.session
    event = get_event(session, slug)
    if request.method == "POST":
        values = _posted_attendee_values(event)
        try:
            attendee = _save_attendee(session, event, None, values)
        except DomainError as exc:
            return _attendee_form(event, None, values, exc, exc.status)
        flash(f"{attendee.full_name} added.", "success")
        return redirect(url_for("admin.attendees", slug=slug))
    return _attendee_form(event, None, {"offer": [], "need": [], "consent_share": []})


@bp.route("/events/<slug>/attendees/<int:attendee_id>", methods=["GET", "POST"])
def attendee_edit(slug: str, attendee_id: int):
    """Edit an attendee's details and cards."""
    session = db.session
    event = get_event(session, slug)
    attendee = get_attendee(session, event, attendee_id)
    if request.method == "POST":
        values = _posted_attendee_values(event)
        try:
            _save_attendee(session, event, attendee, values)
        except DomainError as exc:
            return _attendee_form(event, attendee, values, exc, exc.status)
        flash(f"{attendee.full_name} saved.", "success")
        return redirect(url_for("admin.attendees", slug=slug))
    return _attendee_form(event, attendee, _attendee_values(attendee))


@bp.post("/events/<slug>/attendees/<int:attendee_id>/phone-code")
def attendee_phone_code(slug: str, attendee_id: int):
    """At the desk: an organizer who checked who they are gives someone a new phone code (shown once, as a QR)."""
    session = db.session
    event = get_event(session, slug)
    attendee = get_attendee(session, event, attendee_id)
    token = issue_personal_token(attendee)
    revalidate_after_commit(session)  # phones opened with the old code are signed out
    return _attendee_form(event, attendee, _attendee_values(attendee), phone_qr=personal_qr_svg(
        personal_url(token, event)))


@bp.post("/events/<slug>/attendees/<int:attendee_id>/prepare-link")
def attendee_new_prepare_link(slug: str, attendee_id: int):
    """Replace someone's pre-event link (it was forwarded to the wrong person): the old one stops working."""
    session = db.session
    event = get_event(session, slug)
    attendee = get_attendee(session, event, attendee_id)
    issue_link(attendee, new=True)
    flash("A new pre-event link was made; the old one no longer works.", "success")
    return redirect(url_for("admin.attendee_edit", slug=slug, attendee_id=attendee_id) + "#prepare")


@bp.get("/events/<slug>/prepare-links.csv")
def prepare_links_csv(slug: str):
    """Download everyone's pre-event link as CSV (for a ticket shop or a mail merge); makes missing links."""
    session = db.session
    event = get_event(session, slug)
    payload = csv_export.links_csv(event_links(session, event))
    return Response(payload, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{event.slug}-pre-event-links.csv"'})


@bp.post("/events/<slug>/attendees/<int:attendee_id>/erase")
def attendee_erase(slug: str, attendee_id: int):
    """Erase an attendee's personal data (asked to confirm by typing ERASE)."""
    session = db.session
    event = get_event(session, slug)
    attendee = get_attendee(session, event, attendee_id)
    if request.form.get("confirm", "").strip().upper() != "ERASE":
        flash("Type ERASE to confirm; nothing was erased.", "error")
        return redirect(url_for("admin.attendee_edit", slug=slug, attendee_id=attendee_id))
    erase_attendee(session, attendee)
    revalidate_after_commit(session)  # their open phone sockets are closed
    flash("The attendee's personal data was erased; counts keep them as an anonymous attendee.", "success")
    return redirect(url_for("admin.attendees", slug=slug))


@bp.route("/events/<slug>/import", methods=["GET", "POST"])
def import_csv(slug: str):
    """Upload an attendee CSV (generic, Eventbrite or pretix): all rows or none."""
    session = db.session
    event = get_event(session, slug)
    if request.method == "POST":
        upload = request.files.get("file")
        fmt = request.form.get("format", "auto")
        if upload is None or not upload.filename:
            flash("Choose a CSV file to import.", "error")
            return render_template("admin/import.html", event=event, formats=csv_import.FORMATS, error=None), 400
        try:
            report = csv_import.import_attendees(session, event, upload.read(), None if fmt == "auto" else fmt)
        except DomainError as exc:
            return render_template("admin/import.html", event=event, formats=csv_import.FORMATS,
                                   error=exc), exc.status
        flash(f"Import done: {report.summary()}.", "success")
        return redirect(url_for("admin.attendees", slug=slug))
    return render_template("admin/import.html", event=event, formats=csv_import.FORMATS, error=None)


@bp.get("/events/<slug>/export.csv")
def export_csv(slug: str):
    """Download attendees and their cards as CSV."""
    with db.database.reader() as session:
        event = get_event(session, slug)
        payload = csv_export.export_csv(session, event)
    return Response(payload, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{event.slug}-attendees.csv"'})


@bp.app_template_filter("code_spans")
def _code_spans(value: str) -> Markup:
    """`commands` in a message shown as code (the rest escaped)."""
    parts = str(escape(value)).split("`")
    return Markup("".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts)))


@bp.app_context_processor
def _organizer():
    return {"organizer": current_user if current_user.is_authenticated else None}
