"""Report downloads: the organizer's PDF and any attendee's summary in admin, and my own summary on my phone."""
from __future__ import annotations

from flask import Response, redirect, session as flask_session, url_for
from flask_login import login_required

from ..attendees.service import get_attendee
from ..concurrency import off_the_loop
from ..db import db
from ..errors import NotFound
from ..events.service import get_event
from ..extensions import limiter
from ..me.service import signed_in_attendee
from ..models import Event
from ..transactions import Blueprint
from . import render, service

bp = Blueprint("reports", __name__)


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)


def _pdf(payload: bytes, filename: str) -> Response:
    return Response(payload, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "private, no-store"})


@bp.get("/admin/events/<slug>/report.pdf")
@login_required
def organizer_report(slug: str):
    """The organizer's post-event report (drawn off the event loop: seconds for a large event)."""
    event = get_event(db.session, slug)
    figures = service.event_figures(db.session, event)
    return _pdf(off_the_loop(render.organizer_report, figures), f"{event.slug}-report.pdf")


@bp.get("/admin/events/<slug>/attendees/<int:attendee_id>/summary.pdf")
@login_required
def attendee_summary(slug: str, attendee_id: int):
    """One attendee's summary, as they would get it."""
    event = get_event(db.session, slug)
    person = get_attendee(db.session, event, attendee_id)
    if person.erased_at is not None:
        raise NotFound("This attendee's data was erased.")
    summary = service.attendee_summary(db.session, person)
    return _pdf(off_the_loop(render.attendee_pdf, summary), f"{event.slug}-summary-{person.id}.pdf")


@bp.get("/me/summary.pdf")
@limiter.limit("10 per minute")
def my_summary():
    """My summary of the event: my cards, whom I met (as each consented), matches to follow up, what I gave."""
    me = signed_in_attendee(db.session, flask_session)
    if me is None:
        return redirect(url_for("me.home"))
    event = db.session.get(Event, me.event_id)
    summary = service.attendee_summary(db.session, me)
    return _pdf(off_the_loop(render.attendee_pdf, summary), f"{event.slug}-summary-{me.id}.pdf")
