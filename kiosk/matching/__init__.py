"""Matching in the app: the single-writer matcher loop, its work queue, and the database side of matches."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from .loop import MatcherLoop
from .queue import LocalQueue, RedisQueue, WorkQueue

_PENDING = "givetake.pending_matcher_work"


@dataclass
class MatcherRuntime:
    """Where this process sends matcher work, and the loop when it runs here (laptop tier)."""

    queue: WorkQueue
    loop: MatcherLoop | None

    def put(self, item: dict) -> None:
        self.queue.put(item)
        if self.loop is not None:
            self.loop.start()


def init_app(app: Flask) -> None:
    """Choose the matcher mode: `inprocess` (a thread here), `redis` (a `givetake matcher` process) or `off`."""
    mode = app.config.get("MATCHER") or ("redis" if app.config.get("REDIS_URL") else "inprocess")
    app.config["MATCHER"] = mode
    if mode == "redis":
        runtime = MatcherRuntime(RedisQueue(app.config["REDIS_URL"]), None)
    elif mode == "inprocess":
        work = LocalQueue()
        runtime = MatcherRuntime(work, MatcherLoop(app.extensions["givetake.db"], work))
    elif mode == "off":
        runtime = MatcherRuntime(LocalQueue(), None)
    else:
        raise ValueError(f"GIVETAKE_MATCHER must be inprocess, redis or off, not {mode!r}")
    app.extensions["givetake.matcher"] = runtime


def runtime() -> MatcherRuntime:
    """The current app's matcher runtime."""
    return current_app.extensions["givetake.matcher"]


def submit_after_commit(session: Session, kind: str, event_id: int, **data) -> None:
    """Hand work to the matcher once the caller's transaction commits (so the loop sees the committed rows)."""
    session.info.setdefault(_PENDING, []).append((runtime(), {"kind": kind, "event_id": event_id, **data}))


@sa_event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    for target, item in session.info.pop(_PENDING, []):
        target.put(item)


@sa_event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
