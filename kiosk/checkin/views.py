"""The self-service kiosk on a shared tablet: find yourself (or register), your badge, your two cards, consent, done.

Pages are server-rendered forms (they work without JavaScript); small scripts add live name search, the ticket
camera, the idle reset and the countdown on the last screen. The attendee being served is kept in the session
for a few minutes only, and never in a URL.
"""
from __future__ import annotations

import time

from flask import (abort, current_app, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import idempotency
from ..attendees.service import SHAREABLE, choose_consents, issue_personal_token, update_attendee
from ..badges.service import queue_badge_print
from ..cards.service import MAX_CARD_TEXT, both_filled, items, items_from_form, padded, update_cards
from ..db import db
from ..devices.service import current_device
from ..errors import DomainError, ValidationFailed
from ..extensions import limiter
from ..models import CardKind, DeviceKind, Event, PrintJob
from ..personal import personal_qr_svg, personal_url
from ..realtime.sockets import revalidate_after_commit
from ..transactions import Blueprint
from . import service

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)

#: Seconds a half-finished check-in survives without activity (privacy on a shared tablet).
STATE_TTL = 300
#: Items shown on each card at the kiosk (the API and admin allow up to MAX_CARDS_PER_KIND).
KIOSK_CARD_ITEMS = 3

OFFER_EXAMPLES = [
    _l("An intro to someone in my network"), _l("Feedback on your pitch or slides"),
    _l("How we solved a hard problem at work"), _l("Half an hour of pair programming"),
    _l("Tips from a mistake I made so you don't"), _l("A coffee and an honest opinion"),
]
NEED_EXAMPLES = [
    _l("Someone who has done this before"), _l("A first customer or beta tester"), _l("A co-founder or collaborator"),
    _l("Advice on hiring my first employee"), _l("Feedback on an idea"), _l("Someone to practise a talk with"),
]


def _this_kiosk() -> str | None:
    """Whose retries a form answer replays (kiosk.idempotency): this kiosk's, never another device's."""
    return idempotency.actor_scope(device=g.get("gt_device"))


def _device_key() -> str:
    device = g.get("gt_device")
    return f"device:{device.id}" if device else f"ip:{request.remote_addr}"


@bp.before_request
def _paired_kiosks_only():
    """Unpaired browsers see the pairing screen and never any attendee data."""
    device = current_device(db.session)
    if device is None or device.kind != DeviceKind.kiosk:
        if request.endpoint == "kiosk.lookup" or request.is_json:
            return jsonify({"code": "not_paired", "message": _("This tablet is not paired as a kiosk.")}), 403
        return redirect(url_for("devices.pair_device"))
    g.event = db.session.get(Event, device.event_id)
    lang = request.args.get("lang")
    if lang in current_app.config.get("LANGUAGES", ("en", "de")):
        session["lang"] = lang


@bp.app_template_global()
def kiosk_languages():
    return [("en", "English"), ("de", "Deutsch")]


def _serving():
    """The attendee this kiosk is serving now, or None when there is none or it went stale."""
    state = session.get("kiosk")
    if not state or time.time() - state.get("at", 0) > STATE_TTL:
        session.pop("kiosk", None)
        return None
    try:
        attendee = service.load_attendee(db.session, g.event, int(state["id"]))
    except DomainError:
        session.pop("kiosk", None)
        return None
    state["at"] = time.time()
    session["kiosk"] = state
    return attendee


def _serve(attendee, *, editing: bool = False, proof: bool = False, review: bool = False,
           phone: bool = False) -> None:
    """Remember whom this kiosk serves; `editing` when they were checked in already and came back to edit;
    `proof` when they showed their ticket here (scanned it), not just typed a name or showed a badge; `review`
    when they only check what they gave before on the confirm screen (each edit returns there); `phone` when a
    walk-in types their cards on their own phone after checking in."""
    session.pop("kiosk_done", None)
    session["kiosk"] = {"id": attendee.id, "at": time.time(), "editing": editing, "proof": proof,
                        "review": review, "phone": phone}


def _first_step(attendee):
    """Where a person not checked in yet starts: the confirm screen when both their cards are filled (at home,
    from the ticket shop), else their badge, then the cards one by one."""
    if both_filled(attendee):
        _serve(attendee, review=True)
        return redirect(url_for("kiosk.confirm"))
    _serve(attendee)
    return redirect(url_for("kiosk.details"))


def _after_edit(next_endpoint: str):
    """Where a step's Continue goes: back to the confirm screen when the person came from there."""
    return redirect(url_for("kiosk.confirm" if (session.get("kiosk") or {}).get("review") else next_endpoint))


def _editing() -> bool:
    return bool((session.get("kiosk") or {}).get("editing"))


def _has_proof() -> bool:
    return bool((session.get("kiosk") or {}).get("proof"))


def _require_serving():
    """The attendee being served. Someone already checked in is shown or changed nothing here (their details,
    cards, consents, a new phone code, a reprint) until they proved it is them: a typed name is not proof, their
    ticket scanned here is (or an organizer at the desk); a badge is not: it is worn in public."""
    attendee = _serving()
    if attendee is None:
        abort(redirect(url_for("kiosk.start", expired=1)))
    if attendee.checked_in_at is not None and not _has_proof() and request.endpoint != "kiosk.already":
        # Checked in meanwhile by another kiosk (they were checking in here), or by name only (editing).
        abort(redirect(url_for("kiosk.already", raced=None if _editing() else 1)))
    return attendee


def _render(template: str, status: int = 200, **context):
    return render_template(f"kiosk/{template}", event=g.event, step=template.split(".")[0], **context), status


@bp.get("/")
@limiter.limit("60 per minute", key_func=_device_key, exempt_when=lambda: not request.args.get("q"))
def start():
    """Find yourself: type your name, scan your ticket, or register as a walk-in."""
    session.pop("kiosk", None)
    session.pop("kiosk_done", None)
    query = request.args.get("q", "").strip()[:80]
    results, error = [], None
    if query:
        try:
            results = service.kiosk_choices(g.gt_device, service.lookup_by_name(db.session, g.event, query))
        except ValidationFailed as exc:
            error = exc.message
    return _render("start.html", query=query, results=results, error=error,
                   expired=bool(request.args.get("expired")))


@bp.get("/lookup")
@limiter.limit("60 per minute", key_func=_device_key)
def lookup():
    """Live name search: first name, last initial and company only, a handful at most."""
    try:
        people = service.lookup_by_name(db.session, g.event, request.args.get("q", "")[:80])
    except ValidationFailed as exc:
        return jsonify({"code": exc.code, "message": exc.message, "results": []}), 200
    return jsonify({"results": service.kiosk_choices(g.gt_device, people)})


@bp.post("/select")
@limiter.limit("30 per minute", key_func=_device_key)
@idempotency.replayable(_this_kiosk)
def select_attendee():
    """Choose yourself from the search results (a choice this kiosk's own lookup made)."""
    attendee = service.chosen_attendee(db.session, g.event, g.gt_device, request.form.get("choice", ""))
    if attendee.checked_in_at is not None:
        _serve(attendee, editing=True)
        return redirect(url_for("kiosk.already"))
    return _first_step(attendee)


@bp.post("/ticket")
@limiter.limit("30 per minute", key_func=_device_key)
@idempotency.replayable(_this_kiosk)
def ticket():
    """A scanned ticket QR (camera or USB scanner): jump straight to that attendee."""
    try:
        attendee, proof = service.lookup_by_code(db.session, g.event, request.form.get("code", ""))
    except DomainError as exc:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(exc.to_dict()), exc.status
        return _render("start.html", status=exc.status, query="", results=[], error=exc.message, expired=False)
    # Their own ticket is proof that it is them (for a person already checked in); a badge is not (it is public).
    if attendee.checked_in_at is not None:
        _serve(attendee, editing=True, proof=proof)
        target = url_for("kiosk.already")
    else:
        target = _first_step(attendee).location
    if request.accept_mimetypes.best == "application/json":
        return jsonify({"redirect": target})
    return redirect(target)


@bp.route("/walk-in", methods=["GET", "POST"])
@limiter.limit("10 per minute", key_func=_device_key, methods=["POST"])
@idempotency.replayable(_this_kiosk)
def walkin():
    """Register without a ticket."""
    values = {k: request.form.get(k, "") for k in ("first_name", "last_name", "email", "company", "title")}
    if request.method == "POST":
        try:
            attendee = service.register_walkin(db.session, g.event, values)
        except DomainError as exc:
            return _render("walkin.html", status=exc.status, values=values, error=exc)
        if request.form.get("then") == "phone":
            # "Type my cards on my phone": their badge and consents on one screen, then the phone's QR.
            _serve(attendee, review=True, phone=True)
            return redirect(url_for("kiosk.confirm"))
        _serve(attendee)
        return redirect(url_for("kiosk.details"))  # everyone sees their badge before it prints
    return _render("walkin.html", values=values, error=None)


@bp.route("/details", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def details():
    """Check your badge and correct your details."""
    attendee = _require_serving()
    if request.method == "POST":
        fields = {k: request.form.get(k, "") for k in ("first_name", "last_name", "company", "title", "pronouns")}
        try:
            update_attendee(db.session, attendee, **fields)
        except DomainError as exc:
            return _render("details.html", status=exc.status, attendee=attendee, values=fields, error=exc)
        return _after_edit("kiosk.offer")
    values = {k: getattr(attendee, k) for k in ("first_name", "last_name", "company", "title", "pronouns")}
    return _render("details.html", attendee=attendee, values=values, error=None)


def _card_step(kind: CardKind, template: str, next_endpoint: str, examples: list[str]):
    attendee = _require_serving()
    tags = [t.label for t in g.event.tags]
    if request.method == "POST":
        items = items_from_form(request.form, kind, KIOSK_CARD_ITEMS, tags)
        try:
            update_cards(db.session, attendee, **{f"{kind.value}s": items})
        except DomainError as exc:
            return _render(template, status=exc.status, attendee=attendee, kind=kind.value, cards=items, tags=tags,
                           examples=examples, error=exc, max_length=MAX_CARD_TEXT)
        return _after_edit(next_endpoint)
    return _render(template, attendee=attendee, kind=kind.value, cards=padded(attendee, kind, KIOSK_CARD_ITEMS),
                   tags=tags, examples=examples, error=None, max_length=MAX_CARD_TEXT)


@bp.route("/offer", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def offer():
    """Card one: "I can offer" (asked first: everyone has something to give)."""
    return _card_step(CardKind.offer, "offer.html", "kiosk.need", OFFER_EXAMPLES)


@bp.route("/need", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def need():
    """Card two: "I'm looking for"."""
    return _card_step(CardKind.need, "need.html", "kiosk.consent", NEED_EXAMPLES)


@bp.route("/consent", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def consent():
    """Choose what the screen shows and what a badge scan shares, then check in and print."""
    attendee = _require_serving()
    if request.method == "POST":
        return _check_in_or_save(attendee, "consent.html")
    return _render("consent.html", attendee=attendee, shareable=SHAREABLE, error=None, editing=_editing(),
                   chosen=attendee.consent_chosen_at is not None)


@bp.route("/confirm", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def confirm():
    """One screen to check what they gave before (at home, in the ticket shop): the badge, both cards in short,
    the consents; "Check me in", or an edit link per part. A walk-in typing their cards on the phone gets it too."""
    attendee = _require_serving()
    if request.method == "POST":
        return _check_in_or_save(attendee, "confirm.html")
    return _render("confirm.html", **_confirm_context(attendee))


def _confirm_context(attendee) -> dict:
    state = session.get("kiosk") or {}
    return {"attendee": attendee, "offers": items(attendee, CardKind.offer), "needs": items(attendee, CardKind.need),
            "shareable": SHAREABLE, "error": None, "editing": _editing(), "phone": bool(state.get("phone")),
            "chosen": attendee.consent_chosen_at is not None}


def _check_in_or_save(attendee, template: str):
    """The consents as posted, then the check-in (or, for someone already here editing, only a save)."""
    consent = {"consent_screen": bool(request.form.get("consent_screen")),
               "consent_share": request.form.getlist("consent_share")}
    editing = _editing()
    phone = bool((session.get("kiosk") or {}).get("phone"))
    try:
        if editing:
            # Someone already here came back to edit their cards: save, no second check-in, no badge.
            # (Without the flag, a checked-in attendee here means another kiosk won the race: see below.)
            choose_consents(db.session, attendee, **consent)
        else:
            result = service.check_in(db.session, g.event, attendee, device=g.gt_device, consent=consent,
                                      print_badge=True)
    except service.CheckInConflict:
        return redirect(url_for("kiosk.already", raced=1))
    except DomainError as exc:
        context = _confirm_context(attendee) if template == "confirm.html" else {
            "attendee": attendee, "shareable": SHAREABLE, "editing": editing,
            "chosen": attendee.consent_chosen_at is not None}
        return _render(template, status=exc.status, **{**context, "error": exc})
    if editing:
        return _done(attendee, saved=True)
    return _done(attendee, result.personal_token, result.print_job, phone=phone)


def _done(attendee, token: str | None = None, job=None, *, saved: bool = False, phone: bool = False):
    """Finish serving: on to the done screen (a redirect, so a retried or reloaded post does nothing twice).

    What it shows stays in the signed session until the next person starts (the start page, the next `_serve`)
    or it goes stale; the personal token is in it only for those seconds, on the tablet that shows it anyway."""
    session.pop("kiosk", None)
    session["kiosk_done"] = {"id": attendee.id, "token": token, "job": job.id if job is not None else None,
                             "saved": saved, "phone": phone, "at": time.time()}
    return redirect(url_for("kiosk.done"))


@bp.get("/done")
def done():
    """The last screen: you're in (or saved), the personal QR for the phone, the badge's print status."""
    shown = session.get("kiosk_done")
    if not shown or time.time() - shown.get("at", 0) > current_app.config["KIOSK_DONE_SECONDS"] + STATE_TTL:
        session.pop("kiosk_done", None)
        return redirect(url_for("kiosk.start"))
    try:
        attendee = service.load_attendee(db.session, g.event, int(shown["id"]), with_cards=False)
    except DomainError:
        session.pop("kiosk_done", None)
        return redirect(url_for("kiosk.start"))
    url = personal_url(shown["token"]) if shown.get("token") else None
    job = db.session.get(PrintJob, shown["job"]) if shown.get("job") else None
    return _render("done.html", attendee=attendee, personal_url=url, qr_svg=personal_qr_svg(url) if url else None,
                   job=job, saved=shown.get("saved", False), phone=shown.get("phone", False),
                   seconds=current_app.config["KIOSK_DONE_SECONDS"])


@bp.route("/already", methods=["GET", "POST"])
@idempotency.replayable(_this_kiosk)
def already():
    """Already checked in (here or at another kiosk): reprint, get the phone QR again, or edit the cards."""
    attendee = _require_serving()
    proof = _has_proof()
    _serve(attendee, editing=True, proof=proof)  # from here the card steps only save: no second check-in
    if request.method == "POST":
        if not proof:
            abort(403, _("Scan your ticket first, so we know it is you."))
        action = request.form.get("action")
        if action == "qr":
            token = issue_personal_token(attendee)  # the old phone link stops working: tokens are shown once
            revalidate_after_commit(db.session)  # and the phones opened with it are signed out, sockets too
            return _done(attendee, token)
        if action == "reprint":
            return _done(attendee, None, queue_badge_print(db.session, attendee, g.gt_device))
    return _render("already.html", attendee=attendee, raced=bool(request.args.get("raced")), proof=proof)


@bp.post("/reset")
def reset():
    """Start over (the idle timer and the "Start over" button): forget who was being served."""
    session.pop("kiosk", None)
    session.pop("kiosk_done", None)
    return redirect(url_for("kiosk.start"))
