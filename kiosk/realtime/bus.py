"""`publish`: write a real-time message to EventLog with the next per-event seq; emit it once the transaction commits.

Emitting only after commit means a client never hears of a match or check-in that was rolled back, and the seq a
client sees is always in the log when it asks to catch up.
"""
from __future__ import annotations

import logging

from sqlalchemy import event as sa_event, update
from sqlalchemy.orm import Session

from ..models import Event, EventLog

log = logging.getLogger(__name__)

_PENDING = "givetake.pending_emits"


def room_name(event_id: int, room: str) -> str:
    """The Socket.IO room for an event's screen, staff dashboard or one attendee ("attendee:<id>")."""
    return f"ev{event_id}:{room}"


def next_seq(session: Session, event_id: int) -> int:
    """Allocate the event's next seq atomically (the row lock serializes concurrent writers)."""
    return session.execute(update(Event).where(Event.id == event_id).values(last_seq=Event.last_seq + 1)
                           .returning(Event.last_seq)).scalar_one()


def publish(session: Session, event_id: int, type_: str, room: str, payload: dict) -> int:
    """Log a message in the caller's transaction and queue its emit for after commit; returns its seq."""
    seq = next_seq(session, event_id)
    session.add(EventLog(event_id=event_id, seq=seq, type=type_, room=room, payload=payload))
    session.info.setdefault(_PENDING, []).append((type_, room_name(event_id, room), {**payload, "seq": seq}))
    return seq


@sa_event.listens_for(Session, "after_commit")
def _emit_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    from ..extensions import socketio
    for type_, room, payload in pending:
        try:
            socketio.emit(type_, payload, to=room)
        except Exception:  # a dead transport must not undo a committed check-in; clients catch up by seq
            log.exception("could not emit %s to %s", type_, room)


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
