"""How services hand work to the matcher: a light module (no loop, no engine), so submitting pulls in nothing heavy.

Items are small JSON-able dicts: {"kind": "checkin"|"cards"|"leave"|"round"|"status", "event_id": ..., ...}.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from ..db import after_commit
from ..models import utcnow
from .queue import WorkQueue


@dataclass
class MatcherRuntime:
    """Where this process sends matcher work, and the loop when it runs here (laptop tier)."""

    queue: WorkQueue
    #: The in-process MatcherLoop (laptop tier), or None when the matcher runs elsewhere or is off.
    loop: Any = None

    def put(self, item: dict) -> None:
        self.queue.put(item)
        if self.loop is not None:
            self.loop.start()


def runtime() -> MatcherRuntime:
    """The current app's matcher runtime."""
    return current_app.extensions["givetake.matcher"]


def submit_after_commit(session: Session, kind: str, event_id: int, **data) -> None:
    """Hand work to the matcher once the caller's transaction commits (so the loop sees the committed rows)."""
    # queued_at: a redelivered item (a matcher died before acknowledging it) is checked against what happened since.
    target, item = runtime(), {"kind": kind, "event_id": event_id, "queued_at": utcnow().isoformat(), **data}
    after_commit(session, lambda: target.put(item))
