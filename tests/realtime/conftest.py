"""Fixtures for real time: the app behind a real threaded server, Socket.IO clients, an event with people."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest
import socketio

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Event
from kiosk.realtime.bus import MESSAGE_TYPES
from tests.conftest import REDIS_URL, build_app
from tests.factories import make_attendee, make_event
from tests.livesrv import LiveServer
from tests.netproxy import CuttableProxy
from tests.realparts import need


class FeedClient:
    """A python-socketio client that records what the server sends, each message as it arrives, in that order.

    `raw` is every message (type, payload) received; `errors` the error events; `connects` counts connections,
    reconnections included. It runs python-socketio's asyncio client on an event loop of its own: handlers run one
    after the other in arrival order, as in a browser (the threaded client hands each message to a new thread).
    It de-duplicates nothing and holds nothing back: what a page makes of the stream is static/js/feed.js's job,
    tested in the browser (tests/browser/test_feed.py).
    """

    def __init__(self, url: str, headers: dict | None = None, reconnect: bool = False):
        self.url = url
        self.headers = headers or {}
        self.raw: list[tuple[str, dict]] = []
        self.errors: list[dict] = []
        self.joins: list[tuple[int, dict]] = []
        self.connects = 0
        self.resyncs = 0
        self._cond = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="feed-client", daemon=True)
        self._thread.start()
        self.client = self._run(self._make_client(reconnect), 5)

    async def _make_client(self, reconnect: bool) -> socketio.AsyncClient:
        # A quick retry after a drop: the tests cut the network for a moment, not for minutes.
        client = socketio.AsyncClient(reconnection=reconnect, reconnection_delay=0.1, reconnection_delay_max=0.5,
                                      randomization_factor=0)
        for type_ in MESSAGE_TYPES:
            client.on(type_, self._receiver(type_))
        client.on("error", self._on_error)
        client.on("resync", self._on_resync)
        client.on("connect", self._on_connect)
        client.on("disconnect", self._on_disconnect)
        return client

    def _run(self, coro, timeout: float):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _receiver(self, type_):
        def receive(payload):
            with self._cond:
                self.raw.append((type_, payload))
                self._cond.notify_all()
        return receive

    def _on_error(self, payload):
        with self._cond:
            self.errors.append(payload)
            self._cond.notify_all()

    def _on_resync(self, _payload=None):
        with self._cond:
            self.resyncs += 1
            self._cond.notify_all()

    def _on_connect(self):
        with self._cond:
            self.connects += 1
            self._cond.notify_all()

    def _on_disconnect(self, *_reason):
        with self._cond:
            self._cond.notify_all()

    @property
    def connected(self) -> bool:
        return self.client.connected

    def connect(self, url: str | None = None) -> "FeedClient":
        """Connect (websocket transport: no affinity needed), to `url` if given (a reconnect elsewhere)."""
        self.url = url or self.url
        self._run(self.client.connect(self.url, headers=self.headers, transports=["websocket"], wait_timeout=10), 15)
        return self

    def disconnected(self, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while self.client.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        return not self.client.connected

    def last_seq(self) -> int:
        return max(self.seqs(), default=0)

    def join(self, role: str, event: str, token: str | None = None, last_seq: int = 0, **extra) -> dict:
        """Emit `join` and wait for its answer (the replayed messages are in `raw` by then)."""
        data = {"role": role, "event": event, "last_seq": last_seq, **extra}
        if token is not None:
            data["token"] = token
        answer = self.call_raw("join", data)
        self.joins.append((last_seq, answer))
        return answer

    def call_raw(self, event: str, data) -> dict:
        return self._run(self.client.call(event, data, timeout=10), 15)

    def seqs(self) -> list[int]:
        """The seq of every message received so far, in arrival order."""
        with self._cond:
            return [payload["seq"] for _, payload in self.raw]

    def wait(self, condition, timeout: float = 10, what: str = "the condition") -> None:
        """Wait until `condition()` holds (checked whenever something arrives), or fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out after {timeout} s waiting for {what}"
                self._cond.wait(min(left, 0.1))

    def wait_for(self, predicate, timeout: float = 10) -> tuple[str, dict] | None:
        """The first message received matching predicate(type, payload), waiting with a deadline."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for type_, payload in self.raw:
                    if predicate(type_, payload):
                        return type_, payload
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def wait_error(self, timeout: float = 5) -> dict | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.errors:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self.errors[-1]

    def close(self) -> None:
        try:
            self._run(self._shut_down(), 15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    async def _shut_down(self) -> None:
        await self.client.disconnect()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:  # a reconnection still trying, say
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)


@pytest.fixture
def rt_config() -> dict:
    """Extra app config for the real-time server (override in a module)."""
    return {}


@pytest.fixture
def rt_server(tmp_path, rt_config):
    """The app (SQLite, in-process matcher) behind werkzeug's threaded server, as `givetake serve` runs it."""
    app = build_app(tmp_path / "instance", SESSION_COOKIE_SECURE=False, **rt_config)
    server = LiveServer(app).start()
    server.app = app
    yield server
    server.stop()
    runtime = app.extensions["givetake.matcher"]
    if runtime.loop is not None:
        runtime.loop.stop()
    app.extensions["givetake.db"].dispose()


@pytest.fixture
def feeds(rt_server):
    """Open Socket.IO clients on the server: `feeds()`, `feeds(headers={...})`, `feeds(url=..., reconnect=True)`;
    all closed after the test."""
    opened: list[FeedClient] = []

    def open_client(headers: dict | None = None, url: str | None = None, reconnect: bool = False) -> FeedClient:
        client = FeedClient(url or rt_server.url, headers, reconnect=reconnect).connect()
        opened.append(client)
        return client

    yield open_client
    # A clean websocket close waits up to 3 s for werkzeug's answer: close them all at once.
    closers = [threading.Thread(target=client.close) for client in opened]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join(10)


@pytest.fixture
def flaky_network(rt_server):
    """A proxy in front of the server whose connections the test can cut (`.cut()`, `.restore()`, `.url`)."""
    proxy = CuttableProxy(rt_server.host, rt_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def rt_event(rt_server) -> dict:
    """An event with five people (complementary cards), a paired screen and a paired kiosk; nobody checked in."""
    app = rt_server.app
    with app.app_context():
        s = db.session
        event = make_event(s, slug="live-conf", tags=["Funding", "Design", "Software", "Hiring"],
                           meeting_points=["Red sofa", "Window"], round_minutes=12)
        people = {}
        specs = [
            ("ana", "Ana", "García", True, "I review pitch decks and term sheets", "Funding",
             "A designer for our landing page", "Design"),
            ("ben", "Ben", "Okafor", True, "Landing page and brand design", "Design",
             "Feedback on our seed round term sheet", "Funding"),
            ("chloe", "Chloé", "Lefèvre", False, "Python code reviews", "Software",
             "Someone to help hire our first engineer", "Hiring"),
            ("dev", "Dev", "Patel", True, "I have hired twenty engineers and can help you hire", "Hiring",
             "Code review of our Python backend", "Software"),
            ("eve", "Eve", "Novak", True, "Brand workshops for startups", "Design",
             "Angel investors for a pre-seed round", "Funding"),
        ]
        for key, first, last, consent, offer, offer_tag, need_, need_tag in specs:
            person = make_attendee(s, event, first_name=first, last_name=last, company=f"{last} Ltd",
                                   email=f"{key}@example.org", consent_screen=consent,
                                   offers=[{"text": offer, "tags": [offer_tag]}],
                                   needs=[{"text": need_, "tags": [need_tag]}])
            people[key] = person.id
        screen = create_device(s, event, "screen", "Main hall")
        _, screen_token = pair(s, screen.pairing_code)
        kiosk = create_device(s, event, "kiosk", "Entrance")
        _, kiosk_token = pair(s, kiosk.pairing_code)
        s.commit()
        return {"event_id": event.id, "slug": event.slug, "screen_token": screen_token,
                "kiosk_token": kiosk_token, **people}


def check_in(app, event_id: int, attendee_id: int) -> str:
    """Check someone in through the service (as the kiosk does); returns their personal token."""
    from kiosk.checkin.service import check_in as do_check_in
    from kiosk.models import Attendee
    with app.app_context():
        s = db.session
        result = do_check_in(s, s.get(Event, event_id), s.get(Attendee, attendee_id))
        s.commit()
        return result.personal_token


def publish_now(app, event_id: int, type_: str, room: str, payload: dict) -> int:
    """Publish one message and commit; returns its seq."""
    from kiosk.realtime import publish
    with app.app_context():
        s = db.session
        seq = publish(s, event_id, type_, room, payload)
        s.commit()
        return seq


def drain(app, timeout: float = 60) -> None:
    """Wait for the in-process matcher to finish its queue."""
    loop = app.extensions["givetake.matcher"].loop
    assert loop is not None and loop.drain(timeout), "the matcher did not finish in time"


@pytest.fixture
def redis_url():
    """A Redis database of its own (the matcher's lists are per database; pub/sub is shared, rooms differ)."""
    import random

    import redis
    base = REDIS_URL.rsplit("/", 1)[0]
    url = f"{base}/{random.randint(1, 15)}"
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        client.ping()
    except Exception as exc:  # any failure means: no usable Redis here
        need("Redis", False, f"{url}: {exc}")
    keys = ["givetake:matcher:work", "givetake:matcher:work:processing", "givetake:matcher:work:lease"]
    client.delete(*keys)
    yield url
    client.delete(*keys)
