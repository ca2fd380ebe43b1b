"""`python -m bench realtime`: from the check-in API call to the `match` event at a screen client.

Ours: `givetake serve` (SQLite, in-process matcher) with 1, 100 and 1,000 Socket.IO clients in the screen room, the
timed client joining last (the last socket a room emit reaches); then scale-out: two `givetake serve` processes and
`givetake matcher` on PostgreSQL and Redis, clients on A, check-ins on B. Peer, same run, same client swarm: a bare
Flask-SocketIO app that broadcasts the same payload to the same room when asked over HTTP (one process, then two
over the same Redis message queue). The difference is our overhead over the transport: check-in transaction,
matcher queue and scoring, event log, emit after commit.

Card texts repeat across attendees, so the encoder's cache holds them (as for pre-registered people whose cards
were encoded before the doors opened); MiniLM's own cost is `bench encode`.

Client swarms and servers run in their own processes (time.monotonic is one clock for all processes on Linux).
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.common import kiosk_grants, percentiles, result
from kiosk.concurrency import configured_async_mode  # imports nothing but the standard library (and gevent, to look)

ROOT = Path(__file__).resolve().parent.parent
BENCH = "realtime"
TARGET_ONE_PROCESS_MS = 100
TARGET_ACROSS_MS = 250
#: How `givetake serve` (and so the peer) runs: GIVETAKE_ASYNC_MODE as `serve` reads it (auto: gevent if installed).
ASYNC_MODE = configured_async_mode()
REDIS_URL = os.environ.get("GIVETAKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PG_ADMIN_URL = os.environ.get("GIVETAKE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

CARDS = [  # (offer, offer tag, need, need tag): people of kind i and i^1 complement each other
    ("I review pitch decks and term sheets", "Funding", "A designer for our landing page", "Design"),
    ("Landing page and brand design", "Design", "Feedback on our seed round term sheet", "Funding"),
    ("Python code reviews", "Software", "Someone to help hire our first engineer", "Hiring"),
    ("I have hired twenty engineers", "Hiring", "Code review of our Python backend", "Software"),
]


# -- the pieces that run in their own processes ---------------------------------------------------------------

def swarm_main(url: str, event: str, token: str, count: int, last_seq: int, probe: bool = True) -> None:
    """Connect `count` clients to the screen room; the last one reports each match: `match <tag> <monotonic>`
    (with `probe` false, none does: a load swarm beside a probe of its own, see `Swarm`).

    One asyncio loop holds every client (python-socketio's AsyncClient over aiohttp): 1,000 clients are 1,000
    sockets, not the 2,000+ threads of the threading client, so the swarm measures the server, not itself.
    """
    import asyncio
    import gc

    import socketio

    def on_match(payload):
        tag = payload.get("bench_tag") or max(payload["a"]["id"], payload["b"]["id"])
        sys.stdout.write(f"match {tag} {time.monotonic():.6f}\n")
        sys.stdout.flush()

    async def connect(probe: bool):
        client = socketio.AsyncClient(reconnection=False)
        client.on("match", on_match if probe else (lambda payload: None))
        await client.connect(url, transports=["websocket"], wait_timeout=60)
        answer = await client.call("join", {"role": "screen", "event": event, "token": token,
                                            "last_seq": last_seq}, timeout=60)
        assert answer and answer.get("ok"), answer
        return client

    async def main():
        clients = []
        for start in range(0, count - 1, 50):  # in waves, like phones arriving, not one SYN flood
            clients += await asyncio.gather(*(connect(False) for _ in range(start, min(start + 50, count - 1))))
        clients.append(await connect(probe))
        gc.collect()
        gc.freeze()  # the swarm's own garbage collector must not pause the probe mid-sample: it is not the server
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # closed when the bench is done
        os._exit(0)  # closing 1,000 websockets politely takes a while; the process exit closes them at once

    asyncio.run(main())


def peer_main(port: int, redis_url: str | None, async_mode: str) -> None:
    """A bare Flask-SocketIO app: `join` puts the socket in a room, POST /fire emits a payload to it.

    It runs the way `givetake serve` does (the same async mode, the same garbage-collector settings), so the
    difference between the two is our app's work, not the server underneath.
    """
    if async_mode == "gevent":
        from gevent import monkey
        monkey.patch_all()
    import logging

    from flask import Flask, request
    from flask_socketio import SocketIO, join_room
    app = Flask("peer")
    sio = SocketIO(app, async_mode=async_mode, message_queue=redis_url)

    @sio.on("join")
    def join(data):
        join_room("screen")
        return {"ok": True}

    @app.post("/fire")
    def fire():
        sio.emit("match", request.get_json(), to="screen")
        return {"ok": True}

    @app.get("/healthz")
    def healthz():  # what the balancer's health check asks (deploy/haproxy.cfg), as of our app
        return {"ok": True, "pid": os.getpid(), "sockets": len(sio.server.eio.sockets)}

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from kiosk.serving import tune_gc
    tune_gc()
    sio.run(app, host="127.0.0.1", port=port, allow_unsafe_werkzeug=True, log_output=False)


# -- orchestration ------------------------------------------------------------------------------------------------

def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    import requests
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


class Swarm:
    """A client swarm process; `wait(tag)` gives the probe's receive time of that match.

    With `own_probe`, the probe is a process of its own, connected after the other `count - 1` sockets: in one
    asyncio loop, the probe's copy of a broadcast waits behind the swarm decoding its thousands of other copies,
    which at 4,000 sockets is most of what would be measured (the client, not the servers)."""

    def __init__(self, url: str, event: str, token: str, count: int, last_seq: int = 0, own_probe: bool = False,
                 probe: bool = True):
        self.load = None
        if own_probe and count > 1:
            self.load, count = Swarm(url, event, token, count - 1, last_seq, probe=False), 1
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.realtime", "swarm", url, event, token, str(count),
                                      str(last_seq), "probe" if probe else "load"],
                                     cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.lines.get(timeout=240)
        if line != "ready":
            raise RuntimeError(f"swarm: {line}")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("eof")

    def wait(self, tag: int, timeout: float = 30) -> float:
        deadline = time.monotonic() + timeout
        while True:
            line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            parts = line.split()
            if parts[0] == "eof":
                raise RuntimeError("the swarm died")
            if parts[0] == "match" and int(parts[1]) == tag:
                return float(parts[2])

    def close(self):
        if self.load:
            self.load.close()
        try:
            self.proc.stdin.close()
            self.proc.wait(30)
        except Exception:
            self.proc.kill()


def _seed(database_url: str, instance: Path, samples: int) -> dict:
    """An event with anchors (checked in by the caller) and newcomers, a kiosk and a screen token."""
    from kiosk import create_app, schema
    from kiosk.db import db
    from kiosk.devices.service import create_device, pair
    from kiosk.attendees.service import create_attendee
    from kiosk.cards.service import set_cards
    from kiosk.events.service import create_event
    from kiosk.models import CardKind
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": "bench",
                      "DATABASE_URL": database_url, "MATCHER": "off"})
    schema.upgrade(database_url)
    with app.app_context():
        s = db.session
        event = create_event(s, name="Bench", slug=f"bench-{uuid.uuid4().hex[:6]}",
                             tags=["Funding", "Design", "Software", "Hiring"])
        # Generous capacity: every newcomer finds a partner however many came before.
        event.match_settings = {"k": 1, "capacity": 10_000, "window_s": 1}

        def person(i: int, kind: int):
            offer, otag, need, ntag = CARDS[kind]
            a = create_attendee(s, event, first_name=f"P{i}", last_name="Bench", consent_screen=True)
            set_cards(s, a, CardKind.offer, [{"text": offer, "tags": [otag]}])
            set_cards(s, a, CardKind.need, [{"text": need, "tags": [ntag]}])
            return a.id

        anchors = [person(i, i % 4) for i in range(8)]
        newcomers = [person(100 + i, i % 4) for i in range(samples * 3 + 4)]
        kiosk = create_device(s, event, "kiosk", "Bench kiosk")
        _, kiosk_token = pair(s, kiosk.pairing_code)
        screen = create_device(s, event, "screen", "Bench screen")
        _, screen_token = pair(s, screen.pairing_code)
        s.commit()
        seeded = {"slug": event.slug, "anchors": anchors, "newcomers": newcomers, "kiosk": kiosk_token,
                  "kiosk_id": kiosk.id,
                  "screen": screen_token}
    app.extensions["givetake.db"].dispose()
    return seeded


def _last_seq(database_url: str, slug: str) -> int:
    """The event's newest seq: swarms join from there (no replay of the warm-up)."""
    from sqlalchemy import create_engine, text
    engine = create_engine(database_url)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT last_seq FROM events WHERE slug = :s"), {"s": slug}).scalar_one()
    engine.dispose()
    return int(value or 0)


def _serve(env: dict, port: int, instance: Path) -> subprocess.Popen:
    log = open(instance / f"serve-{port}.log", "w")
    proc = subprocess.Popen([sys.executable, "-c", "from kiosk.launch import main; main()", "serve", "--port", str(port)],
                            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/api/openapi.json", proc)
    return proc


def _check_in(http, base: str, seeded: dict, attendee_id: int) -> None:
    response = http.post(f"{base}/api/events/{seeded['slug']}/attendees/{attendee_id}/checkin", json={},
                         headers={"Authorization": f"Bearer {seeded['kiosk']}",
                                  "X-Kiosk-Grant": kiosk_grants("bench", seeded["kiosk_id"], [attendee_id])[attendee_id]},
                         timeout=30)
    response.raise_for_status()


SAMPLE_TIMEOUT_S = 20.0


def _measure_ours(http, check_in_base: str, swarm: Swarm, seeded: dict, people: list[int],
                  timeout: float = SAMPLE_TIMEOUT_S) -> list[float]:
    latencies = []
    for attendee_id in people:
        started = time.monotonic()
        _check_in(http, check_in_base, seeded, attendee_id)
        try:
            latencies.append(swarm.wait(attendee_id, timeout) - started)
        except queue.Empty:  # no match reached the probe in time: counted as the timeout, and reported
            latencies.append(float(timeout))
        time.sleep(0.05)  # let the stats and the second phone's messages go out before the next check-in
    return latencies


def _measure_peer(http, fire_base: str, swarm: Swarm, samples: int, payload: dict) -> list[float]:
    latencies = []
    for tag in range(1, samples + 1):
        started = time.monotonic()
        http.post(f"{fire_base}/fire", json={**payload, "bench_tag": tag}, timeout=30).raise_for_status()
        try:
            latencies.append(swarm.wait(tag, SAMPLE_TIMEOUT_S) - started)
        except queue.Empty:
            latencies.append(SAMPLE_TIMEOUT_S)
        time.sleep(0.05)
    return latencies


def _peer(port: int, redis_url: str | None, instance: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "bench.realtime", "peer", str(port), ASYNC_MODE, redis_url or ""]
    log = open(instance / f"peer-{port}.log", "w")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling", proc)
    return proc


def _rows(metric: str, ours: list[float], peer: list[float], clients: int, target: float) -> list[dict]:
    missed = sum(1 for x in ours if x >= SAMPLE_TIMEOUT_S)
    o50, o99 = percentiles(ours, 50, 99)
    p50, p99 = percentiles(peer, 50, 99)
    return [result(BENCH, f"{metric}_p50", o50, "ms", len(ours), "bare Flask-SocketIO broadcast", p50,
                   higher_is_better=False, clients=clients, async_mode=ASYNC_MODE),
            result(BENCH, f"{metric}_p99", o99, "ms", len(ours), "bare Flask-SocketIO broadcast", p99,
                   higher_is_better=False, clients=clients, target_ms=target, meets_target=o99 <= target,
                   missed=missed, async_mode=ASYNC_MODE, load_1min=round(os.getloadavg()[0], 1))]


SAMPLE_PAYLOAD = {"match_id": 1, "a": {"id": 1, "first_name": "Ana", "badge": 1},
                  "b": {"id": 2, "first_name": "Ben", "badge": 2}, "direction": "both", "score": 0.71,
                  "gives": [{"giver": 1, "taker": 2, "topic": "funding"}, {"giver": 2, "taker": 1, "topic": "design"}]}


def run_one_process(quick: bool, workdir: Path):
    import requests
    samples = 12 if quick else 60
    # 1,000 threading-mode sockets next to 1,000 client sockets do not fit --quick's minute on two cores.
    default = "1,100" if quick else "1,100,1000"
    client_counts = tuple(int(c) for c in os.environ.get("GIVETAKE_BENCH_CLIENTS", default).split(","))
    instance = workdir / "one"
    instance.mkdir()
    database_url = f"sqlite:///{instance / 'bench.db'}"
    seeded = _seed(database_url, instance, samples * len(client_counts))
    port = _free_port()
    env = {"GIVETAKE_DATABASE_URL": database_url, "GIVETAKE_INSTANCE_PATH": str(instance),
           "GIVETAKE_SECRET_KEY": "bench", "GIVETAKE_MATCHER": "inprocess", "GIVETAKE_REDIS_URL": ""}
    server = _serve(env, port, instance)
    peer_port = _free_port()
    peer = _peer(peer_port, None, instance)
    http = requests.Session()
    base = f"http://127.0.0.1:{port}"
    try:
        for anchor in seeded["anchors"]:  # loads the encoder and caches the card texts
            _check_in(http, base, seeded, anchor)
        time.sleep(1.5)
        newcomers = iter(seeded["newcomers"])
        for count in client_counts:
            swarm = Swarm(base, seeded["slug"], seeded["screen"], count, _last_seq(database_url, seeded["slug"]))
            try:
                _measure_ours(http, base, swarm, seeded, [next(newcomers)], timeout=180)  # warm-up
                ours = _measure_ours(http, base, swarm, seeded, [next(newcomers) for _ in range(samples)])
            finally:
                swarm.close()
            swarm = Swarm(f"http://127.0.0.1:{peer_port}", "peer", "peer", count)
            try:
                peer_lat = _measure_peer(http, f"http://127.0.0.1:{peer_port}", swarm, samples, SAMPLE_PAYLOAD)
            finally:
                swarm.close()
            yield from _rows(f"checkin_to_screen_{count}_clients", ours, peer_lat, count, TARGET_ONE_PROCESS_MS)
    finally:
        for proc in (server, peer):
            proc.terminate()
            proc.wait(20)


def run_across_processes(quick: bool, workdir: Path):
    import redis
    import requests
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    samples = 12 if quick else 60
    clients = 100
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"givetake_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no Redis or PostgreSQL here: say so in the results instead of failing the run
        yield {"bench": BENCH, "metric": "checkin_to_screen_across_processes_p99", "error": f"skipped: {exc}"}
        return
    database_url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    instance = workdir / "scale"
    instance.mkdir()
    procs = []
    try:
        redis.Redis.from_url(REDIS_URL).delete("givetake:matcher:work")
        seeded = _seed(database_url, instance, samples)
        env = {"GIVETAKE_DATABASE_URL": database_url, "GIVETAKE_INSTANCE_PATH": str(instance),
               "GIVETAKE_SECRET_KEY": "bench", "GIVETAKE_REDIS_URL": REDIS_URL}
        port_a, port_b = _free_port(), _free_port()
        procs.append(_serve(env, port_a, instance))
        procs.append(_serve(env, port_b, instance))
        log = open(instance / "matcher.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-c", "from kiosk.launch import main; main()", "matcher"],
                                      cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT))
        http = requests.Session()
        a, b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        swarm = Swarm(a, seeded["slug"], seeded["screen"], clients, _last_seq(database_url, seeded["slug"]))
        try:
            for anchor in seeded["anchors"]:
                _check_in(http, b, seeded, anchor)
            newcomers = iter(seeded["newcomers"])
            _measure_ours(http, b, swarm, seeded, [next(newcomers)], timeout=180)  # warm-up
            ours = _measure_ours(http, b, swarm, seeded, [next(newcomers) for _ in range(samples)])
        finally:
            swarm.close()
        peer_a, peer_b = _free_port(), _free_port()
        procs.append(_peer(peer_a, REDIS_URL, instance))
        procs.append(_peer(peer_b, REDIS_URL, instance))
        swarm = Swarm(f"http://127.0.0.1:{peer_a}", "peer", "peer", clients)
        try:
            peer_lat = _measure_peer(http, f"http://127.0.0.1:{peer_b}", swarm, samples, SAMPLE_PAYLOAD)
        finally:
            swarm.close()
        yield from _rows("checkin_to_screen_across_processes", ours, peer_lat, clients, TARGET_ACROSS_MS)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


TARGET_SCALE_OUT_MS = 250
TARGET_SCALE_OUT_RATIO = 1.5


def run_scale_out(quick: bool, workdir: Path):
    """Through HAProxy (deploy/haproxy.cfg): N gunicorn app processes (deploy/gunicorn.conf.py), the matcher,
    PostgreSQL and Redis, with the sockets spread over the processes by the balancer; check-ins through the
    balancer. Peer: N bare Flask-SocketIO processes on the same Redis behind the same balancer config, the same
    swarm, the broadcast asked for through the balancer."""
    import redis
    import requests
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.balancer import GunicornProcess, HAProxy
    samples = 12 if quick else 80
    sockets = int(os.environ.get("GIVETAKE_BENCH_SOCKETS", "400" if quick else "4000"))
    process_counts = (2,) if quick else (2, 4)
    if not HAProxy.available():
        yield {"bench": BENCH, "metric": "scale_out_checkin_to_screen_p99", "error": "skipped: no haproxy"}
        return
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        yield {"bench": BENCH, "metric": "scale_out_checkin_to_screen_p99", "error": f"skipped: {exc}"}
        return
    for n in process_counts:
        name = f"givetake_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        database_url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        instance = workdir / f"scale-out-{n}"
        instance.mkdir()
        running = []
        try:
            client = redis.Redis.from_url(REDIS_URL)
            client.delete("givetake:matcher:work", "givetake:matcher:work:processing", "givetake:matcher:work:lease")
            seeded = _seed(database_url, instance, samples)
            env = {"GIVETAKE_DATABASE_URL": database_url, "GIVETAKE_INSTANCE_PATH": str(instance),
                   "GIVETAKE_SECRET_KEY": "bench", "GIVETAKE_REDIS_URL": REDIS_URL, "GIVETAKE_MATCHER": "redis",
                   "GIVETAKE_PROXY_HOPS": "1", "GIVETAKE_PUBLIC_URL": ""}
            apps = [GunicornProcess(env).launch() for _ in range(n)]
            running += apps
            log = open(instance / "matcher.log", "w")
            matcher = subprocess.Popen([sys.executable, "-c", "from kiosk.launch import main; main()", "matcher"],
                                       cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
            for a in apps:
                a.wait_ready(180)
            lb = HAProxy([a.port for a in apps], workdir=instance).launch().wait_ready(pids=n)
            running.append(lb)
            http = requests.Session()
            swarm = Swarm(lb.url, seeded["slug"], seeded["screen"], sockets, _last_seq(database_url, seeded["slug"]),
                          own_probe=True)
            try:
                held = [a.health()["sockets"] for a in apps]
                for anchor in seeded["anchors"]:
                    _check_in(http, lb.url, seeded, anchor)
                newcomers = iter(seeded["newcomers"])
                _measure_ours(http, lb.url, swarm, seeded, [next(newcomers)], timeout=180)  # warm-up
                ours = _measure_ours(http, lb.url, swarm, seeded, [next(newcomers) for _ in range(samples)])
            finally:
                swarm.close()
                lb.stop()
                matcher.terminate()
                matcher.wait(20)
                for a in apps:
                    a.stop()
            peer_ports = [_free_port() for _ in range(n)]
            peers = [_peer(port, REDIS_URL, instance) for port in peer_ports]
            peer_lb = HAProxy(peer_ports, workdir=instance / "peer")
            (instance / "peer").mkdir()
            try:
                peer_lb.launch().wait_ready(pids=n)
                swarm = Swarm(peer_lb.url, "peer", "peer", sockets, own_probe=True)
                try:
                    peer_held = [requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()["sockets"]
                                 for port in peer_ports]
                    peer_lat = _measure_peer(http, peer_lb.url, swarm, samples, SAMPLE_PAYLOAD)
                finally:
                    swarm.close()
            finally:
                peer_lb.stop()
                for proc in peers:
                    proc.terminate()
                    proc.wait(20)
            rows = _rows(f"scale_out_{n}_processes_checkin_to_screen", ours, peer_lat, sockets, TARGET_SCALE_OUT_MS)
            p99_ratio = rows[1]["value"] / rows[1]["peer_value"] if rows[1]["peer_value"] else None
            for row in rows:
                row.update(processes=n, balancer="haproxy", probe="own process", sockets_per_process=held,
                           peer_sockets_per_process=peer_held)
            rows[1].update(target_ratio=TARGET_SCALE_OUT_RATIO, ours_over_peer=round(p99_ratio or 0, 2),
                           meets_target=bool(rows[1]["value"] <= TARGET_SCALE_OUT_MS and p99_ratio is not None
                                             and p99_ratio <= TARGET_SCALE_OUT_RATIO))
            yield from rows
        finally:
            for proc in running:
                proc.stop()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run(quick: bool = False, scale_out: bool = False):
    """Rows for 1, 100 and 1,000 clients on one process, then across two processes via Redis; with `scale_out`,
    through HAProxy with 2 and 4 gunicorn processes and 4,000 sockets instead."""
    with tempfile.TemporaryDirectory(prefix="givetake-bench-rt-") as tmp:
        if scale_out:
            yield from run_scale_out(quick, Path(tmp))
            return
        yield from run_one_process(quick, Path(tmp))
        yield from run_across_processes(quick, Path(tmp))


if __name__ == "__main__":
    if sys.argv[1] == "swarm":
        swarm_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7] == "probe")
    elif sys.argv[1] == "peer":
        peer_main(int(sys.argv[2]), sys.argv[4] or None, sys.argv[3])
    else:
        for row in run(quick="--quick" in sys.argv, scale_out="--scale-out" in sys.argv):
            print(json.dumps(row), flush=True)
