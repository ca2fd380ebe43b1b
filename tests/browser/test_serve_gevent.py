"""The pages on `givetake serve` itself (gevent, the default), not the in-process threaded test server.

The other browser tests serve the app from a thread of the test process; this one runs the real command, so the
browser's socket.io client meets gevent's server and simple-websocket the way a venue's screens and phones do.
"""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from kiosk.db import db
from kiosk.devices.service import COOKIE, create_device, pair
from tests.browser.test_screen import PEOPLE, PROJECTOR, api_check_in
from tests.conftest import build_app
from tests.factories import make_attendee, make_event
from tests.livesrv import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def served(tmp_path):
    """An event of four people on a SQLite database, and `givetake serve` (gevent) on it."""
    setup = build_app(tmp_path / "instance", MATCHER="off", GIVETAKE_PUBLIC_URL="")
    with setup.app_context():
        s = db.session
        event = make_event(s, name="Gevent Summit", slug=f"gevent-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        ids = {"slug": event.slug}
        for first, last, offer, otag, need, ntag in PEOPLE:
            person = make_attendee(s, event, first_name=first, last_name=last, consent_screen=True,
                                   offers=[{"text": offer, "tags": [otag]}], needs=[{"text": need, "tags": [ntag]}])
            ids[first.lower()] = person.id
        _, ids["screen"] = pair(s, create_device(s, event, "screen", "Main hall").pairing_code)
        _, ids["kiosk"] = pair(s, create_device(s, event, "kiosk", "Door").pairing_code)
        s.commit()
    env = {"GIVETAKE_DATABASE_URL": setup.config["DATABASE_URL"], "GIVETAKE_INSTANCE_PATH": str(tmp_path / "instance"),
           "GIVETAKE_SECRET_KEY": setup.config["SECRET_KEY"], "GIVETAKE_MATCHER": "inprocess",
           "GIVETAKE_REDIS_URL": "", "GIVETAKE_PUBLIC_URL": "", "GIVETAKE_ASYNC_MODE": "auto"}
    setup.extensions["givetake.db"].dispose()
    server = ServerProcess(env).launch()
    try:
        server.wait_ready(90)
        assert "; gevent)" in server.output(), server.output()
        yield server, ids
    finally:
        server.stop()


def test_screen_and_phone_get_a_match_live_from_givetake_serve(served, chromium, shot):
    server, ids = served
    screen = chromium.new_context(viewport=PROJECTOR)
    phone = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    errors: list[str] = []
    try:
        for context in (screen, phone):
            context.set_default_timeout(15_000)
            context.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        screen.add_cookies([{"name": COOKIE, "value": ids["screen"], "url": server.url, "httpOnly": True,
                             "sameSite": "Lax"}])
        wall = screen.new_page()
        wall.goto(f"{server.url}/screen/{ids['slug']}")
        expect(wall.locator("#conn")).to_have_attribute("data-state", "live")

        ben = api_check_in(server, ids, ids["ben"], "Ben Okafor")
        me = phone.new_page()
        me.goto(server.url + "/" + ben["personal_url"].split("/", 3)[3])  # the path of the personal QR
        assert me.url == f"{server.url}/me"
        expect(me.locator("#conn")).to_have_attribute("data-state", "live")

        api_check_in(server, ids, ids["ana"], "Ana García")
        card = wall.locator(".match-card")
        expect(card).to_contain_text("Ana")
        expect(card).to_contain_text("Ben")
        mine = me.locator(".match").first
        expect(mine).to_contain_text("Ana García")
        expect(wall.locator("#count-checked_in")).to_have_text("2")
        shot(me, "phone-on-gevent", full_page=False)
        assert errors == []
    finally:
        screen.close()
        phone.close()
