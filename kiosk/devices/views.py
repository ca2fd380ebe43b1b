"""Device pages: organizers add and unpair devices; a tablet or TV pairs itself with a short code."""
from __future__ import annotations

from flask import (flash, make_response, redirect, render_template, request, session as flask_session,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from .. import idempotency
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from ..extensions import limiter
from ..leads.service import sponsors_of
from ..models import Device, DeviceKind, Event, utcnow
from ..personal import public_base, public_url_help
from ..realtime.sockets import revalidate_after_commit
from ..transactions import Blueprint, discard
from .service import (COOKIE, create_device, current_device, new_pairing_code, note_phone_check, pair, revoke,
                      set_device_cookie)

bp = Blueprint("devices", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _landing(device: Device) -> str:
    """Where a freshly paired device goes: a screen to its event's live screen, a sponsor's scanner to its leads,
    a kiosk to the start page."""
    if device.kind == DeviceKind.screen:
        return url_for("screen.show", slug=db.session.get(Event, device.event_id).slug)
    if device.kind == DeviceKind.scanner:
        return url_for("leads.page")
    return url_for("kiosk.start")


@bp.get("/admin/events/<slug>/devices")
@login_required
def devices(slug: str):
    """An event's kiosks, screens and scanners (with their sponsor): pairing codes, last seen, printers."""
    session = db.session
    event = get_event(session, slug)
    rows = session.scalars(select(Device).where(Device.event_id == event.id).order_by(Device.kind, Device.id)).all()
    return render_template("admin/devices.html", event=event, devices=rows, kinds=list(DeviceKind), now=utcnow(),
                           sponsors={s.id: s.name for s in sponsors_of(session, event)}, public=public_base(event),
                           **public_url_help(event))


@bp.post("/admin/events/<slug>/devices")
@login_required
def device_new(slug: str):
    """Add a device and show its pairing code."""
    session = db.session
    event = get_event(session, slug)
    try:
        device = create_device(session, event, request.form.get("kind", "kiosk"), request.form.get("name", ""))
    except (DomainError, ValueError) as exc:
        discard()
        flash(getattr(exc, "message", str(exc)), "error")
        return redirect(url_for("devices.devices", slug=slug))
    flash(f"{device.name} added: pair it with the code {device.pairing_code}.", "success")
    return redirect(url_for("devices.devices", slug=slug))


@bp.post("/admin/events/<slug>/devices/<int:device_id>/<action>")
@login_required
def device_action(slug: str, device_id: int, action: str):
    """Re-pair (new code), unpair, or use this very browser as the device."""
    session = db.session
    event = get_event(session, slug)
    device = session.get(Device, device_id)
    if device is None or device.event_id != event.id:
        flash("There is no such device.", "error")
        return redirect(url_for("devices.devices", slug=slug))
    if action == "repair":
        code = new_pairing_code(device)
        flash(f"New pairing code for {device.name}: {code}. The old pairing stopped working.", "success")
    elif action == "revoke":
        revoke(device)
        revalidate_after_commit(session)  # its open screen socket is closed, not just its next page
        flash(f"{device.name} is unpaired.", "success")
    elif action == "this-browser":
        new_pairing_code(device)
        device, token = pair(session, device.pairing_code)
        # A tablet or TV is public: the organizer who paired it here is logged out of this browser.
        _leave_as_device()
        response = make_response(redirect(_landing(device)))
        set_device_cookie(response, token)
        return response
    return redirect(url_for("devices.devices", slug=slug))


def _leave_as_device() -> None:
    """This browser becomes a device: no organizer stays logged in on it (session and remember-me cookie)."""
    if current_user.is_authenticated:
        flask_session.clear()
        logout_user()  # after the clear: it leaves the note that makes Flask-Login delete the remember-me cookie


def _counts_as_a_guess(response) -> bool:
    """A pairing attempt counts toward the limit once: a retry of the same code with the same form key (its
    answer was lost on bad Wi-Fi) is not a second guess; the same key with another code is."""
    return response.status_code != 429 and idempotency.first_attempt(request.form.get("code", "").strip().upper())


@bp.route("/pair", methods=["GET", "POST"])
@bp.get("/pair/<code>")
@limiter.limit("10 per minute", methods=["POST"], deduct_when=_counts_as_a_guess)
@idempotency.replayable(idempotency.browser_scope)
def pair_device(code: str = ""):
    """The pairing screen a new tablet or TV shows: type (or scan) the code from admin."""
    if request.method == "POST":
        session = db.session
        try:
            device, token = pair(session, request.form.get("code", ""))
            _leave_as_device()
        except DomainError as exc:
            discard()
            return render_template("kiosk/pair.html", code=request.form.get("code", ""), error=exc.message), \
                exc.status
        response = make_response(redirect(_landing(device)))
        set_device_cookie(response, token)
        return response
    return render_template("kiosk/pair.html", code=code, error=None)


@bp.post("/unpair")
@login_required
def unpair_this_browser():
    """Forget the pairing stored in this browser (organizer only: kiosk mode has no way out otherwise)."""
    response = make_response(redirect(url_for("admin.home")))
    response.delete_cookie(COOKIE)
    flash(_("This browser is no longer paired."), "info")
    return response


@bp.get("/devices/ping")
def ping():
    """A paired kiosk or screen says it is still there (its page calls this every 30 s): last seen, for the
    ready panel. Written at most once a minute per device; an unpaired browser is simply not counted."""
    current_device(db.session)
    return "", 204


@bp.get("/phone-check")
def phone_check():
    """What the ready panel's test QR opens on a phone: this phone reaches the server (and the panel shows it)."""
    note_phone_check()
    return render_template("me/phone_check.html", event=None, url=request.host_url.rstrip("/"))
