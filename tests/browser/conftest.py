"""Browser fixtures: the app served by a real server on a free port, Debian's Chromium through playwright, screenshots.

Any module under tests/browser can use these:

- ``live_app_config``: extra app config for the live server (a dict; override the fixture in a module to change it).
  Defaults to the matcher ``off`` so pages do not compete with MiniLM for the two cores.
- ``live_server``: a :class:`LiveServer` (``.url``, ``.app``, ``.db()``, ``.pair(kind)``): a fresh migrated SQLite app
  served by werkzeug's threaded server in a background thread (websockets work: Flask-SocketIO is in threading mode).
  The server runs in this process, so a test can change ``live_server.app.config`` between page loads.
- ``kiosk_event``: an event with tags and a few pre-registered people on the live server (ids in a dict).
- ``chromium``: a headless Chromium shared by a module's tests (skips, or fails under GIVETAKE_REQUIRE_ALL, without
  it). While it is up, playwright's event loop counts as running, so these tests cannot call ``asyncio.run()``.
- ``launch_chromium(*args)``: another Chromium with extra flags (a fake camera, say), closed after the test.
- ``new_context(browser=None, device=..., **options)``: a browser context on a tablet viewport (1024x768 landscape
  unless ``viewport`` says otherwise), paired as a kiosk of ``kiosk_event`` unless ``device=None``; console errors and
  page errors are collected on ``context.errors``.
- ``shot(page, name)``: a screenshot kept as ``test-artifacts/browser/<name>.png`` (gitignored).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from kiosk.db import db
from kiosk.devices.service import COOKIE, create_device, pair
from kiosk.models import Event
from tests.conftest import build_app
from tests.factories import make_attendee, make_event
from tests.realparts import need, need_program

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
LANDSCAPE = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
#: Flags for Chromium as root in a container: no sandbox (root), no GPU, no first-run or background chatter.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage"]


@dataclass
class LiveServer:
    """The app behind a real HTTP server on 127.0.0.1 (a secure context for the camera, like localhost)."""

    app: object
    url: str
    event_id: int | None = None

    def db(self):
        """An app context for reading or arranging data: `with live_server.db() as s: ...`."""
        return _app_session(self.app)

    def pair(self, kind: str = "kiosk", name: str = "", event_id: int | None = None) -> str:
        """A new device of `kind` paired to the event; returns its token (the `gt_device` cookie value)."""
        with self.db() as s:
            device = create_device(s, s.get(Event, event_id or self.event_id), kind, name)
            _, token = pair(s, device.pairing_code)
            s.commit()
        return token

    def device_cookie(self, token: str) -> dict:
        """The pairing cookie for a playwright context, as the pairing page would have set it."""
        return {"name": COOKIE, "value": token, "url": self.url, "httpOnly": True, "sameSite": "Lax"}


@contextmanager
def _app_session(app):
    with app.app_context():  # the app's teardown removes the session
        yield db.session


class _QuietHandler(WSGIRequestHandler):
    """No access-log line per request (they bury a failure's output); errors still log."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture
def live_app_config() -> dict:
    """Extra config for the live server's app (override in a test module)."""
    return {"MATCHER": "off"}


@pytest.fixture
def live_server(tmp_path, live_app_config):
    """The app on a fresh SQLite database, served by a threaded werkzeug server on a free port."""
    # The kiosk is reached over plain http here: cookies marked Secure (from an https public URL) would be dropped.
    config = {"SESSION_COOKIE_SECURE": False, **live_app_config}
    app = build_app(tmp_path / "instance", **config)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    app.extensions["givetake.db"].dispose()


@pytest.fixture
def kiosk_event(live_server) -> dict:
    """An event with tags and pre-registered people on the live server; the live server pairs to it by default."""
    with live_server.db() as s:
        event = make_event(s, name="Hands-on Summit 2026", slug="hands-on-2026",
                           tags=["Software", "Design", "Funding", "Hiring", "AI"])
        ana = make_attendee(s, event, first_name="Ana", last_name="García", company="Brightloop",
                            email="ana@example.org", ticket_ref="T-100", ticket_type="Speaker",
                            offers=[{"text": "I review pitch decks and term sheets", "tags": ["Funding"]}],
                            needs=[{"text": "A designer for our landing page", "tags": ["Design"]}])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", company="Fjord Design",
                            email="ben@example.org", ticket_ref="T-101")
        jonas = make_attendee(s, event, first_name="Jonas", last_name="Becker", company="Northwind Labs",
                              title="CTO", email="jonas@example.org", ticket_ref="T-102")
        s.commit()
        ids = {"event_id": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id, "jonas": jonas.id}
    live_server.event_id = ids["event_id"]
    return ids


# Module scope, not session: while playwright's sync API is started, its event loop counts as running in this
# thread, so any later test calling asyncio.run() would fail.
@pytest.fixture(scope="module")
def _playwright():
    need_program(CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        need("playwright", False, "pip install -e '.[test]'")
    with sync_playwright() as p:
        yield p


def _launch(playwright, *args: str):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *args])


@pytest.fixture(scope="module")
def chromium(_playwright):
    """Debian's Chromium, headless, shared by the tests of a module."""
    browser = _launch(_playwright)
    yield browser
    browser.close()


@pytest.fixture
def launch_chromium(_playwright):
    """Start another Chromium with extra flags (closed after the test): `launch_chromium("--use-fake-...")`."""
    started = []

    def launch(*args: str):
        browser = _launch(_playwright, *args)
        started.append(browser)
        return browser

    yield launch
    for browser in started:
        browser.close()


_PAIRED = object()


@pytest.fixture
def new_context(chromium, live_server):
    """Open a tablet-sized browser context, paired as a kiosk unless `device=None` (or given a device token)."""
    contexts = []

    def open_context(browser=None, device=_PAIRED, **options):
        options.setdefault("viewport", LANDSCAPE)
        options.setdefault("locale", "en-US")
        options.setdefault("has_touch", True)
        context = (browser or chromium).new_context(**options)
        context.set_default_timeout(10_000)
        if device is _PAIRED:
            device = live_server.pair("kiosk", f"Kiosk {len(contexts) + 1}")
        if device:
            context.add_cookies([live_server.device_cookie(device)])
        context.errors = []
        context.on("console", lambda msg: msg.type == "error" and context.errors.append(msg.text))
        context.on("weberror", lambda err: context.errors.append(str(err.error)))
        contexts.append(context)
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def shot():
    """Save a screenshot of a page (or of one element, given a locator) under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, full_page: bool = True) -> Path:
        path = ARTIFACTS / f"{name}.png"
        if hasattr(page, "goto"):
            page.screenshot(path=str(path), full_page=full_page, animations="disabled")
        else:  # a locator: that element alone
            page.screenshot(path=str(path), animations="disabled")
        return path

    return save
