"""Matching in the app: the single-writer matcher loop, its work queue, and the database side of matches."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ..db import after_commit
from .loop import MatcherLoop
from .queue import LocalQueue, RedisQueue, WorkQueue


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
    target, item = runtime(), {"kind": kind, "event_id": event_id, **data}
    after_commit(session, lambda: target.put(item))
