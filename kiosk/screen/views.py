"""`/screen/<slug>`: the projector page. Server-rendered counters and recent matches, then live over Socket.IO."""
from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..db import db
from ..devices.service import current_device
from ..events.service import get_event
from ..models import DeviceKind, EventLog, utcnow
from ..realtime.stats import event_stats
from ..rounds.service import current_round
from ..transactions import Blueprint

bp = Blueprint("screen", __name__, url_prefix="/screen")


def init_app(app) -> None:
    """Register this capability's pages."""
    app.register_blueprint(bp)

#: Matches already on the wall when the page (re)loads.
RECENT_MATCHES = 6
#: Seconds each page of a round's groups stays up (`?page_s=` changes it for a room that reads slower or faster).
PAGE_S = 10
PAGE_S_RANGE = (2, 60)


@bp.get("/<slug>")
def show(slug: str):
    """The live screen of an event; only a screen paired with that event may open it."""
    session = db.session
    event = get_event(session, slug)
    device = current_device(session)
    if device is None or device.kind != DeviceKind.screen or device.event_id != event.id:
        return redirect(url_for("devices.pair_device"))
    last_seq = event.last_seq or 0  # read before the lists: anything newer is replayed over the socket
    recent = session.scalars(select(EventLog).where(EventLog.event_id == event.id, EventLog.room == "screen",
                                                    EventLog.type == "match")
                             .order_by(EventLog.seq.desc()).limit(RECENT_MATCHES)).all()
    running = current_round(session, event.id)
    page_s = min(max(request.args.get("page_s", PAGE_S, type=int), PAGE_S_RANGE[0]), PAGE_S_RANGE[1])
    return render_template("screen/show.html", event=event, last_seq=last_seq, stats=event_stats(session, event.id),
                           recent=[{**r.payload, "seq": r.seq} for r in recent], round=running,
                           round_payload=_round_payload(session, event.id, running), now_iso=utcnow().isoformat(),
                           page_s=page_s, texts=screen_texts())


def screen_texts() -> dict:
    """Translated strings screen.js needs for what arrives live (placeholders filled in there)."""
    return {"round": _("Round %(n)s"), "page": _("Page %(page)s of %(pages)s"), "time_up": _("Time!"),
            "can_help": _("can help"), "with": _("with")}


def _round_payload(session, event_id: int, running) -> dict | None:
    """The running round as its `round` message said it to the screen (groups with consenting names only)."""
    if running is None:
        return None
    row = session.scalar(select(EventLog).where(EventLog.event_id == event_id, EventLog.room == "screen",
                                                EventLog.type == "round")
                         .order_by(EventLog.seq.desc()).limit(1))
    return {**row.payload, "seq": row.seq} if row is not None else None
