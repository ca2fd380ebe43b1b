"""`python -m bench checkin`: sustained check-ins per second and latency through the HTTP API, against storage alone.

Ours: `givetake serve` (gevent, the default; GIVETAKE_ASYNC_MODE=threading for werkzeug's threads) in its own
process, started once the people of the runs before it are in (so it indexes them first); 8 kiosk threads, each with its own
keep-alive connection (`requests.Session`) and device token, check in different pre-registered attendees through
`POST /api/events/<slug>/attendees/<id>/checkin` as fast as they get answers. Measured with the matcher off (the
storage path) and with the in-process matcher on (every attendee has an offer and a need card, so it has work).
Peer: a bare SQLAlchemy loop on an engine from `kiosk.db.make_engine` (the same pragmas, BEGIN IMMEDIATE on SQLite,
the same pool on PostgreSQL) doing one committed `UPDATE attendees SET checked_in_at=... WHERE id=? AND
checked_in_at IS NULL` per attendee, on 1 and on 8 threads; the faster is the storage limit. The ratio (ours over
the peer) is the share of that limit the app keeps: the rest is HTTP, auth, ORM, the event log and the matcher.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Iterable

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import kiosk_grants, percentiles, result
from kiosk.concurrency import configured_async_mode
from tests.livesrv import ServerProcess

PEER = "bare SQLAlchemy compare-and-set UPDATE loop (make_engine)"
PG_ADMIN_URL = os.environ.get("GIVETAKE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Concurrent kiosks (client threads); GIVETAKE_BENCH_KIOSKS=24 shows what a bigger entrance does to SQLite.
THREADS = int(os.environ.get("GIVETAKE_BENCH_KIOSKS", "8"))
TARGET_SQLITE_PER_S = 200.0
#: How the server runs, as `givetake serve` reads GIVETAKE_ASYNC_MODE.
ASYNC_MODE = configured_async_mode()

OFFERS = ["Seed fundraising advice", "Product design reviews", "Python code reviews", "Grant writing help",
          "Intros to hardware suppliers", "UX research on a budget", "Hiring engineers in Berlin"]
NEEDS = ["A designer for our landing page", "Feedback on our term sheet", "A mentor for public speaking",
         "Cloud cost control tips", "A partner for a climate project", "Beta testers for a mobile app"]


def _seed(database_url: str, instance: str, attendees: int) -> tuple[str, list[int], dict[str, int]]:
    """Migrate, then create an event with `attendees` people (an offer and a need card each) and 8 kiosks."""
    from kiosk import create_app, schema
    from kiosk.attendees.service import create_attendee
    from kiosk.cards.service import set_cards
    from kiosk.db import db
    from kiosk.devices.service import create_device, pair
    from kiosk.events.service import create_event

    app = create_app({"INSTANCE_PATH": instance, "DATABASE_URL": database_url, "MATCHER": "off",
                      "SECRET_KEY": "bench"})
    schema.upgrade(database_url)
    with app.app_context():
        s = db.session
        event = create_event(s, name="Bench Summit", slug="bench-summit", tags=["Funding", "Design", "Software"])
        ids = []
        for i in range(attendees):
            person = create_attendee(s, event, first_name=f"Guest{i}", last_name="Bench",
                                     email=f"guest{i}@example.org")
            set_cards(s, person, "offer", [OFFERS[i % len(OFFERS)]])
            set_cards(s, person, "need", [NEEDS[i % len(NEEDS)]])
            ids.append(person.id)
        tokens = {}
        for k in range(THREADS):
            device, token = pair(s, create_device(s, event, "kiosk", f"Kiosk {k + 1}").pairing_code)
            tokens[token] = device.id
        s.commit()
        slug = event.slug
    app.extensions["givetake.db"].dispose()
    return slug, ids, tokens


def _drive(base_url: str, slug: str, tokens: dict[str, int], ids: list[int]) -> tuple[float, list[float], dict]:
    """Check in `ids` from one thread per kiosk token, all at once: wall seconds, latencies, non-200 answers.

    Each kiosk holds the grant for the people it serves (as after choosing them from its lookup)."""
    shares = [ids[k::len(tokens)] for k in range(len(tokens))]
    grants = {token: kiosk_grants("bench", device_id, share) for (token, device_id), share in zip(tokens.items(), shares)}
    barrier = threading.Barrier(len(tokens) + 1)
    failures: dict[int, str] = {}

    def kiosk(token: str, share: list[int]) -> list[float]:
        http = requests.Session()
        http.headers["Authorization"] = f"Bearer {token}"
        http.get(f"{base_url}/api/events/{slug}/stats", timeout=30)  # open the connection before the clock starts
        latencies = []
        barrier.wait()
        for attendee_id in share:
            t0 = time.perf_counter()
            response = http.post(f"{base_url}/api/events/{slug}/attendees/{attendee_id}/checkin", timeout=60,
                                 headers={"X-Kiosk-Grant": grants[token][attendee_id]})
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                failures[attendee_id] = f"{response.status_code} {response.text[:200]}"
        return latencies

    with ThreadPoolExecutor(len(tokens)) as pool:
        futures = [pool.submit(kiosk, token, share) for token, share in zip(tokens, shares)]
        barrier.wait()
        t0 = time.perf_counter()
        latencies = [lat for future in futures for lat in future.result()]
        wall = time.perf_counter() - t0
    return wall, latencies, failures


def _server(database_url: str, instance: str, matcher: str) -> ServerProcess:
    """`givetake serve` on the database in its own process (launched, not yet waited for)."""
    env = {"GIVETAKE_INSTANCE_PATH": instance, "GIVETAKE_DATABASE_URL": database_url, "GIVETAKE_MATCHER": matcher,
           "GIVETAKE_SECRET_KEY": "bench", "GIVETAKE_REDIS_URL": ""}
    return ServerProcess(env).launch()


def _peer(database_url: str, ids: list[int], threads: int) -> tuple[float, list[float]]:
    """One committed compare-and-set UPDATE per attendee on `threads` threads, each with its own connection."""
    from kiosk.db import make_engine
    engine = make_engine(database_url)
    stmt = text("UPDATE attendees SET checked_in_at = :now WHERE id = :id AND checked_in_at IS NULL")
    shares = [ids[k::threads] for k in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def loop(share: list[int]) -> list[float]:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            conn.commit()
            barrier.wait()
            latencies = []
            for attendee_id in share:
                t0 = time.perf_counter()
                changed = conn.execute(stmt, {"now": datetime.now(timezone.utc), "id": attendee_id}).rowcount
                conn.commit()
                latencies.append(time.perf_counter() - t0)
                if changed != 1:
                    raise RuntimeError(f"peer: attendee {attendee_id} changed {changed} rows")
        return latencies

    try:
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(loop, share) for share in shares]
            barrier.wait()
            t0 = time.perf_counter()
            latencies = [lat for future in futures for lat in future.result()]
            wall = time.perf_counter() - t0
    finally:
        engine.dispose()
    return wall, latencies


class _Database:
    """A throwaway database of one kind: a SQLite file in a temporary folder, or a fresh PostgreSQL database."""

    def __init__(self, kind: str, workdir: str):
        self.kind = kind
        self.instance = os.path.join(workdir, kind)
        self._pg_name = None
        if kind == "sqlite":
            self.url = f"sqlite:///{os.path.join(self.instance, 'givetake.db')}"
        else:
            self._pg_name = f"givetake_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self._pg_name}"'))
            admin.dispose()
            self.url = make_url(PG_ADMIN_URL).set(database=self._pg_name).render_as_string(hide_password=False)

    def drop(self) -> None:
        if self._pg_name:
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self._pg_name}" WITH (FORCE)'))
            admin.dispose()


def _pg_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # no server, no database, no driver: the PostgreSQL rows are skipped with a reason
        return False


def _exceptions(log: str) -> list[str]:
    """The distinct exception lines (the last line of each traceback) in a server's log."""
    found = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        lines = [line for line in block.splitlines() if line and not line.startswith((" ", "\t"))]
        if lines and lines[0][:200] not in found:
            found.append(lines[0][:200])
    return found


def _rows(kind: str, matcher: str, ours: tuple[float, list[float], dict], peer_rate: float, peer_p99: float,
          peer_how: str) -> list[dict]:
    wall, latencies, failures = ours
    rate = (len(latencies) - len(failures)) / wall  # only acknowledged check-ins count
    p50, p99 = percentiles(latencies, 50, 99)
    tags = {"database": kind, "matcher": matcher, "threads": THREADS, "peer_threads": peer_how, "async_mode": ASYNC_MODE,
            "failed": len(failures), "load_1min": round(os.getloadavg()[0], 1)}
    rows = [result("checkin", f"checkins_per_s_{kind}_matcher_{matcher}", rate, "1/s", len(latencies), PEER,
                   peer_rate, **tags),
            result("checkin", f"p50_ms_{kind}_matcher_{matcher}", p50, "ms", len(latencies), None, None,
                   higher_is_better=False, **tags),
            result("checkin", f"p99_ms_{kind}_matcher_{matcher}", p99, "ms", len(latencies), PEER, peer_p99,
                   higher_is_better=False, **tags)]
    if failures:
        rows[0]["first_failure"] = next(iter(failures.values()))
    if kind == "sqlite":
        rows[0]["target"] = TARGET_SQLITE_PER_S
        rows[0]["meets_target"] = rate >= TARGET_SQLITE_PER_S
    return rows


def run(quick: bool) -> Iterable[dict]:
    """Rows for SQLite and PostgreSQL, matcher off then on, each against the peer on the same database kind."""
    per_run = 48 if quick else 800  # check-ins per measured configuration, split over the 8 kiosks
    peer_n = 80 if quick else 800
    matchers = ["off", "inprocess"]
    kinds = ["sqlite"] + (["postgresql"] if _pg_available() else [])
    if len(kinds) == 1:
        yield {"bench": "checkin", "error": f"PostgreSQL at {PG_ADMIN_URL} is not reachable; its rows are skipped"}
    workdir = tempfile.mkdtemp(prefix="givetake-bench-checkin-")
    databases, servers = {}, {}
    try:
        for kind in kinds:
            databases[kind] = _Database(kind, workdir)
            url = databases[kind].url
            slug, ids, tokens = _seed(url, databases[kind].instance, per_run * len(matchers) + 2 * peer_n)
            peer_ids = ids[per_run * len(matchers):]
            peers = {"1": _peer(url, peer_ids[:peer_n], 1), str(THREADS): _peer(url, peer_ids[peer_n:], THREADS)}
            best = max(peers, key=lambda k: len(peers[k][1]) / peers[k][0])
            peer_rate = len(peers[best][1]) / peers[best][0]
            peer_p99 = percentiles(peers[best][1], 99)[0]
            for n, matcher in enumerate(matchers):
                # Each server starts once the previous run's people are in: as after a restart mid-event, the
                # matcher indexes everyone present before it listens, and each check-in is then matched against
                # them all (the matcher-on run meets the matcher-off run's people).
                servers[kind, matcher] = _server(url, databases[kind].instance, matcher).wait_ready(180)
                ours = _drive(servers[kind, matcher].url, slug, tokens, ids[n * per_run:(n + 1) * per_run])
                rows = _rows(kind, matcher, ours, peer_rate, peer_p99, best)
                if ours[2]:
                    rows[0]["server_errors"] = _exceptions(servers[kind, matcher].output())
                yield from rows
                servers.pop((kind, matcher)).stop()
            for threads, (wall, latencies) in peers.items():
                yield result("checkin", f"peer_commits_per_s_{kind}_{threads}_threads", len(latencies) / wall,
                             "1/s", len(latencies), None, None, database=kind, threads=int(threads),
                             p99_ms=round(percentiles(latencies, 99)[0], 2))
    finally:
        for server in servers.values():
            server.stop()
        for database in databases.values():
            database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
