"""Phone pages: `/m/<token>` opens a session from the personal QR, `/me` shows matches, cards and rounds.

The token only ever appears in the first URL: it is checked by hash, the attendee id goes into the signed session,
and the browser is redirected to `/me` at once, so the token leaves the address bar and the history.
"""
from __future__ import annotations

from flask import (flash, jsonify, redirect, render_template, request, session as flask_session,
                   url_for)
from flask_babel import gettext as _
from sqlalchemy import select

from .. import idempotency
from ..attendees.service import SHAREABLE, choose_consents
from ..cards.service import MAX_CARD_TEXT, event_tags, items_from_form, padded, update_cards
from ..db import db
from ..errors import DomainError
from ..extensions import limiter
from ..matching.service import attendee_payload, matches_for, waiting_for_round
from ..models import Attendee, CardKind, Event, utcnow
from ..leads.service import sponsors_who_scanned
from ..scanning.service import contacts_of
from ..transactions import Blueprint, discard
from . import service

bp = Blueprint("me", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)

#: Card items editable on the phone (the kiosk shows three as well).
PHONE_CARD_ITEMS = 3


def _me(session) -> Attendee | None:
    return service.signed_in_attendee(session, flask_session)


def this_phone() -> str | None:
    """Whose retries a form answer replays (kiosk.idempotency): the signed-in attendee's, on any of their phones."""
    return idempotency.actor_scope(attendee=_me(db.session))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("/m/<token>")
@limiter.limit("30 per minute")
def open_personal_link(token: str):
    """The personal QR's link: remember who this phone belongs to, then drop the token from the URL."""
    session = db.session
    service.open_phone_session(flask_session, service.attendee_from_token(session, token))
    return redirect(url_for("me.home"))


@bp.get("/me")
def home():
    """My matches (live), my round, my cards."""
    session = db.session
    attendee = _me(session)
    if attendee is None:
        return render_template("me/signed_out.html"), 401
    event = session.get(Event, attendee.event_id)
    last_seq = event.last_seq or 0  # read first: anything newer than the lists below is replayed
    matches = [attendee_payload(m, attendee, other) for m, other in matches_for(session, attendee)]
    current = service.my_round(session, attendee)
    round_info = None
    if current:
        row, group = current
        people = {a.id: a for a in session.scalars(select(Attendee).where(Attendee.id.in_(group["ids"])))}
        round_info = {"number": row.number, "ends_at": row.ends_at.isoformat() if row.ends_at else "",
                      "meeting_point": group["meeting_point"],
                      "partners": [people[i] for i in group["ids"] if i != attendee.id and i in people]}
    elif (left_out := service.left_out_of_round(session, attendee)) is not None:
        row, why = left_out
        round_info = {"number": row.number, "ends_at": row.ends_at.isoformat() if row.ends_at else "",
                      "meeting_point": "", "partners": [], "left_out": True, "why": why}
    contacts = contacts_of(session, attendee)
    waiting = not matches and waiting_for_round(session, attendee)
    return render_template("me/home.html", me=attendee, event=event, matches=matches, round=round_info,
                           waiting=waiting,
                           contacts=contacts, sponsors=sponsors_who_scanned(session, attendee),
                           last_seq=last_seq, offers=padded(attendee, CardKind.offer, PHONE_CARD_ITEMS),
                           needs=padded(attendee, CardKind.need, PHONE_CARD_ITEMS), max_text=MAX_CARD_TEXT,
                           tags=event_tags(session, attendee), texts=phone_texts(),
                           now_iso=utcnow().isoformat(), shareable=SHAREABLE)


def phone_texts() -> dict:
    """Translated strings me.js needs for matches and rounds that arrive live (placeholders filled in there)."""
    return {
        "give": _("You can help: you offer “%(offer)s”, %(name)s looks for “%(need)s”."),
        "take": _("%(name)s can help you: they offer “%(offer)s”, you look for “%(need)s”."),
        # The starter addressed to this phone (matching.service.opener); the same wording as me/_match.html.
        "opener": {"both": _("Ask %(name)s about %(ask)s; they want to hear about %(tell)s"),
                   "ask": _("Ask %(name)s about %(ask)s"), "tell": _("%(name)s wants to hear about %(tell)s")},
        "accept": _("Accept"), "decline": _("Decline"), "met": _("We met"),
        "status": {"suggested": _("New"), "accepted": _("Accepted"), "declined": _("Declined"),
                   "met": _("You met")},
        "round": _("Round %(n)s"), "left": _("%(t)s left"),
        # Someone a round could not pair (kiosk.rounds.service.store_round): why, and what to do meanwhile.
        "left_out": {
            "group_rule": _("No partner for you this round: the event's groups decide who meets whom, and everyone "
                            "you may meet is already paired. Your matches below are still open: go and find one, "
                            "or wait for the next round."),
            "already_met": _("No partner for you this round: you have already met (or passed on) everyone else who "
                             "is free. Look through your matches below, or wait for the next round."),
            "partner_left": _("Your partner for this round has left. Find one of your matches below, or wait for "
                              "the next round."),
        },
        "over": _("Time is up: say thanks and swap badges!"),
        # Badge scanning and contacts (me.js, static/js/scan.js); the same labels as templates/me/_contact.html.
        "scan": {
            "connected": _("Connected with %(who)s"), "already": _("You are already connected with %(name)s."),
            "scanned_you": _("%(name)s scanned your badge — connect back?"),
            "mutual": _("%(name)s connected back: you swapped contacts."),
            "waiting_one": _("1 scan waiting to be sent"), "waiting": _("%(n)s scans waiting to be sent"),
            "sending": _("Sending…"), "camera_denied": _("The camera is not available. Type the number and code "
                                                         "printed under their QR code instead."),
            "saved": _("Saved"), "not_saved": _("Not saved: we try again when you are back online."),
            "state": {"mutual": _("You swapped contacts"), "mine": _("You scanned their badge"),
                      "theirs": _("Scanned your badge")},
            "ask_me": _("Ask me about"), "offers": _("Offers"), "needs": _("Looks for"),
            "why": _("Why you were matched"),
            "note": _("My private note"), "note_placeholder": _("Only you see this"),
            "follow_up": _("Follow up after the event"), "save": _("Save"), "vcard": _("vCard"),
            "connect_back": _("Connect back"), "light_on": _("Light"), "light_off": _("Light off"),
        },
    }


@bp.post("/me/cards")
@idempotency.replayable(this_phone)
def save_cards():
    """Replace my offer and need cards; the matcher looks again for people I should meet."""
    session = db.session
    attendee = _me(session)
    if attendee is None:
        return redirect(url_for("me.home"))
    tags = event_tags(session, attendee)
    try:
        update_cards(session, attendee,
                     offers=items_from_form(request.form, CardKind.offer, PHONE_CARD_ITEMS, tags),
                     needs=items_from_form(request.form, CardKind.need, PHONE_CARD_ITEMS, tags))
    except DomainError as exc:
        discard()
        flash(exc.message, "error")
        return redirect(url_for("me.home") + "#cards")
    flash(_("Saved. We are looking for new matches for you."), "success")
    return redirect(url_for("me.home") + "#cards")


@bp.post("/me/consent")
@idempotency.replayable(this_phone)
def save_consent():
    """Change what the screen shows and what a badge scan shares (what the kiosk asked), from my phone."""
    session = db.session
    attendee = _me(session)
    if attendee is None:
        return redirect(url_for("me.home"))
    choose_consents(session, attendee, consent_screen=bool(request.form.get("consent_screen")),
                    consent_share=request.form.getlist("consent_share"))
    flash(_("Saved: from now on we share exactly that."), "success")
    return redirect(url_for("me.home") + "#privacy")


@bp.post("/me/matches/<int:match_id>")
@idempotency.replayable(this_phone)
def answer(match_id: int):
    """Accept, decline or mark a match as met (a form post, or fetch from me.js asking for JSON)."""
    session = db.session
    attendee = _me(session)
    if attendee is None:
        if _wants_json():
            return jsonify({"code": "signed_out", "message": _("Open your personal link again.")}), 401
        return redirect(url_for("me.home"))
    try:
        match = service.answer_match(session, attendee, match_id, request.form.get("action", ""))
    except DomainError as exc:
        discard()
        if _wants_json():
            return jsonify(exc.to_dict()), exc.status
        flash(exc.message, "error")
        return redirect(url_for("me.home"))
    if _wants_json():
        return jsonify({"match_id": match.id, "status": match.status.value})
    return redirect(url_for("me.home") + f"#match-{match.id}")


@bp.post("/me/leave")
def sign_out():
    """Forget this phone's session (a borrowed phone)."""
    flask_session.pop("attendee_id", None)
    return redirect(url_for("me.home"))
