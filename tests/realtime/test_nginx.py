"""The venue-server tier's front for real: Debian's nginx with deploy/nginx.conf (TLS, websocket upgrade, forwarded
headers) in front of an app process under gunicorn (deploy/gunicorn.conf.py).

Plain HTTP is sent to HTTPS; a socket opened websocket-only over TLS goes through (it cannot without the upgrade
headers the config passes); a browser-like client that starts on long-polling upgrades to a websocket; a check-in
through nginx reaches both; the app sees the request as HTTPS (X-Forwarded-Proto, GIVETAKE_PROXY_HOPS=1).
"""
from __future__ import annotations

import threading
import uuid

import requests
import socketio

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from tests.balancer import GunicornProcess, Nginx
from tests.conftest import build_app
from tests.factories import make_ana_and_ben, make_event
from tests.realparts import need


def _screen(url: str, cert: str, slug: str, token: str,
            transports: list[str]) -> tuple[socketio.Client, list, threading.Event]:
    http = requests.Session()
    http.verify = cert  # the test's own certificate authority: TLS is verified, for polling and the websocket
    http.trust_env = False  # else REQUESTS_CA_BUNDLE, where the machine sets it, wins over the session's verify
    client = socketio.Client(reconnection=False, http_session=http)
    matches, got = [], threading.Event()

    def on_match(payload):
        matches.append(payload)
        got.set()
    client.on("match", on_match)
    # A first connection to a process still warming up can miss its namespace answer; feed.js reconnects then,
    # and so does this (a config that breaks websockets, such as the Host header without its port, fails every try).
    for attempt in range(3):
        try:
            client.connect(url, transports=transports, wait_timeout=15)
            break
        except socketio.exceptions.ConnectionError:
            if attempt == 2:
                raise
    assert client.call("join", {"role": "screen", "event": slug, "token": token}, timeout=10)["ok"]
    return client, matches, got


def test_nginx_config_serves_tls_and_upgrades_websockets(tmp_path):
    need("nginx", Nginx.available(), "apt-get install nginx openssl")
    database_url = f"sqlite:///{tmp_path / 'givetake.db'}"
    setup = build_app(tmp_path / "setup", database_url, MATCHER="off")
    with setup.app_context():
        s = db.session
        event = make_event(s, slug=f"tls-{uuid.uuid4().hex[:6]}", tags=["Funding", "Design"])
        make_ana_and_ben(s, event)
        _, screen_token = pair(s, create_device(s, event, "screen", "Hall").pairing_code)
        _, kiosk_token = pair(s, create_device(s, event, "kiosk", "Door").pairing_code)
        s.commit()
        slug = event.slug
    setup.extensions["givetake.db"].dispose()

    app = GunicornProcess({"GIVETAKE_DATABASE_URL": database_url, "GIVETAKE_SECRET_KEY": "tls-" + uuid.uuid4().hex,
                           "GIVETAKE_INSTANCE_PATH": str(tmp_path / "run"), "GIVETAKE_PUBLIC_URL": "",
                           "GIVETAKE_PROXY_HOPS": "1"})
    front = Nginx([app.port], workdir=tmp_path)
    clients: list[socketio.Client] = []
    try:
        app.launch().wait_ready()
        front.launch().wait_ready()
        cert = str(front.cert)

        plain = requests.get(f"http://127.0.0.1:{front.http_port}/kiosk", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        ws_only, ws_matches, ws_got = _screen(front.url, cert, slug, screen_token, ["websocket"])
        clients.append(ws_only)
        assert ws_only.transport() == "websocket"
        browser, browser_matches, browser_got = _screen(front.url, cert, slug, screen_token, ["polling", "websocket"])
        clients.append(browser)

        headers = {"Authorization": f"Bearer {kiosk_token}"}
        for name in ("Ana", "Ben"):
            found = requests.get(f"{front.url}/api/events/{slug}/attendees/lookup", params={"q": name},
                                 headers=headers, timeout=10, verify=cert).json()["results"]
            chosen = requests.post(f"{front.url}/api/events/{slug}/attendees/select",
                                   json={"choice": found[0]["choice"]}, headers=headers, timeout=10, verify=cert)
            assert chosen.status_code == 200, chosen.text
            body = chosen.json()
            answer = requests.post(f"{front.url}/api/events/{slug}/attendees/{body['attendee']['id']}/checkin",
                                   json={"consent_screen": True}, timeout=10, verify=cert,
                                   headers={**headers, "X-Kiosk-Grant": body["grant"],
                                            "Idempotency-Key": uuid.uuid4().hex})
            assert answer.status_code == 200, answer.text
        assert ws_got.wait(60), f"no match over the websocket through nginx\n{app.output()[-3000:]}"
        assert browser_got.wait(10), "no match for the client that started on long-polling"
        assert {ws_matches[0]["a"]["first_name"], ws_matches[0]["b"]["first_name"]} == {"Ana", "Ben"}
        assert browser.transport() == "websocket", "the long-polling client never upgraded through nginx"

        # The app sees HTTPS through the proxy: the login page's session cookie is Secure.
        page = requests.get(f"{front.url}/login", timeout=5, verify=cert)
        assert page.ok and "; secure" in page.headers.get("Set-Cookie", "").lower(), page.headers
    finally:
        for client in clients:
            client.disconnect()
        front.stop()
        app.stop()
    assert not front.alive() and not app.alive()
