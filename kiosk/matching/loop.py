"""The single writer for matching: one loop owns every event's MatchEngine and makes every match decision.

Web requests (check-in, card edits, leaving, round requests) put work on a queue and return at once. On a laptop
the loop is a thread in the web process; in scale-out it is the `givetake matcher` process reading a Redis list.
After a restart an event's engine is rebuilt from the database on first use, with the cached embeddings.
"""
from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload

import matcher

from ..concurrency import off_the_loop
from ..db import Database
from ..events.service import group_rule
from ..models import Attendee, Event, Match, MatchSource, Round, present, utcnow
from ..realtime.stats import StatsThrottle, publish_stats
from ..rounds.service import plan_round, store_round
from . import service
from .queue import LEASE_S, LeaseLost, WorkQueue

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def shared_encoder():
    """The process-wide encoder (MiniLM fused with lexical, or lexical alone); loaded once, used by the one loop."""
    return matcher.default_encoder()


class WriterLock:
    """An exclusive lock on a file, held by the process whose loop is the single matcher of a database.

    On the laptop tier the loop runs inside `givetake serve`; a second process on the same instance folder (a
    `givetake round` next to it, a second `serve`) must not start another loop: two writers would make duplicate
    and contradictory match decisions. (flock: released by the kernel when the process dies, so a crash leaves no
    stale lock. Scale-out needs no file: its one `givetake matcher` process is fed through Redis.)
    """

    def __init__(self, path: str | None):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; True if this process holds it now."""
        if self._fd is not None or self.path is None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


class MatcherBusy(RuntimeError):
    """Another process on this instance folder runs the matcher (the single writer)."""


class MatcherLoop:
    """Consumes work items and keeps one MatchEngine per event in memory."""

    def __init__(self, database: Database, work: WorkQueue, encoder=None, lock_path: str | None = None):
        self.database = database
        self.work = work
        #: Held while this loop may run (see WriterLock); None for the Redis-fed process.
        self.writer_lock = WriterLock(lock_path)
        self._encoder = encoder
        self.engines: dict[int, matcher.MatchEngine] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self.processed = 0
        self.stats = StatsThrottle()
        self._lease_renewed = time.monotonic()
        self._queue_lost = False

    @property
    def encoder(self):
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    @property
    def loaded_encoder(self):
        """The encoder if it is loaded already (serve loads it at start), else None: never loads it."""
        return self._encoder

    @property
    def model_id(self) -> str | None:
        semantic = matcher.encoders.semantic_of(self.encoder)
        return getattr(semantic, "model_id", None)

    # -- running -------------------------------------------------------------------------------------------
    def claim(self) -> bool:
        """Become this database's single matcher; False when another process already is."""
        return self.writer_lock.acquire()

    def start(self) -> "MatcherLoop":
        """Run in a daemon thread (laptop tier); MatcherBusy when another process runs the matcher."""
        if not self.claim():
            raise MatcherBusy(f"another Give & Take process holds {self.writer_lock.path}: it runs the matcher")
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self.run_forever, name="givetake-matcher", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5) -> None:
        """Ask the loop to finish its current item and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_forever(self) -> None:
        """Process items until stopped; an item that fails is logged and skipped, never kills the loop.

        What queued up while the loop was busy (the 8:55 queue at the doors) is taken in one go, and the
        check-ins in it are matched in one read and one write transaction (see `batches`).
        """
        while not self._stop.is_set():
            self.flush_stats()
            self.keep_lease()
            try:
                item = self.work.get(timeout=self.stats.wait_hint(0.5))
            except Exception:  # Redis restarting: wait for it, never die (systemd would only start us again)
                log.warning("matcher work queue unreachable; retrying in 1 s", exc_info=True)
                self._queue_lost = True
                self._stop.wait(1)
                continue
            if self._queue_lost:  # back: what web processes could not hand over meanwhile is matched now
                self._queue_lost = False
                self.catch_up_logged()
            if item is None:
                if not self.stats.pending():
                    self._idle.set()
                continue
            self._idle.clear()
            items = [item]
            try:
                time.sleep(GATHER_S)  # the requests in flight commit first: under load their work joins the batch
                items += self.work.get_many(MAX_BATCH - 1)
            except Exception:  # Redis away for a moment: go on with what we hold
                log.exception("could not take more matcher work; going on with %d item(s)", len(items))
            for batch in batches(items):
                self.handle_logged(batch)
            self.acknowledge(items)
            self.processed += len(items)

    def catch_up_logged(self) -> None:
        try:
            caught = self.catch_up()
        except Exception:
            log.exception("could not catch up on unmatched people")
            return
        if caught:
            log.info("caught up on %d present people with no match yet", caught)

    def acknowledge(self, items: list[dict]) -> None:
        """Tell the queue these items are done (their writes committed or they failed for good and were logged).

        Unacknowledged items wait in Redis's processing list; if Redis is away now they are handled again after
        a restart, which is safe (see kiosk.matching.queue.RedisQueue).
        """
        for attempt in range(5):
            try:
                return self.work.ack(items)
            except Exception:
                log.warning("could not acknowledge %d matcher item(s) (%d/5)", len(items), attempt + 1,
                            exc_info=True)
                self._stop.wait(0.5 * 2 ** attempt)

    def keep_lease(self) -> None:
        """Renew the single-matcher lease (Redis-fed matcher); stop when another matcher took it."""
        renew = getattr(self.work, "renew_lease", None)
        now = time.monotonic()
        if renew is None or now - self._lease_renewed < LEASE_RENEW_S:
            return
        try:
            renew()
            self._lease_renewed = now
        except LeaseLost:
            log.error("another matcher took over; this one stops so that no pair is decided twice")
            self._stop.set()
        except Exception:
            log.warning("could not renew the matcher lease (Redis away?)", exc_info=True)

    def handle_logged(self, item: dict) -> None:
        """Handle an item; log what fails. A failed batch is tried again person by person, so one bad profile
        costs that person's matches, not the batch's."""
        try:
            self.handle_with_retry(item)
        except Exception:
            people = item.get("attendee_ids") or []
            if item.get("kind") == "present" and len(people) > 1:
                log.warning("matcher batch of %d people failed; matching each alone", len(people), exc_info=True)
                for attendee_id in people:
                    self.handle_logged({**item, "attendee_ids": [attendee_id]})
                return
            log.exception("matcher could not handle %r", item)

    def handle_with_retry(self, item: dict, attempts: int = 3) -> None:
        """Handle an item; a busy or unreachable database is retried with a short backoff, not given up on."""
        for attempt in range(1, attempts + 1):
            try:
                return self.handle(item)
            except OperationalError:
                if attempt == attempts:
                    raise
                log.warning("database busy while handling %r; retrying (%d/%d)", item, attempt, attempts)
                time.sleep(0.25 * 2 ** attempt)

    def flush_stats(self) -> None:
        """Publish the counters of events that changed, at most once a second each (bursts stay readable)."""
        for event_id in self.stats.due():
            try:
                with self.database.transaction() as session:
                    publish_stats(session, event_id, queue=getattr(self.work, "qsize", lambda: 0)())
            except Exception:
                log.exception("could not publish stats of event %s", event_id)

    def drain(self, timeout: float = 30) -> bool:
        """Wait until the queue is empty and the loop idle (tests and the CLI); True if it got there in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            size = getattr(self.work, "qsize", lambda: 0)()
            if size == 0 and self._idle.wait(0.05) and getattr(self.work, "qsize", lambda: 0)() == 0:
                return True
            time.sleep(0.02)
        return False

    # -- work ------------------------------------------------------------------------------------------------
    def handle(self, item: dict) -> None:
        """Dispatch one work item (or a `present` batch of check-ins and card edits, see `batches`)."""
        kind = item.get("kind")
        event_id = int(item["event_id"])
        if kind in ("checkin", "cards", "present"):
            people = [int(a) for a in (item["attendee_ids"] if kind == "present" else [item["attendee_id"]])]
            if item.get("redelivered"):
                people = self.not_matched_since(event_id, people, item.get("queued_at"))
            self.on_present_many(event_id, people, announce=not item.get("quiet"))
            self.stats.touch(event_id)
        elif kind == "round":
            if item.get("redelivered") and self.round_started_since(event_id, item.get("requested_at")):
                log.info("round for event %s was stored before the last matcher stopped; not run twice", event_id)
                return
            self.on_round(event_id)
            self.stats.touch(event_id)
        elif kind == "leave":
            engine = self.engines.get(event_id)
            if engine is not None and int(item["attendee_id"]) in engine:
                engine.remove(int(item["attendee_id"]))
        elif kind == "status":
            engine = self.engines.get(event_id)
            if engine is not None:
                reason = {"declined": "declined", "met": "met"}.get(item.get("status"), "matched")
                engine.exclude(int(item["a"]), int(item["b"]), reason=reason)
        elif kind == "contact":
            # They scanned each other's badge: they met, so they are not suggested to each other; the screen's
            # "contacts swapped" moves with the next stats message.
            engine = self.engines.get(event_id)
            if engine is not None:
                engine.exclude(int(item["a"]), int(item["b"]), reason="met")
            self.stats.touch(event_id)
        elif kind == "reset":
            self.engines.pop(event_id, None)
        else:
            log.warning("unknown matcher work %r", item)

    def on_round(self, event_id: int):
        """Pair everyone present in a new round and announce it (kiosk.rounds.service).

        The pairing runs on a read-only snapshot and, when serving on gevent, in a native thread: a round for
        2,000 people is a second of numpy, during which pages, sockets and kiosks' writes carry on. Only storing
        and announcing it takes the write lock.
        """
        engine = self.engine_for(event_id)
        with self.database.reader() as session:
            plan = plan_round(session, event_id, engine, run=off_the_loop)
        if plan is None:
            log.info("round for event %s skipped: fewer than two people present", event_id)
            return None
        try:
            with self.database.transaction() as session:
                return store_round(session, event_id, engine, plan)
        except Exception:
            self.engines.pop(event_id, None)  # pair_round excluded pairs that were not stored: rebuild from what is
            raise

    def not_matched_since(self, event_id: int, people: list[int], queued_at: str | None) -> list[int]:
        """Of redelivered present-work, who still needs it: people with no live match made since it was queued.

        Whoever got one was handled before the last matcher stopped (its commit landed, its acknowledgement did
        not); suggesting again would give them a second helping of matches.
        """
        since = _parse_time(queued_at)
        if since is None or not people:
            return people
        with self.database.reader() as session:
            rows = session.execute(select(Match.a_id, Match.b_id).where(
                Match.event_id == event_id, Match.source == MatchSource.live, Match.created_at >= since,
                or_(Match.a_id.in_(people), Match.b_id.in_(people)))).all()
        handled = {x for pair in rows for x in pair}
        return [p for p in people if p not in handled]

    def round_started_since(self, event_id: int, requested_at: str | None) -> bool:
        """Whether a round of the event started at or after `requested_at` (an ISO time; None: any round)."""
        with self.database.reader() as session:
            latest = session.scalar(select(func.max(Round.starts_at)).where(Round.event_id == event_id))
        if latest is None:
            return False
        asked = _parse_time(requested_at)
        return asked is None or _aware(latest) >= asked

    def catch_up(self, recent: timedelta = timedelta(days=1)) -> int:
        """Match everyone present who has no match at all; returns how many people that was.

        The database is the truth and the queue only the fast path: work can be lost on the way (a laptop that
        crashed with items in its in-process queue, Redis restarted with check-ins waiting, a web process that
        could not reach Redis to hand work over). Run at start and whenever the queue comes back; someone who
        simply has nobody to meet yet is asked again, which finds nothing new and writes nothing.
        """
        matched = select(Match.id).where(or_(Match.a_id == Attendee.id, Match.b_id == Attendee.id)).exists()
        with self.database.reader() as session:
            rows = session.execute(
                select(Attendee.event_id, Attendee.id).join(Event, Event.id == Attendee.event_id)
                .where(present(Attendee.event_id), ~matched,
                       or_(Event.ends_at.is_(None), Event.ends_at > utcnow() - recent))
                .order_by(Attendee.event_id, Attendee.checked_in_at, Attendee.id)).all()
        waiting: dict[int, list[int]] = {}
        for event_id, attendee_id in rows:
            waiting.setdefault(event_id, []).append(attendee_id)
        for event_id, people in waiting.items():
            for start in range(0, len(people), MAX_BATCH):
                # quiet: a phone already told "next round" is not told again at every restart
                self.handle_logged({"kind": "present", "event_id": event_id, "quiet": True,
                                    "attendee_ids": people[start:start + MAX_BATCH]})
            self.stats.touch(event_id)
        return len(rows)

    def warm_up(self, recent: timedelta = timedelta(days=1)) -> dict[int, int]:
        """Build the engines of events with people present (not ended over `recent` ago): {event id: people}.

        A restart mid-event then rebuilds before it serves, instead of inside the first check-in after it (which
        would hold every kiosk while hundreds of people are read and indexed).
        """
        with self.database.reader() as session:
            event_ids = session.scalars(
                select(Event.id).where(or_(Event.ends_at.is_(None), Event.ends_at > utcnow() - recent),
                                       select(Attendee.id).where(present(Event.id)).exists())
                .order_by(Event.id)).all()
        return {event_id: len(self.engine_for(event_id)) for event_id in event_ids}

    def engine_for(self, event_id: int) -> matcher.MatchEngine:
        """The event's engine, built from the database on first use (everyone present, known pairs excluded).

        Reading and encoding happen outside any write transaction: on SQLite a write transaction is the whole
        database's lock, and kiosks must not wait while the encoder runs.
        """
        engine = self.engines.get(event_id)
        if engine is not None:
            return engine
        model_id = self.model_id
        with self.database.reader() as session:
            event = session.get(Event, event_id)
            settings, rule = service.settings_of(event), group_rule(event)
            people = service.present_attendees(session, event_id)
            wanted = [service.profile_of(a, model_id) for a in people]
            pairs = service.known_pairs(session, event_id)
            window_s = float(settings["window_s"])
            recent = service.recent_live_matches(session, event_id, utcnow() - timedelta(seconds=window_s))
        engine = matcher.MatchEngine(self.encoder, capacity=int(settings["capacity"]), window_s=window_s,
                                     exclude_same_company=bool(settings["exclude_same_company"]),
                                     group_rule=rule)
        profiles = engine.upsert_many(wanted)
        now, wall = engine.clock(), utcnow()
        for pair, created_at in recent:  # capacity windows survive a restart: the matches count from when made
            engine.record(pair, at=now - (wall - created_at).total_seconds())
        for a, b, reason in pairs:  # after record: the database's reason (declined, met...) is the one kept
            engine.exclude(a, b, reason=reason)
        to_cache = [p for p, w in zip(profiles, wanted) if service.needs_embeddings(w)]
        if to_cache and model_id:
            with self.database.transaction() as session:
                service.store_embeddings(session, to_cache, model_id)
        self.engines[event_id] = engine
        log.info("matcher engine for event %s rebuilt with %d people", event_id, len(people))
        return engine

    def on_present_many(self, event_id: int, attendee_ids: list[int], announce: bool = True) -> list:
        """People checked in or changed their cards: (re)index each, in order, and store their best new matches.

        Only suggestions above the floor are live matches; with `announce`, whoever gets none is told on their
        phone that they will be paired in the next round.

        Read, encode and suggest without a write lock; then one short transaction stores vectors and matches.
        Each person's matches count in the engine before the next person is suggested (nobody is offered the
        same pair twice, capacity holds within the batch); if anything fails before the commit, the engine
        forgets them again (`unrecord`), so it never remembers a match that was not stored.
        """
        engine = self.engine_for(event_id)
        model_id = self.model_id
        with self.database.reader() as session:
            found_people = {a.id: a for a in session.scalars(select(Attendee).where(Attendee.id.in_(attendee_ids))
                                                             .options(selectinload(Attendee.cards)))}
            settings = service.settings_of(session.get(Event, event_id))
            k, floor = int(settings["k"]), service.live_floor(settings, engine)
            wanted = {}
            for attendee_id in dict.fromkeys(attendee_ids):  # once each, in arrival order
                attendee = found_people.get(attendee_id)
                if attendee is None or attendee.checked_in_at is None or attendee.erased_at is not None:
                    if attendee_id in engine:
                        engine.remove(attendee_id)
                    continue
                wanted[attendee_id] = service.profile_of(attendee, model_id)
        to_cache, found = [], []
        turn = time.monotonic()
        try:
            for attendee_id, profile in wanted.items():
                indexed = engine.upsert(profile)
                if service.needs_embeddings(profile) and model_id:
                    to_cache.append(indexed)
                for match in engine.suggest(attendee_id, k=k, min_score=floor):
                    engine.record(match)
                    found.append(match)
                if time.monotonic() - turn > YIELD_EVERY_S:  # on gevent: pages and sockets get a turn
                    time.sleep(0)
                    turn = time.monotonic()
            matched = {m.a for m in found} | {m.b for m in found}
            unmatched = [pid for pid in wanted if pid not in matched] if announce else []
            if not found and not to_cache and not unmatched:
                return []
            with self.database.transaction() as session:
                service.store_embeddings(session, to_cache, model_id)
                people = {a.id: a for a in session.scalars(select(Attendee).where(Attendee.id.in_(matched)))}
                for pid in unmatched:
                    service.announce_unmatched(session, event_id, pid)
                return service.save_matches(session, event_id, found, people)
        except Exception:
            for match in reversed(found):  # none of them was stored: the engine forgets them
                engine.unrecord(match)
            raise


#: How often the Redis-fed matcher renews its lease (a third of its length: two renewals may fail in a row).
LEASE_RENEW_S = LEASE_S / 3
#: At most this many queued items are taken at once (a batch's write transaction stays short).
MAX_BATCH = 64
#: Within a batch the loop lets other greenlets run at least this often (a turn after every person cost 3-5%).
YIELD_EVERY_S = 0.01
#: How long the loop lets other work run before it takes a batch: the check-ins in flight commit first and join
#: it (at 8 busy kiosks with 2,400 people present: 189 -> 208 check-ins/s), for 3 ms more before a match shows.
GATHER_S = 0.003


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _parse_time(text: str | None) -> datetime | None:
    """An ISO time from a work item (as submit_after_commit writes it), or None when missing or unreadable."""
    try:
        return _aware(datetime.fromisoformat(text)) if text else None
    except (TypeError, ValueError):
        return None


def batches(items: list[dict]) -> list[dict]:
    """Items in order, with each run of check-ins and card edits of one event merged into one `present` item.

    Order matters only within an event and between kinds (a decline must reach the engine before the next
    suggestion for that person), so only consecutive present-work is merged.
    """
    out: list[dict] = []
    for item in items:
        if item.get("kind") in ("checkin", "cards") and "event_id" in item and "attendee_id" in item:
            if item.get("redelivered"):  # handled apart: its check before matching needs its own queued_at
                out.append({"kind": "present", "event_id": item["event_id"], "attendee_ids": [item["attendee_id"]],
                            "redelivered": True, "queued_at": item.get("queued_at")})
                continue
            last = out[-1] if out else None
            if (last is not None and last["kind"] == "present" and last["event_id"] == item["event_id"]
                    and not last.get("redelivered")):
                last["attendee_ids"].append(item["attendee_id"])
                continue
            out.append({"kind": "present", "event_id": item["event_id"], "attendee_ids": [item["attendee_id"]]})
        else:
            out.append(item)
    return out
