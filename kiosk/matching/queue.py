"""The matcher's work queue: in-process on a laptop, a reliable Redis list when web processes and the matcher are apart.

Items are small JSON-able dicts: {"kind": "checkin"|"cards"|"leave"|"round"|"status"|"contact", "event_id": ...}.
The matcher takes items (`get`, `get_many`), handles them, and acknowledges them (`ack`) once what they caused is
committed. On Redis an item taken but not yet acknowledged waits in a processing list, so a matcher killed
mid-batch loses nothing: the next one `reclaim`s those items, marked `redelivered`, before it takes new work.
"""
from __future__ import annotations

import json
import os
import queue as stdlib_queue
import socket
import time
import uuid
from typing import Protocol

REDIS_KEY = "givetake:matcher:work"
#: Items taken by the matcher and not acknowledged yet (one matcher: one list).
PROCESSING_SUFFIX = ":processing"
#: Who the single matcher is: a lease (SET NX PX) renewed while it runs, so a second one refuses to start.
LEASE_SUFFIX = ":lease"
#: How long a lease lasts without renewal: a killed matcher's successor waits at most this long.
LEASE_S = 10.0


class WorkQueue(Protocol):
    """What web processes use to hand work to the matcher, and what the matcher reads and acknowledges."""

    def put(self, item: dict) -> None: ...

    def get(self, timeout: float) -> dict | None: ...

    def get_many(self, limit: int) -> list[dict]: ...

    def ack(self, items: list[dict]) -> None: ...


class LocalQueue:
    """A thread-safe in-process queue (laptop tier: web threads and the matcher thread share a process).

    Nothing outlives the process here, so there is nothing to acknowledge: a restarted laptop rebuilds from the
    database (check-ins are rows; the loop's warm-up matches who is present).
    """

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

    def ack(self, items: list[dict]) -> None:
        pass

    def qsize(self) -> int:
        return self._queue.qsize()


# Up to ARGV[1] items from the head of the work list to the tail of the processing list, atomically, in order.
_TAKE = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local item = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not item then break end
  out[#out + 1] = item
end
return out
"""

# Everything in the processing list back to the head of the work list, oldest first, each marked redelivered.
_RECLAIM = """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do
  local ok, item = pcall(cjson.decode, items[i])
  if ok and type(item) == 'table' then
    item['redelivered'] = true
    redis.call('LPUSH', KEYS[1], cjson.encode(item))
  end
end
redis.call('DEL', KEYS[2])
return #items
"""

# Renew the lease only if we still hold it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class LeaseLost(RuntimeError):
    """Another matcher holds the lease: this one must stop (two matchers would double suggestions)."""


class RedisQueue:
    """A reliable Redis list: web processes RPUSH; the one `givetake matcher` moves items to a processing list
    (BLMOVE / LMOVE, Redis 6.2 or newer) and removes them there once handled (`ack`).

    Every item is acknowledged after the transaction it caused commits, so a matcher killed between taking and
    committing leaves its batch in the processing list; the next matcher calls `reclaim` at start and handles it
    again. Handling twice is safe: a pair is matched at most once (a unique row), check-ins and card edits only
    ask for matches, and a redelivered round request is skipped when a round started after it was requested.
    """

    def __init__(self, url: str, key: str = REDIS_KEY) -> None:
        import redis
        self._redis = redis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5,
                                           health_check_interval=30)
        self._key = key
        self._processing = key + PROCESSING_SUFFIX
        self._lease = key + LEASE_SUFFIX
        self._take = self._redis.register_script(_TAKE)
        self._reclaim = self._redis.register_script(_RECLAIM)
        self._renew = self._redis.register_script(_RENEW)
        #: What we took and have not acknowledged: {id(item): the exact bytes to LREM}.
        self._raw: dict[int, bytes] = {}
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- web processes ------------------------------------------------------------------------------------
    def put(self, item: dict) -> None:
        self._redis.rpush(self._key, json.dumps(item))

    # -- the matcher --------------------------------------------------------------------------------------
    def _decoded(self, raw: list[bytes]) -> list[dict]:
        items = []
        for one in raw:
            try:
                item = json.loads(one)
            except ValueError:
                self._redis.lrem(self._processing, 1, one)  # not ours to handle: drop it, do not choke on it
                continue
            self._raw[id(item)] = one
            items.append(item)
        return items

    def get(self, timeout: float) -> dict | None:
        """Wait up to `timeout` s (whole seconds, at least 1) for the next item; it stays in processing until ack."""
        raw = self._redis.blmove(self._key, self._processing, max(1, int(round(timeout))), "LEFT", "RIGHT")
        items = self._decoded([raw]) if raw is not None else []
        return items[0] if items else None

    def get_many(self, limit: int) -> list[dict]:
        """Up to `limit` items that are already waiting (never blocks), in one round trip."""
        if limit <= 0:
            return []
        return self._decoded(self._take(keys=[self._key, self._processing], args=[limit]))

    def ack(self, items: list[dict]) -> None:
        """Forget items that were handled (their writes committed, or they failed for good and were logged)."""
        raw = [self._raw.pop(id(item)) for item in items if id(item) in self._raw]
        if raw:
            with self._redis.pipeline(transaction=False) as pipe:
                for one in raw:
                    pipe.lrem(self._processing, 1, one)
                pipe.execute()

    def reclaim(self) -> int:
        """At start: put what a previous matcher took but never acknowledged back at the head, in order."""
        self._raw.clear()
        return int(self._reclaim(keys=[self._key, self._processing]))

    def unacknowledged(self) -> int:
        return int(self._redis.llen(self._processing))

    def qsize(self) -> int:
        return int(self._redis.llen(self._key))

    # -- the single matcher --------------------------------------------------------------------------------
    def acquire_lease(self, wait: float = LEASE_S + 2) -> str | None:
        """Become the matcher; wait up to `wait` s for a killed predecessor's lease to run out.

        Returns None when we hold it, else who does.
        """
        deadline = time.monotonic() + wait
        while True:
            if self._redis.set(self._lease, self.holder, nx=True, px=int(LEASE_S * 1000)):
                return None
            holder = self._redis.get(self._lease)
            if time.monotonic() >= deadline:
                return holder.decode() if holder else "another matcher"
            time.sleep(0.5)

    def renew_lease(self) -> None:
        """Keep the lease; LeaseLost when another matcher took it meanwhile (we were stopped for > LEASE_S)."""
        if not self._renew(keys=[self._lease], args=[self.holder, int(LEASE_S * 1000)]):
            if not self._redis.set(self._lease, self.holder, nx=True, px=int(LEASE_S * 1000)):
                raise LeaseLost(f"another matcher ({self._redis.get(self._lease)!r}) holds {self._lease}")

    def release_lease(self) -> None:
        if self._redis.get(self._lease) == self.holder.encode():
            self._redis.delete(self._lease)
