"""`publish`: write a real-time message to EventLog with the next per-event seq; emit it once the transaction commits.

Emitting only after commit means a client never hears of a match or check-in that was rolled back, and the seq a
client sees is always in the log when it asks to catch up.

The emit goes through an `EventBus`: in one process (the laptop) Flask-SocketIO delivers it to the sockets it
holds; in scale-out Flask-SocketIO's Redis message queue carries it to every app process, so the `givetake matcher`
process, which holds no sockets at all, reaches every screen and phone the same way.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Protocol

from flask import Flask, current_app, has_app_context
from sqlalchemy import event as sa_event, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..db import after_commit
from ..models import Event, EventLog

log = logging.getLogger(__name__)

#: Message types clients may receive (checkin goes to staff only).
MESSAGE_TYPES = ("match", "contact", "round", "stats", "checkin", "unmatched")


def room_name(event_id: int, room: str) -> str:
    """The Socket.IO room for an event's screen, staff dashboard or one attendee ("attendee:<id>")."""
    return f"ev{event_id}:{room}"


class EventBus(Protocol):
    """Where committed messages go: `emit(type, room, payload)` to a Socket.IO room of any app process."""

    name: str

    def emit(self, type_: str, room: str, payload: dict) -> None: ...


class InProcessBus:
    """The laptop tier: the sockets live in this process; Flask-SocketIO delivers directly."""

    name = "inprocess"

    def emit(self, type_: str, room: str, payload: dict) -> None:
        from ..extensions import socketio
        socketio.emit(type_, payload, to=room)


class RedisBus(InProcessBus):
    """Scale-out: the same emit, but Flask-SocketIO was set up with `message_queue=<redis>`, so it is published on
    Redis and every app process (each listening on the queue) delivers it to the sockets it holds; the matcher
    process only publishes.
    """

    name = "redis"

    def __init__(self, url: str):
        self.url = url


def init_app(app: Flask) -> None:
    """Choose the bus from the config: Redis when GIVETAKE_REDIS_URL is set, else in-process."""
    url = app.config.get("REDIS_URL")
    app.extensions["givetake.bus"] = RedisBus(url) if url else InProcessBus()



#: Used when there is no app context (a matcher thread of an app that predates init_app, scripts).
_fallback = InProcessBus()


def current_bus() -> EventBus:
    """The bus of the current app (threads without an app context use Flask-SocketIO as set up)."""
    if has_app_context():
        return current_app.extensions.get("givetake.bus", _fallback)
    return _fallback


_SEQS = "givetake.allocated_seqs"


def next_seq(session: Session, event_id: int) -> int:
    """Allocate the event's next seq atomically (the row lock serializes concurrent writers).

    The first message of a transaction increments `Event.last_seq` and so takes the event row's lock (SQLite: the
    database's) until commit; nobody else can allocate meanwhile, so further messages of the same transaction count
    on locally and the highest seq is written once, before commit. A match makes four messages: one round trip
    for the lock instead of four.
    """
    allocated = session.info.setdefault(_SEQS, {})
    if event_id in allocated:
        allocated[event_id][1] += 1
        return allocated[event_id][1]
    seq = session.execute(update(Event).where(Event.id == event_id).values(last_seq=Event.last_seq + 1)
                          .returning(Event.last_seq).execution_options(synchronize_session=False)).scalar_one()
    allocated[event_id] = [seq, seq]
    _sync_loaded_event(session, event_id, seq)
    return seq


def _sync_loaded_event(session: Session, event_id: int, seq: int) -> None:
    # The UPDATEs skip the ORM's session synchronisation (it cost more than the statement); an Event loaded in this
    # session is given the value the row now holds instead.
    loaded = session.identity_map.get(identity_key(Event, event_id))
    if loaded is not None:
        set_committed_value(loaded, "last_seq", seq)


@sa_event.listens_for(Session, "before_commit")
def _write_last_seqs(session: Session) -> None:
    for event_id, (first, last) in session.info.get(_SEQS, {}).items():
        if last > first:
            session.execute(update(Event).where(Event.id == event_id).values(last_seq=last)
                            .execution_options(synchronize_session=False))
            _sync_loaded_event(session, event_id, last)


def publish(session: Session, event_id: int, type_: str, room: str, payload: dict) -> int:
    """Log a message in the caller's transaction and queue its emit for after commit; returns its seq."""
    seq = next_seq(session, event_id)
    session.add(EventLog(event_id=event_id, seq=seq, type=type_, room=room, payload=payload))
    bus, target, message = current_bus(), room_name(event_id, room), {**payload, "seq": seq}
    # A failed emit is logged by after_commit and never undoes the commit: clients catch up by seq.
    after_commit(session, lambda: bus.emit(type_, target, message))
    return seq


@sa_event.listens_for(Session, "after_commit")
def _forget_seqs_after_commit(session: Session) -> None:
    session.info.pop(_SEQS, None)


@sa_event.listens_for(Session, "after_rollback")
def _forget_seqs_after_rollback(session: Session) -> None:
    session.info.pop(_SEQS, None)


#: Sent to this process's own sockets when its message queue works again after an outage.
RESYNC = "resync"
#: How often a serving process sends itself a heartbeat through the message queue, and when one is late.
HEARTBEAT_EVERY_S = 1.0
HEARTBEAT_LATE_S = 3.0


def start_queue_heartbeat(socketio) -> bool:
    """Watch this serving process's path through the Redis message queue; after an outage, tell its clients.

    While Redis is away, messages published by other processes (and the matcher) never reach this one, though its
    clients' websockets stay up: nothing tells them they missed anything. So the process publishes a heartbeat to a
    room of its own every second and watches it come back through its own subscription (python-socketio's
    listener reconnects by itself). When heartbeats were late or failed and one arrives again, the subscription
    works end to end, and the process sends `resync` to every socket it holds: the pages rejoin with their last
    seq and get what they missed from the event log (static/js/feed.js). Returns whether it started (only with a
    message queue). It hooks python-socketio's PubSubManager._handle_emit, a private method:
    tests/realtime/test_redis_restart.py fails if that changes.
    """
    from socketio.pubsub_manager import PubSubManager
    manager = getattr(getattr(socketio, "server", None), "manager", None)
    if not isinstance(manager, PubSubManager) or getattr(manager, "_givetake_heartbeat", False):
        return False
    room = f"givetake:heartbeat:{uuid.uuid4().hex}"
    state = {"heard": time.monotonic(), "lost": False}
    handle_emit = manager._handle_emit

    def handle(message):
        if isinstance(message, dict) and message.get("room") == room:
            state["heard"] = time.monotonic()
            if state["lost"]:
                state["lost"] = False
                log.warning("message queue back after an outage: this process's clients rejoin to catch up")
                # PubSubManager.emit would publish on Redis; its parent's emit reaches this process's sockets.
                super(PubSubManager, manager).emit(RESYNC, {}, namespace="/")
            return None
        return handle_emit(message)

    def beat():
        while True:
            socketio.sleep(HEARTBEAT_EVERY_S)
            if time.monotonic() - state["heard"] > HEARTBEAT_LATE_S:
                state["lost"] = True
            try:
                # Published as if from another host: the listener skips what this process sent itself.
                manager._publish({"method": "emit", "event": "heartbeat", "data": {}, "namespace": "/",
                                  "room": room, "skip_sid": None, "callback": None, "host_id": room})
            except Exception:  # Redis away: the next heartbeat that comes back ends the outage
                state["lost"] = True

    manager._handle_emit = handle
    manager._givetake_heartbeat = True
    if not socketio.server.manager_initialized:  # its listener runs from now on, not from the first connection
        socketio.server.manager_initialized = True
        manager.initialize()
    socketio.start_background_task(beat)
    return True
