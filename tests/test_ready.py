"""Ready for doors (kiosk.admin.readiness): the admin panel and `givetake doctor`, against real parts: a live HTTP
server for the public URL and the LAN, CUPS for printers, real filesystems for disk space, real backups."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from kiosk.admin import readiness
from kiosk.admin.readiness import FAIL, OK, WARN, check_readiness
from kiosk.backups.service import BackupResult, backup_sqlite, record
from kiosk.db import db
from kiosk.devices.service import COOKIE, create_device, pair
from kiosk.models import Device, Event, utcnow
from kiosk.personal import lan_address
from tests.badges.conftest import _cmd, cups, queues  # noqa: F401  (fixtures)
from tests.conftest import build_app
from tests.factories import make_event
from tests.livesrv import LiveServer, free_port
from tests.realparts import need

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(tmp_path):
    app = build_app(tmp_path / "instance", MATCHER="off")
    yield app
    app.extensions["givetake.db"].dispose()


def _lan() -> str:
    lan = lan_address()
    need("an address on a local network", lan is not None, "lan_address() found none")
    return lan


def _by_key(result) -> dict:
    return {c.key: c for c in result.checks}


# ---------------------------------------------------------------------------------------- public URL and LAN

def test_the_public_url_is_fetched_over_http_and_must_be_this_very_server(app, tmp_path):
    other = build_app(tmp_path / "other", MATCHER="off")  # another installation: another secret key
    with LiveServer(app) as ours, LiveServer(other) as theirs, app.app_context():
        assert readiness.check_reachable(ours.url).status == OK
        elsewhere = readiness.check_reachable(theirs.url)
        assert elsewhere.status == WARN and "another Give & Take" in elsewhere.detail
    other.extensions["givetake.db"].dispose()

    class NotUs(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b'{"router": "admin page"}')

        def log_message(self, *args):
            pass

    router = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotUs)
    threading.Thread(target=router.serve_forever, daemon=True).start()
    try:
        with app.app_context():
            check = readiness.check_reachable(f"http://127.0.0.1:{router.server_port}")
            assert check.status == FAIL and "not Give & Take" in check.detail
            started = time.monotonic()
            closed = readiness.check_reachable(f"http://127.0.0.1:{free_port()}")
            assert closed.status == FAIL and "nothing answers" in closed.detail and "givetake serve" in closed.todo
            assert time.monotonic() - started < readiness.NETWORK_TIMEOUT + 1
    finally:
        router.shutdown()
        router.server_close()


def test_a_loopback_public_url_is_a_warning_that_names_the_lan_address(tmp_path):
    app = build_app(tmp_path / "instance", MATCHER="off", GIVETAKE_PUBLIC_URL="http://127.0.0.1:5000")
    try:
        with app.app_context():
            check = readiness.check_public_url(None)
            assert check.status == WARN and "opens only on this laptop" in check.detail
            lan = lan_address()
            if lan:
                assert f"http://{lan}:5000" in check.todo
            app.config["PUBLIC_URL"] = "https://event.example.org"
            assert readiness.check_public_url(None).status == OK
    finally:
        app.extensions["givetake.db"].dispose()


def test_the_lan_check_sees_a_server_that_listens_on_loopback_only(tmp_path):
    lan = _lan()
    for host, expected in (("0.0.0.0", OK), ("127.0.0.1", FAIL)):
        port = free_port()
        app = build_app(tmp_path / host, MATCHER="off", GIVETAKE_PUBLIC_URL=f"http://{lan}:{port}")
        try:
            with LiveServer(app, host=host, port=port), app.app_context():
                check = readiness.check_lan(f"http://{lan}:{port}")
                assert check.status == expected, check
                if expected == FAIL:
                    assert f"{lan}:{port}" in check.detail and "--host 0.0.0.0" in check.todo
        finally:
            app.extensions["givetake.db"].dispose()


# ------------------------------------------------------------------------------------------ kiosks, screens

def test_kiosks_and_screens_are_flagged_when_not_heard_from_for_two_minutes(app, client):
    with app.app_context():
        s = db.session
        event = make_event(s, slug="doors")
        entrance = create_device(s, event, "kiosk", "Entrance")
        _, token = pair(s, entrance.pairing_code)
        screen = create_device(s, event, "screen", "Hall TV")
        pair(s, screen.pairing_code)
        create_device(s, event, "kiosk", "Spare")  # added, never paired
        entrance.last_seen_at = utcnow() - timedelta(minutes=5)
        screen.last_seen_at = utcnow() - timedelta(seconds=30)
        s.commit()
        ids = {"entrance": entrance.id, "screen": screen.id}
        checks = _by_key(check_readiness(s, event))
        assert checks[f"device:{ids['entrance']}"].status == WARN
        assert "5 min ago" in checks[f"device:{ids['entrance']}"].detail
        assert checks[f"device:{ids['screen']}"].status == OK
        spare = next(c for c in checks.values() if c.name.endswith("Spare"))
        assert spare.status == WARN and "not paired" in spare.detail
    # The kiosk page's heartbeat brings it back.
    client.set_cookie(COOKIE, token)
    assert client.get("/devices/ping").status_code == 204
    with app.app_context():
        s = db.session
        assert utcnow() - s.get(Device, ids["entrance"]).last_seen_at < timedelta(seconds=5)
        assert _by_key(check_readiness(s, s.get(Event, event.id)))[f"device:{ids['entrance']}"].status == OK


def test_an_unpaired_browser_pinging_is_not_counted(app, client):
    assert client.get("/devices/ping").status_code == 204
    with app.app_context():
        assert db.session.scalar(select(Device.id)) is None


# ----------------------------------------------------------------------------------------------- printers

def test_printers_over_ipp_a_stopped_assigned_queue_fails_and_a_missing_one_too(app, queues):
    first, second = queues.queues
    with app.app_context():
        s = db.session
        event = make_event(s, slug="print-doors")
        kiosk = create_device(s, event, "kiosk", "Entrance")
        pair(s, kiosk.pairing_code)
        kiosk.printers = [first, "NoSuchQueue"]
        s.commit()
        _cmd("cupsdisable", first)
        try:
            checks = _by_key(check_readiness(s, event))
        finally:
            _cmd("cupsenable", first)
        assert checks["printing"].status == OK and "ready" in checks["printing"].detail
        assert checks[f"printer:{first}"].status == FAIL and f"cupsenable {first}" in checks[f"printer:{first}"].todo
        assert checks[f"printer:{second}"].status == OK
        missing = checks["printer:NoSuchQueue"]
        assert missing.status == FAIL and "Entrance prints on NoSuchQueue" in missing.detail
        assert _by_key(check_readiness(s, event))[f"printer:{first}"].status == OK  # enabled again


def test_no_cups_is_a_failure_that_says_badges_can_still_be_downloaded(app, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{free_port()}")
    with app.app_context():
        (check,) = readiness.check_printers(db.session, [])
    assert check.status == FAIL and "cupsd) is not running" in check.detail
    assert "badges can be downloaded only" in check.detail


# ------------------------------------------------------------------------------------- disk and backups

def _doctor_in_own_mounts(app, mount_size: str) -> subprocess.CompletedProcess:
    """`givetake doctor` with its instance folder on a real tmpfs of `mount_size`, in a private mount namespace."""
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    need("a private mount namespace (unshare -m, as root)", probe.returncode == 0, probe.stderr.strip())
    instance = app.instance_path
    keep = Path(instance).parent / "instance-copy"
    subprocess.run(["cp", "-a", instance, str(keep)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIVETAKE_")}
    env.update(GIVETAKE_INSTANCE_PATH=instance, GIVETAKE_SECRET_KEY=app.config["SECRET_KEY"],
               GIVETAKE_MATCHER="off", CUPS_SERVER=f"127.0.0.1:{free_port()}")
    script = f'mount -t tmpfs -o size={mount_size} tmpfs "$0" && cp -a "$1"/. "$0"/ && shift && exec "$@"'
    return subprocess.run(["unshare", "-m", "sh", "-c", script, instance, str(keep), sys.executable, "-c",
                           "from kiosk.launch import main; main()", "doctor"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("size, mark", [("600m", "??"), ("50m", "!!")])
def test_disk_space_under_a_gigabyte_is_flagged_and_under_100_mb_must_be_fixed(app, size, mark):
    app.extensions["givetake.db"].dispose()
    result = _doctor_in_own_mounts(app, size)
    assert "Traceback" not in result.stderr, result.stderr
    line = next(line for line in result.stdout.splitlines() if "disk space" in line)
    assert line.startswith(f"  [{mark}] disk space: 0.") and app.instance_path in line, result.stdout
    assert result.returncode == 1  # CUPS is not there either: something to fix in both cases


def test_the_last_backup_is_read_from_what_givetake_backup_recorded(app, tmp_path):
    with app.app_context():
        s = db.session
        now = utcnow()
        event = make_event(s, slug="backup-doors")
        event.starts_at, event.ends_at = now - timedelta(hours=1), now + timedelta(hours=6)  # doors are open
        s.commit()
        none_yet = readiness.check_backup([event], now)
        assert none_yet.status == WARN and "no backup yet" in none_yet.detail and "--every 10" in none_yet.todo
        source = app.config["DATABASE_URL"].split("///", 1)[1]
        made = backup_sqlite(source, tmp_path / "copy.sqlite3")
        record(app.instance_path, made)
        fresh = readiness.check_backup([event], now)
        assert fresh.status == OK and str(tmp_path / "copy.sqlite3") in fresh.detail
        later = now + timedelta(minutes=40)
        assert readiness.check_backup([event], later).status == WARN  # during the event: too old
        event.starts_at, event.ends_at = now + timedelta(days=3), now + timedelta(days=4)
        assert readiness.check_backup([event], later).status == OK  # days before it: fine
        record(app.instance_path, error="Cannot write to /media/usb")
        failing = readiness.check_backup([event], now)
        assert failing.status == WARN and "last attempt failed: Cannot write to /media/usb" in failing.detail
        record(app.instance_path, BackupResult(str(tmp_path / "gone.sqlite3"), utcnow(), 10, 0.1))
        gone = readiness.check_backup([event], utcnow())
        assert gone.status == WARN and "not there any more" in gone.detail


def test_a_matcher_that_is_off_is_a_warning(app):
    with app.app_context():
        check = readiness.check_matcher(serving=True)
    assert check.status == WARN and "off" in check.detail


# ------------------------------------------------------------------------------------ the page and doctor

def test_the_ready_page_is_linked_from_the_event_and_shows_every_check_and_a_test_qr(app, client, auth):
    with app.app_context():
        make_event(db.session, slug="page-doors", name="Doors Summit")
        db.session.commit()
    assert client.get("/admin/events/page-doors/ready").status_code == 302  # organizers only
    auth.login()
    assert "/admin/events/page-doors/ready" in client.get("/admin/events/page-doors").get_data(as_text=True)
    with LiveServer(app) as server:
        with app.app_context():
            event = db.session.scalar(select(Event).where(Event.slug == "page-doors"))
            event.public_url = server.url
            db.session.commit()
        page = client.get("/admin/events/page-doors/ready").get_data(as_text=True)
        phone = requests.get(f"{server.url}/phone-check", timeout=10)  # what scanning the test QR opens
        assert phone.status_code == 200 and "This phone reaches Give" in phone.text
        again = client.get("/admin/events/page-doors/ready").get_data(as_text=True)
    for key in ("database", "public_url", "reachable", "lan", "printing", "matcher", "disk", "backup"):
        assert f'data-key="{key}"' in page
    assert f"{server.url}/phone-check" in page and "<svg" in page
    assert 'class="check check-warn" data-key="public_url"' in page  # 127.0.0.1: only this laptop opens it
    assert 'class="check check-ok" data-key="reachable"' in page
    assert "a phone opened the test code" not in page and "a phone opened the test code" in again


@pytest.mark.cups
def test_doctor_exits_0_when_ready_and_1_when_the_server_stops(tmp_path, queues):
    lan = _lan()
    port = free_port()
    app = build_app(tmp_path / "instance", MATCHER="off", GIVETAKE_PUBLIC_URL=f"http://{lan}:{port}")
    runner = app.test_cli_runner()
    try:
        source = app.config["DATABASE_URL"].split("///", 1)[1]
        record(app.instance_path, backup_sqlite(source, tmp_path / "copy.sqlite3"))
        with LiveServer(app, host="0.0.0.0", port=port):
            ready = runner.invoke(args=["doctor"])
        assert ready.exit_code == 0, ready.output
        assert ready.output.rstrip().endswith(("0 to fix (!!), 1 to look at (??).", "Ready for doors.")), ready.output
        assert "[!!]" not in ready.output and f"[ok] reachable: http://{lan}:{port} answers" in ready.output
        stopped = runner.invoke(args=["doctor"])
        assert stopped.exit_code == 1 and "[!!] reachable: nothing answers" in stopped.output
        assert "[!!] LAN: nothing listens" in stopped.output
    finally:
        app.extensions["givetake.db"].dispose()
