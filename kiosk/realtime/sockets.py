"""Socket.IO handlers: `join` authenticates a screen, staff dashboard or attendee, joins its room and replays.

Catch-up without gaps or duplicates: the handler joins the room *first*, then sends every logged message of that
room with seq > last_seq, in order, then answers the join. A message committed meanwhile may arrive both live
and in the replay, possibly before it; clients therefore hold live messages until the join is answered and drop
any seq they have seen (static/js/feed.js does this; tests/browser/test_feed.py tests it in Chromium).
"""
from __future__ import annotations

import logging
import threading
import time

from flask import current_app, request, session as flask_session
from flask_login import current_user
from flask_socketio import emit, join_room
from sqlalchemy import select

from ..db import after_commit, db
from ..devices.service import COOKIE, device_from_token
from ..errors import DomainError, Forbidden, NotFound, ValidationFailed
from ..events.service import SLUG_RE
from ..extensions import socketio
from ..models import Attendee, Device, DeviceKind, Event, EventLog
from ..me.service import attendee_from_token, signed_in_attendee
from ..tokens import fingerprint
from .bus import room_name

log = logging.getLogger(__name__)

ROLES = ("screen", "staff", "attendee")
#: A client that has been away longer than this many messages gets the newest ones and `truncated: true`.
MAX_REPLAY = 1000
MAX_TOKEN_CHARS = 64
#: Joins a connection may make per minute (a reconnecting page joins once; more is a client gone wrong or abuse).
MAX_JOINS_PER_MINUTE = 10
#: How often each process re-checks who its joined sockets belong to (revoked devices, new phone codes, erasure).
RECHECK_SECONDS = 10


class Joined:
    """Who a joined socket of this process belongs to, to re-check it later (see `revalidate`)."""

    def __init__(self):
        #: sid -> ("device", device id) or ("attendee", attendee id, token fingerprint)
        self.owners: dict[str, tuple] = {}
        self.joins: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        self.checker_started = False

    def allow_join(self, sid: str) -> bool:
        """Count a join of this connection; False when it joins too often."""
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.joins.get(sid, []) if now - t < 60]
            recent.append(now)
            self.joins[sid] = recent
            return len(recent) <= MAX_JOINS_PER_MINUTE

    def forget(self, sid: str) -> None:
        with self.lock:
            self.owners.pop(sid, None)
            self.joins.pop(sid, None)


def joined_of(app) -> Joined:
    """The app's registry of joined sockets (one per app: tests build many)."""
    return app.extensions.setdefault("givetake.joined", Joined())


class JoinRequest:
    """A validated `join` payload."""

    def __init__(self, data):
        if not isinstance(data, dict):
            raise ValidationFailed("join needs an object {role, event, token?, last_seq?}.", code="bad_request")
        self.role = data.get("role")
        if self.role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}.", code="bad_role")
        self.slug = data.get("event")
        if not isinstance(self.slug, str) or not SLUG_RE.match(self.slug):
            raise ValidationFailed("event must be the event's short name.", code="bad_event")
        token = data.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS):
            raise ValidationFailed("token must be a short string.", code="bad_token")
        self.token = token or None
        last_seq = data.get("last_seq", 0)
        if last_seq is None:
            last_seq = 0
        if isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0 or last_seq > 2**53:
            raise ValidationFailed("last_seq must be a whole number >= 0.", code="bad_last_seq")
        self.last_seq = last_seq


def rooms_for(session, event: Event, join: JoinRequest) -> tuple[list[str], tuple | None]:
    """The rooms (short names) this caller may join for the role and who it is (to re-check later), or Forbidden.

    Staff means organizers only: the staff room replays every check-in and matches of people who refused the
    screen, which no kiosk needs.
    """
    if join.role == "screen":
        device = device_from_token(session, join.token or request.cookies.get(COOKIE))
        if device is None or device.kind != DeviceKind.screen or device.event_id != event.id:
            raise Forbidden("This is not a paired screen of this event.", code="not_paired")
        return ["screen"], ("device", device.id)
    if join.role == "staff":
        if current_user.is_authenticated:
            return ["staff"], None
        raise Forbidden("Log in as an organizer to watch the dashboard.", code="not_staff")
    attendee = _attendee_of(session, event, join.token)
    return [f"attendee:{attendee.id}"], ("attendee", attendee.id, fingerprint(attendee.personal_token_hash))


def _attendee_of(session, event: Event, token: str | None) -> Attendee:
    try:
        attendee = attendee_from_token(session, token) if token else signed_in_attendee(session, flask_session)
    except DomainError:
        attendee = None
    if attendee is None or attendee.event_id != event.id:
        raise Forbidden("Open your personal link (the QR code from the kiosk) again.", code="not_attendee")
    return attendee


def replay_rows(session, event_id: int, rooms: list[str], last_seq: int) -> tuple[list[EventLog], bool]:
    """The room's messages after last_seq, in seq order; stats are snapshots, so only the newest is kept."""
    rows = session.scalars(select(EventLog).where(EventLog.event_id == event_id, EventLog.room.in_(rooms),
                                                  EventLog.seq > last_seq)
                           .order_by(EventLog.seq.desc()).limit(MAX_REPLAY + 1)).all()
    truncated = len(rows) > MAX_REPLAY
    rows = rows[:MAX_REPLAY]
    newest_stats = next((r.seq for r in rows if r.type == "stats"), None)
    rows = [r for r in reversed(rows) if r.type != "stats" or r.seq == newest_stats]
    return rows, truncated


def on_join(data):
    """Authenticate, join the room(s), replay what was missed; answer {ok, rooms, last_seq} or {ok: false, ...}."""
    session = db.session
    try:
        join = JoinRequest(data)
        event = session.scalar(select(Event).where(Event.slug == join.slug))
        if event is None:
            raise NotFound(f"There is no event '{join.slug}'.", code="no_event")
        joined = joined_of(current_app)
        if not joined.allow_join(request.sid):
            raise Forbidden("Too many joins on this connection: wait a minute.", code="too_many_joins", status=429)
        rooms, owner = rooms_for(session, event, join)
        current = event.last_seq or 0
        # A last_seq beyond the log means the client saw another database (a reset demo): start over.
        reset = join.last_seq > current
        last_seq = 0 if reset else join.last_seq
        event_id = event.id
        for room in rooms:
            join_room(room_name(event_id, room))
        if owner is not None:
            with joined.lock:
                joined.owners[request.sid] = owner
            _start_rechecks(current_app._get_current_object(), joined)
        # End the transaction before the replay query: SQLite keeps the snapshot taken at its first read (before
        # the join), and a message committed between that read and join_room would be in neither the replay nor
        # the live stream. A fresh snapshot, taken after joining, sees everything not emitted to us live.
        session.rollback()
        rows, truncated = replay_rows(session, event_id, rooms, last_seq)
        for row in rows:
            emit(row.type, {**row.payload, "seq": row.seq})
        newest = max([last_seq] + [r.seq for r in rows])
        return {"ok": True, "role": join.role, "rooms": rooms, "replayed": len(rows), "last_seq": newest,
                "reset": reset, "truncated": truncated}
    except DomainError as exc:
        emit("error", exc.to_dict())
        return {"ok": False, **exc.to_dict()}
    finally:
        session.rollback()  # read-only: release the connection at once, the socket may live for hours


def on_disconnect(*_args):
    joined_of(current_app).forget(request.sid)


def _valid_owners(session, owners: set[tuple]) -> set[tuple]:
    """Which of these owners still hold: devices still paired, attendees not erased and with the same phone code.

    Two queries whatever the number of sockets (a thousand screens share one owner), so the periodic re-check costs
    the event loop next to nothing.
    """
    device_ids = {o[1] for o in owners if o[0] == "device"}
    attendee_ids = {o[1] for o in owners if o[0] == "attendee"}
    valid = set()
    if device_ids:
        valid |= {("device", i) for i in session.scalars(select(Device.id).where(
            Device.id.in_(device_ids), Device.revoked_at.is_(None), Device.token_hash.is_not(None)))}
    if attendee_ids:
        valid |= {("attendee", i, fingerprint(h)) for i, h in session.execute(select(
            Attendee.id, Attendee.personal_token_hash).where(Attendee.id.in_(attendee_ids),
                                                          Attendee.erased_at.is_(None)))}
    return valid


def revalidate(app) -> int:
    """Disconnect this process's joined sockets whose device was unpaired, whose phone code was reissued or whose
    person was erased; returns how many. Runs every RECHECK_SECONDS and right after such a change commits."""
    joined = joined_of(app)
    with joined.lock:
        owners = dict(joined.owners)
    if not owners:
        return 0
    with app.app_context(), app.extensions["givetake.db"].reader() as session:
        valid = _valid_owners(session, set(owners.values()))
    gone = [sid for sid, owner in owners.items() if owner not in valid]
    for sid in gone:
        joined.forget(sid)
        socketio.emit("error", {"code": "session_ended", "message": "This session ended: open your link again."},
                      to=sid)
        socketio.server.disconnect(sid, namespace="/")
    return len(gone)


def revalidate_after_commit(session) -> None:
    """Re-check this process's sockets once the caller's change (unpairing, a new code, erasure) commits."""
    app = current_app._get_current_object()
    after_commit(session, lambda: socketio.start_background_task(revalidate, app))


def _start_rechecks(app, joined: Joined) -> None:
    with joined.lock:
        if joined.checker_started:
            return
        joined.checker_started = True

    def loop():
        while True:
            socketio.sleep(RECHECK_SECONDS)
            try:
                revalidate(app)
            except Exception:  # the database may be away for a moment; try again next time
                log.exception("re-checking joined sockets failed")

    socketio.start_background_task(loop)


def on_socket_error(exc):
    """Unexpected failures in a handler: log them and tell the client without details."""
    log.exception("socket handler failed on %s", getattr(request, "event", None))
    emit("error", {"code": "internal_error", "message": "Something went wrong on our side; reconnecting helps."})


def register_handlers() -> None:
    """Attach the handlers to the Socket.IO server of the app being set up.

    `init_app` makes a new server for every app (tests build many), and a handler registered with the decorator
    only lands on the server that existed at import time, so each app registers them again.
    """
    socketio.on_event("join", on_join)
    socketio.on_event("disconnect", on_disconnect)
    socketio.on_error_default(on_socket_error)
