"""The pre-event page: `/p/<token>` (the link an organizer mailed or put in the ticket shop) opens it, `/p/` is
the small mobile page to fill both cards and the consents at home.

As with the personal link, the token only ever appears in the first URL: it is checked by hash, the attendee goes
into the signed session, and the browser is redirected to `/p/` at once.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, session as browser_session, url_for

from .. import idempotency
from ..attendees.service import SHAREABLE
from ..cards.service import MAX_CARD_TEXT, event_tags, items_from_form, padded
from ..db import db
from ..errors import DomainError
from ..extensions import limiter
from ..models import CardKind
from ..transactions import Blueprint, discard
from . import service

bp = Blueprint("prepare", __name__, url_prefix="/p")

#: Card items on the pre-event page (as many as the kiosk and the phone show).
PREPARE_CARD_ITEMS = 3


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _mine():
    return service.attendee_of_session(db.session, browser_session)


def _this_person() -> str | None:
    """Whose retries a form answer replays: the attendee whose pre-event page this browser holds."""
    return idempotency.actor_scope(attendee=_mine())


@bp.get("/<token>")
@limiter.limit("30 per minute")
def open_link(token: str):
    """The pre-event link: remember whose page this browser opens, then drop the token from the URL."""
    service.open_link_session(browser_session, service.attendee_from_link(db.session, token))
    return redirect(url_for("prepare.page"))


def _render(attendee, status: int = 200, offers=None, needs=None):
    tags = event_tags(db.session, attendee)
    return render_template("prepare/page.html", me=attendee, event=attendee.event, tags=tags,
                           offers=offers or padded(attendee, CardKind.offer, PREPARE_CARD_ITEMS),
                           needs=needs or padded(attendee, CardKind.need, PREPARE_CARD_ITEMS),
                           max_text=MAX_CARD_TEXT, shareable=SHAREABLE,
                           chosen=attendee.consent_chosen_at is not None,
                           saved=bool(request.args.get("saved"))), status


@bp.route("/", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
@idempotency.replayable(_this_person)
def page():
    """Fill my two cards and choose what I share, before the event (the kiosk then only asks me to check)."""
    attendee = _mine()
    if attendee is None:
        return render_template("prepare/closed.html"), 401
    if request.method == "POST":
        tags = event_tags(db.session, attendee)
        offers = items_from_form(request.form, CardKind.offer, PREPARE_CARD_ITEMS, tags)
        needs = items_from_form(request.form, CardKind.need, PREPARE_CARD_ITEMS, tags)
        try:
            service.save_prepared(db.session, attendee, offers=offers, needs=needs,
                                  consent_screen=bool(request.form.get("consent_screen")),
                                  consent_share=request.form.getlist("consent_share"))
        except DomainError as exc:
            discard()
            flash(exc.message, "error")
            return _render(attendee, exc.status, offers=offers, needs=needs)
        # Said by the page the redirect opens, not flashed: forms.js follows the redirect in the background and
        # then loads it again, so a flash would be spent on the first load.
        return redirect(url_for("prepare.page", saved=1))
    return _render(attendee)
