"""Where this process's matcher runs: `inprocess` (a thread here), `redis` (a `givetake matcher` process) or `off`."""
from __future__ import annotations

import os

from flask import Flask

from .loop import MatcherLoop
from .queue import LocalQueue, RedisQueue
from .submit import MatcherRuntime

MODES = ("inprocess", "redis", "off")


def init_app(app: Flask) -> None:
    """Choose the matcher mode (GIVETAKE_MATCHER; default redis when GIVETAKE_REDIS_URL is set, else inprocess)."""
    mode = app.config.get("MATCHER") or ("redis" if app.config.get("REDIS_URL") else "inprocess")
    app.config["MATCHER"] = mode
    if mode == "redis":
        runtime = MatcherRuntime(RedisQueue(app.config["REDIS_URL"]))
    elif mode == "inprocess":
        work = LocalQueue()
        lock = os.path.join(app.instance_path, "matcher.lock")
        runtime = MatcherRuntime(work, MatcherLoop(app.extensions["givetake.db"], work, lock_path=lock))
    elif mode == "off":
        runtime = MatcherRuntime(LocalQueue())
    else:
        raise ValueError(f"GIVETAKE_MATCHER must be one of {', '.join(MODES)}, not {mode!r}")
    app.extensions["givetake.matcher"] = runtime
