"""The matcher's work queue: in-process on a laptop, a Redis list when web processes and the matcher are apart.

Items are small JSON-able dicts: {"kind": "checkin"|"cards"|"leave"|"round"|"status", "event_id": ..., ...}.
"""
from __future__ import annotations

import json
import queue as stdlib_queue
from typing import Protocol

REDIS_KEY = "givetake:matcher:work"


class WorkQueue(Protocol):
    """What web processes use to hand work to the matcher, and what the matcher reads."""

    def put(self, item: dict) -> None: ...

    def get(self, timeout: float) -> dict | None: ...

    def get_many(self, limit: int) -> list[dict]: ...


class LocalQueue:
    """A thread-safe in-process queue (laptop tier: web threads and the matcher thread share a process)."""

    def __init__(self) -> None:
        self._queue: stdlib_queue.Queue[dict] = stdlib_queue.Queue()

    def put(self, item: dict) -> None:
        self._queue.put(item)

    def get(self, timeout: float) -> dict | None:
        try:
            return self._queue.get(timeout=timeout)
        except stdlib_queue.Empty:
            return None

    def get_many(self, limit: int) -> list[dict]:
        """Up to `limit` items that are already waiting (never blocks)."""
        items = []
        while len(items) < limit:
            try:
                items.append(self._queue.get_nowait())
            except stdlib_queue.Empty:
                break
        return items

    def qsize(self) -> int:
        return self._queue.qsize()


class RedisQueue:
    """A Redis list: web processes RPUSH, the one `givetake matcher` process BLPOPs (FIFO, survives web restarts)."""

    def __init__(self, url: str, key: str = REDIS_KEY) -> None:
        import redis
        self._redis = redis.Redis.from_url(url)
        self._key = key

    def put(self, item: dict) -> None:
        self._redis.rpush(self._key, json.dumps(item))

    def get(self, timeout: float) -> dict | None:
        popped = self._redis.blpop([self._key], timeout=max(1, int(round(timeout))))
        return json.loads(popped[1]) if popped else None

    def get_many(self, limit: int) -> list[dict]:
        """Up to `limit` items that are already waiting (never blocks).

        One LPOP with a count on Redis 6.2 and newer; older servers refuse the count, and get one LPOP per item.
        """
        if limit <= 0:
            return []
        import redis
        try:
            raw = self._redis.lpop(self._key, limit) or []
        except redis.ResponseError:
            raw = []
            while len(raw) < limit and (one := self._redis.lpop(self._key)) is not None:
                raw.append(one)
        return [json.loads(item) for item in raw]

    def qsize(self) -> int:
        return int(self._redis.llen(self._key))
