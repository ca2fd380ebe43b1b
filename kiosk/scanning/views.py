"""Badge pages: `/b/<token>` is what a phone's own camera app opens from a badge QR; the phone page's forms for a
typed badge code, connecting back, notes and the follow-up flag (for browsers without JS; me.js uses the API).

On a plain-http venue network the browser gives a page no camera, so the camera app opening `/b/<token>` is how
most people scan: signed out it shows the badge's public card and how to connect; signed in (the phone opened its
personal link before) it is one tap on Connect.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session as flask_session, url_for
from flask_babel import gettext as _

from .. import idempotency
from ..badges.service import badge_style
from ..db import db
from ..errors import DomainError
from ..extensions import limiter
from ..me.service import signed_in_attendee
from ..models import Event
from ..transactions import Blueprint, discard
from . import service

bp = Blueprint("scanning", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _attendee_key() -> str:
    """Rate limits per signed-in attendee (several phones behind one venue NAT are not one person)."""
    attendee_id = flask_session.get("attendee_id")
    return f"attendee:{attendee_id}" if isinstance(attendee_id, int) else f"ip:{request.remote_addr}"


def _this_phone() -> str | None:
    """Whose retries a form answer replays (kiosk.idempotency): the signed-in attendee's."""
    return idempotency.actor_scope(attendee=signed_in_attendee(db.session, flask_session))


def _connected(result: service.ScanResult):
    """Back to my page at the new (or existing) contact, saying which it was."""
    flash(_("You are connected with %(name)s.", name=result.other.first_name) if result.created
          else _("You are already connected with %(name)s.", name=result.other.first_name), "success")
    return redirect(url_for("me.home") + f"#contact-{result.contact.id}")


@bp.get("/b/<token>")
@limiter.limit("60 per minute")
@limiter.limit("30 per minute", key_func=_attendee_key)
def badge(token: str):
    """A badge's public card: first name, company, "Ask me about"; Connect for a signed-in attendee."""
    session = db.session
    me = signed_in_attendee(session, flask_session)
    found = service.resolve_badge(session, token)
    if found.state == "garbled":
        return render_template("scanning/badge_problem.html", me=me, title=_("Not a badge code"),
                               message=_("This link is not a Give & Take badge. Check that the whole QR code was "
                                         "scanned, or type the code printed under it on your phone page.")), 404
    if found.state == "unknown":
        return render_template("scanning/badge_problem.html", me=me, title=_("Unknown badge"),
                               message=_("We do not know this badge. It may belong to an event that has ended, "
                                         "or its owner removed their data.")), 404
    if found.state == "replaced":
        return render_template("scanning/badge_problem.html", me=me, title=_("This badge was replaced"),
                               message=_("%(name)s has a new badge now: scan the one they wear.",
                                         name=found.attendee.first_name)), 410
    person = found.attendee
    event = session.get(Event, person.event_id)
    card = service.public_card(person, shows_company="company" in badge_style(event).show)
    state, view = "signed_out", None
    if me is not None:
        if me.event_id != person.event_id:
            state = "other_event"
        elif me.id == person.id:
            state = "own"
        else:
            mine, theirs = service.pair_rows(session, me.id, person.id)
            state = "connected" if mine is not None else "can_connect"
            if mine is not None:
                view = service.contact_view(mine, theirs, me, person)
    return render_template("scanning/badge.html", me=me, event=event, card=card, state=state, view=view,
                           token=token, my_event=session.get(Event, me.event_id) if me is not None else None)


@bp.post("/b/<token>/connect")
@limiter.limit("30 per minute", key_func=_attendee_key)
@idempotency.replayable(_this_phone)
def connect(token: str):
    """One tap from the badge page: the contact is made, both phones hear of it."""
    session = db.session
    me = signed_in_attendee(session, flask_session)
    if me is None:
        return redirect(url_for("scanning.badge", token=token))
    try:
        result = service.scan(session, me, token, nonce=request.form.get("nonce") or None)
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return redirect(url_for("scanning.badge", token=token))
    return _connected(result)


@bp.post("/me/scan")
@limiter.limit("60 per minute")
@limiter.limit("30 per minute", key_func=_attendee_key)
@idempotency.replayable(_this_phone)
def typed_scan():
    """The phone page's typed fallback: the number and code printed under a badge's QR ("#42 K7M-Q2P")."""
    session = db.session
    me = signed_in_attendee(session, flask_session)
    if me is None:
        return redirect(url_for("me.home"))
    try:
        result = service.scan(session, me, request.form.get("code", ""), nonce=request.form.get("nonce") or None)
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return redirect(url_for("me.home") + "#scan")
    return _connected(result)


@bp.post("/me/contacts/<int:contact_id>")
@limiter.limit("60 per minute", key_func=_attendee_key)
@idempotency.replayable(_this_phone)
def contact_form(contact_id: int):
    """Save my note and follow-up flag, or connect back to someone who scanned me."""
    session = db.session
    me = signed_in_attendee(session, flask_session)
    if me is None:
        return redirect(url_for("me.home"))
    try:
        if request.form.get("action") == "connect":
            result = service.connect_back(session, me, contact_id)
            contact_id = result.contact.id
            flash(_("You are connected with %(name)s.", name=result.other.first_name), "success")
        else:
            service.update_contact(session, me, contact_id, note=request.form.get("note", ""),
                                   follow_up=bool(request.form.get("follow_up")))
            flash(_("Saved."), "success")
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
    return redirect(url_for("me.home") + f"#contact-{contact_id}")
