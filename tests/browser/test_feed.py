"""static/js/feed.js itself, in headless Chromium: catch-up after a network drop, each message once, in seq order.

The page is the staff dashboard: it lists every check-in message it is handed, with no de-duplication of its own,
so what it shows is what feed.js delivered. The network between browser and server is a proxy the test cuts
(Chromium's offline emulation leaves open websockets alone).
"""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from kiosk.realtime import publish, sockets
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD
from tests.netproxy import CuttableProxy

pytestmark = pytest.mark.browser


@pytest.fixture
def flaky_network(live_server):
    """A proxy in front of the live server whose connections the test can cut."""
    address = urlsplit(live_server.url)
    proxy = CuttableProxy(address.hostname, address.port).start()
    yield proxy
    proxy.stop()


def publish_checkin(live_server, name: str) -> int:
    """A check-in message to the staff room, committed in a session of its own; returns its seq."""
    with live_server.app.extensions["givetake.db"].transaction() as session:
        return publish(session, live_server.event_id, "checkin", "staff",
                       {"attendee_id": 0, "first_name": name, "company": "", "device": ""})


@pytest.fixture
def publish_during_next_join(live_server, monkeypatch):
    """`arm(name)`: the next staff join publishes a check-in after joining its room and before its replay.

    That is the race the join handler documents: the message goes out live, before the replay, and again in the
    replay; the page must hold it until the join is answered, sort, and show it once.
    """
    real_replay_rows, armed = sockets.replay_rows, []

    def replay_rows(session, event_id, rooms, last_seq):
        if armed and "staff" in rooms:
            publish_checkin(live_server, armed.pop())
        return real_replay_rows(session, event_id, rooms, last_seq)

    monkeypatch.setattr(sockets, "replay_rows", replay_rows)
    return armed.append


def test_after_a_network_drop_the_page_shows_every_message_once_in_seq_order(
        live_server, kiosk_event, new_context, flaky_network, publish_during_next_join):
    """feed.js joins with the page's last seq, reconnects after a drop, replays what it missed, and shows a message
    that came both live and in the replay once, all in seq order."""
    publish_checkin(live_server, "Before 1")  # rendered with the page: must not come again over the socket
    context = new_context(device=None)
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda err: page_errors.append(str(err)))
    page.goto(f"{flaky_network.url}/login?next=/admin/events/{kiosk_event['slug']}/live")
    page.fill('input[name="email"]', ORGANIZER_EMAIL)
    page.fill('input[name="password"]', ORGANIZER_PASSWORD)
    page.click('button[type="submit"]')
    conn, names = page.locator("#conn"), page.locator("#checkins li strong")
    expect(conn).to_have_attribute("data-state", "live")

    live = [f"Live {i}" for i in range(1, 4)]
    for name in live:
        publish_checkin(live_server, name)
    expect(names).to_have_text([*reversed(live), "Before 1"])  # newest on top

    flaky_network.cut()
    expect(conn).to_have_attribute("data-state", "offline")
    away = [f"Away {i}" for i in range(1, 4)]
    for name in away:
        publish_checkin(live_server, name)
    publish_during_next_join("During the join")
    flaky_network.restore()
    expect(conn).to_have_attribute("data-state", "live", timeout=20_000)  # socket.io's backoff: 1 s, then 2 s...
    publish_checkin(live_server, "After 1")

    shown = ["Before 1", *live, *away, "During the join", "After 1"]
    expect(names).to_have_text(list(reversed(shown)))
    assert page_errors == []


def test_a_resync_from_the_server_makes_the_page_fetch_what_its_open_socket_missed(
        live_server, kiosk_event, new_context):
    """What an app process sends its sockets when its Redis message queue came back after an outage: messages
    committed meanwhile never reached this process's sockets, though they stayed connected. On `resync` the page
    rejoins with its last seq and shows them, each once."""
    from kiosk.extensions import socketio
    from kiosk.models import EventLog
    from kiosk.realtime.bus import RESYNC

    context = new_context(device=None)
    page = context.new_page()
    page.goto(f"{live_server.url}/login?next=/admin/events/{kiosk_event['slug']}/live")
    page.fill('input[name="email"]', ORGANIZER_EMAIL)
    page.fill('input[name="password"]', ORGANIZER_PASSWORD)
    page.click('button[type="submit"]')
    conn, names = page.locator("#conn"), page.locator("#checkins li strong")
    expect(conn).to_have_attribute("data-state", "live")
    publish_checkin(live_server, "Live 1")
    expect(names).to_have_text(["Live 1"])

    # A message that is in the event log but was never emitted here (its emit went to a Redis that was down).
    with live_server.app.extensions["givetake.db"].transaction() as session:
        from kiosk.realtime.bus import next_seq
        seq = next_seq(session, live_server.event_id)
        session.add(EventLog(event_id=live_server.event_id, seq=seq, type="checkin", room="staff",
                             payload={"attendee_id": 0, "first_name": "Missed", "company": "", "device": ""}))
    page.wait_for_timeout(300)
    expect(names).to_have_text(["Live 1"])  # the open socket heard nothing of it

    with live_server.app.app_context():
        socketio.emit(RESYNC, {})
    expect(names).to_have_text(["Missed", "Live 1"])
    publish_checkin(live_server, "After")
    expect(names).to_have_text(["After", "Missed", "Live 1"])
