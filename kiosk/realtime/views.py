"""The staff dashboard (`/admin/events/<slug>/live`): check-ins and matches as they happen, rounds, printers."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, url_for
from flask_login import login_required
from sqlalchemy import select

from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from ..matching.submit import runtime
from ..models import EventLog
from ..rounds import service as rounds
from ..transactions import Blueprint
from . import bus, sockets
from .stats import event_stats

bp = Blueprint("live", __name__, url_prefix="/admin/events/<slug>/live")

#: Recent messages shown when the dashboard opens; newer ones arrive over the socket.
RECENT = 30


def init_app(app) -> None:
    """Set up the real-time bus and socket handlers, and register the staff dashboard."""
    bus.init_app(app)
    sockets.register_handlers()
    app.register_blueprint(bp)


@bp.before_request
@login_required
def _organizers_only():
    """The dashboard is for organizers."""


def _recent(session, event_id: int, type_: str) -> list[dict]:
    rows = session.scalars(select(EventLog).where(EventLog.event_id == event_id, EventLog.room == "staff",
                                                  EventLog.type == type_)
                           .order_by(EventLog.seq.desc()).limit(RECENT)).all()
    return [{**r.payload, "seq": r.seq} for r in rows if not r.payload.get("erased")]  # (scrubbed by old versions)


def queue_length() -> int | None:
    """Matcher work waiting (in this process's queue, or the shared Redis list)."""
    try:
        return int(getattr(runtime().queue, "qsize", lambda: 0)())
    except Exception:  # Redis away: the dashboard still opens
        return None


def printer_states() -> list[dict] | None:
    """CUPS queues and their state, when the badge capability is installed and CUPS answers."""
    try:
        from ..badges.printing import list_printers
    except ImportError:
        return None
    try:
        printers = list_printers()
    except Exception as exc:  # CUPS down is a state to show, not a crash
        return [{"name": "CUPS", "state": "unreachable", "message": str(exc)[:200]}]
    return [{"name": p.name, "state": p.state, "accepting": p.accepting, "message": p.reason or p.info}
            for p in printers]


@bp.get("/", strict_slashes=False)
def dashboard(slug: str):
    """Counters, the latest check-ins and matches, the current round, printers; live over Socket.IO."""
    session = db.session
    event = get_event(session, slug)
    last_seq = event.last_seq or 0  # read before the lists: anything newer is replayed, never missed
    return render_template("admin/live.html", event=event, last_seq=last_seq,
                           stats=event_stats(session, event.id), queue=queue_length(),
                           checkins=_recent(session, event.id, "checkin"),
                           matches=_recent(session, event.id, "match"),
                           round=rounds.latest_round(session, event.id), printers=printer_states(),
                           present=rounds.present_count(session, event.id))


@bp.post("/round")
def start_round(slug: str):
    """Ask the matcher to pair everyone present now."""
    session = db.session
    event = get_event(session, slug)
    try:
        rounds.request_round(session, event)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("live.dashboard", slug=slug))
    flash("Round requested: pairs appear on the screen and on phones in a moment.", "success")
    return redirect(url_for("live.dashboard", slug=slug))


@bp.get("/printers")
def printers(slug: str):
    """Printer states as JSON (the dashboard polls this; CUPS has no push)."""
    get_event(db.session, slug)
    return jsonify({"printers": printer_states()})
