"""Fixtures for real time: the app behind a real threaded server, Socket.IO clients, an event with people."""
from __future__ import annotations

import socket
import threading
import time

import pytest
import socketio

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Event
from kiosk.realtime.bus import MESSAGE_TYPES
from tests.conftest import build_app
from tests.factories import make_attendee, make_event
from tests.livesrv import LiveServer


class FeedClient:
    """A python-socketio client that records every message and de-duplicates like static/js/feed.js.

    `raw` keeps everything in arrival order (to check what the server sent); `delivered` is what a page shows:
    held until the join is answered, then sorted, each seq once.
    """

    def __init__(self, url: str, headers: dict | None = None):
        self.url = url
        self.headers = headers or {}
        self.client = socketio.Client(reconnection=False)
        self.raw: list[tuple[str, dict]] = []
        self.errors: list[dict] = []
        self.delivered: list[tuple[str, dict]] = []
        self.last_seq = 0
        self.joins: list[tuple[int, dict]] = []
        self._floor = 0
        self._seen: set[int] = set()
        self._held: list[tuple[str, dict]] | None = None
        self._cond = threading.Condition()
        # python-engineio hands each message to a new thread, so handlers could run out of arrival order;
        # dispatch them in the reading thread instead, as a browser does, to see the order the server sent.
        trigger = self.client.eio._trigger_event
        self.client.eio._trigger_event = lambda event, *args, run_async=False, **kw: trigger(event, *args, **kw)
        for type_ in MESSAGE_TYPES:
            self.client.on(type_, self._receiver(type_))
        self.client.on("error", self._on_error)

    def _receiver(self, type_):
        def receive(payload):
            with self._cond:
                self.raw.append((type_, payload))
                if self._held is not None:
                    self._held.append((type_, payload))
                else:
                    self._deliver(type_, payload)
                self._cond.notify_all()
        return receive

    def _on_error(self, payload):
        with self._cond:
            self.errors.append(payload)
            self._cond.notify_all()

    def _deliver(self, type_, payload):
        seq = payload.get("seq")
        if not isinstance(seq, int) or seq <= self._floor or seq in self._seen:
            return
        self._seen.add(seq)
        self.last_seq = max(self.last_seq, seq)
        self.delivered.append((type_, payload))

    def connect(self) -> "FeedClient":
        self.client.connect(self.url, headers=self.headers, transports=["websocket"], wait_timeout=10)
        return self

    def join(self, role: str, event: str, token: str | None = None, last_seq: int | None = None, **extra) -> dict:
        """Emit `join` and wait for its answer; messages meanwhile are held, then delivered in seq order."""
        with self._cond:
            self._held = []
        data = {"role": role, "event": event, "last_seq": self.last_seq if last_seq is None else last_seq, **extra}
        if token is not None:
            data["token"] = token
        answer = self.client.call("join", data, timeout=10)
        self.joins.append((data["last_seq"], answer))
        with self._cond:
            held, self._held = self._held, None
            if answer and answer.get("reset"):
                self._floor, self.last_seq = 0, 0
                self._seen.clear()
            for type_, payload in sorted(held, key=lambda m: m[1].get("seq", 0)):
                self._deliver(type_, payload)
        return answer

    def call_raw(self, event: str, data) -> dict:
        return self.client.call(event, data, timeout=10)

    def wait_for(self, predicate, timeout: float = 10) -> tuple[str, dict] | None:
        """The first delivered message matching predicate(type, payload), waiting with a deadline."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for type_, payload in self.delivered:
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

    def drop(self, timeout: float = 10) -> None:
        """Cut the connection under the client's feet, as a phone going to sleep or losing Wi-Fi does."""
        self.client.eio.ws.sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        while self.client.connected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.client.connected, "the client did not notice the dropped connection"
        self.client.eio.state = "disconnected"  # let connect() start afresh

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


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
    """Open Socket.IO clients on the server: `feeds()` or `feeds(headers={...})`; all closed after the test."""
    opened: list[FeedClient] = []

    def open_client(headers: dict | None = None, url: str | None = None) -> FeedClient:
        client = FeedClient(url or rt_server.url, headers).connect()
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
