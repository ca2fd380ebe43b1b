"""The `givetake` command end to end, as a new user runs it: demo on an empty folder, then serve."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from kiosk.models import Attendee, CardKind, Card, Event

GIVETAKE = shutil.which("givetake", path=str(Path(sys.executable).parent)) or "givetake"


def _env(instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIVETAKE_")}
    # fspath, not str: str() of anything else (the fixture's tuple, once) made a folder named after its repr.
    env["GIVETAKE_INSTANCE_PATH"] = os.fspath(instance)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_instance(tmp_path_factory):
    """An instance folder where `givetake demo` ran once, from nothing."""
    instance = tmp_path_factory.mktemp("demo") / "instance"
    result = subprocess.run([GIVETAKE, "demo"], env=_env(instance), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return instance, result.stdout


def test_demo_creates_a_realistic_event_on_an_empty_database(demo_instance):
    instance, output = demo_instance
    assert "Demo event created with 300 attendees" in output
    login = re.search(r"Demo login:\s+(\S+)\s+/\s+(\S+)", output)
    assert login and (instance / "demo-login.txt").stat().st_mode & 0o077 == 0
    engine = create_engine(f"sqlite:///{instance / 'givetake.db'}")
    with Session(engine) as s:
        event = s.scalar(select(Event).where(Event.slug == "demo"))
        people = s.scalars(select(Attendee).where(Attendee.event_id == event.id)).all()
        assert len(people) == 300
        checked_in = sum(1 for p in people if p.checked_in_at)
        assert 60 <= checked_in <= 180
        # Nobody's consent is pre-ticked: only those who checked in (and so chose at the kiosk) share anything.
        assert all(not p.consent_screen and p.consent_share == [] for p in people if not p.checked_in_at)
        assert any(p.consent_screen for p in people if p.checked_in_at)
        scripts = {unicodedata.name(p.first_name[0]).split()[0] for p in people}
        assert {"LATIN", "CJK", "HANGUL", "CYRILLIC", "GREEK", "ARABIC", "HEBREW"} <= scripts
        assert any(any(ord(ch) > 0x1F000 for ch in p.full_name) for p in people)  # emoji
        assert any(ch in "éñüøåçł" for p in people for ch in p.full_name)
        assert all(p.cards_of(CardKind.offer) and p.cards_of(CardKind.need) for p in people)
        texts = set(s.scalars(select(Card.text)))
        assert len(texts) >= 40
        assert len({tag for tags in s.scalars(select(Card.tags)) for tag in tags}) >= 10
    engine.dispose()


def test_demo_if_missing_keeps_the_event_and_prints_the_login(demo_instance):
    instance, first_output = demo_instance
    result = subprocess.run([GIVETAKE, "demo", "--if-missing"], env=_env(instance), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and "exists already" in result.stdout
    assert re.search(r"Demo login:.*", result.stdout).group(0) == re.search(r"Demo login:.*", first_output).group(0)


def test_serve_serves_the_demo_and_its_login_works(demo_instance):
    instance, output = demo_instance
    email, password = re.search(r"Demo login:\s+(\S+)\s+/\s+(\S+)", output).groups()
    port = _free_port()
    server = subprocess.Popen([GIVETAKE, "serve", "--port", str(port)], env=_env(instance),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(f"{base}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start within 30 s"
                time.sleep(0.1)
        assert page.status_code == 200
        web = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(f"{base}/login").text).group(1)
        web.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token})
        overview = web.get(f"{base}/admin/events/demo")
        assert overview.status_code == 200 and "Give &amp; Take Demo Summit" in overview.text
    finally:
        server.terminate()
        banner = server.communicate(timeout=10)[0]
    assert f"http://127.0.0.1:{port}" in banner and "/admin/events/demo" in banner


@pytest.mark.parametrize("mode, says", [("", "serve runs on gevent"), ("threading", "serve runs on threads")])
def test_doctor_says_how_serve_will_run(demo_instance, mode, says):
    instance, _ = demo_instance
    env = {**_env(instance), "GIVETAKE_ASYNC_MODE": mode}
    result = subprocess.run([GIVETAKE, "doctor"], env=env, capture_output=True, text=True, timeout=120)
    assert f"[ok] server: {says}" in result.stdout, result.stdout + result.stderr
    assert "[ok] database" in result.stdout


def test_round_never_starts_a_second_matcher_next_to_a_running_server(demo_instance):
    """Single writer: while `givetake serve` holds this instance's matcher lock, `givetake round` refuses (without
    Redis it could only run a second matcher loop); with no server running it pairs the round itself."""
    instance, _ = demo_instance
    port = _free_port()
    server = subprocess.Popen([GIVETAKE, "serve", "--port", str(port)], env=_env(instance),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "server did not start within 60 s"
                time.sleep(0.1)
        refused = subprocess.run([GIVETAKE, "round", "--event", "demo"], env=_env(instance), capture_output=True,
                                 text=True, timeout=120)
        assert refused.returncode == 1 and "live dashboard" in refused.stderr, refused.stdout + refused.stderr
        # A second server on the same folder is refused too, before it listens.
        second = subprocess.run([GIVETAKE, "serve", "--port", str(_free_port())], env=_env(instance),
                                capture_output=True, text=True, timeout=120)
        assert second.returncode == 1 and "runs the matcher" in second.stderr, second.stdout + second.stderr
    finally:
        server.terminate()
        server.communicate(timeout=10)
    paired = subprocess.run([GIVETAKE, "round", "--event", "demo"], env=_env(instance), capture_output=True,
                            text=True, timeout=300)
    assert paired.returncode == 0 and re.search(r"Round \d+: \d+ groups", paired.stdout), \
        paired.stdout + paired.stderr


def test_doctor_asks_cups_itself_and_says_when_it_is_not_running(runner, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{_free_port()}")
    result = runner.invoke(args=["doctor"])
    assert "[!!] printing: the CUPS scheduler (cupsd) is not running" in result.output, result.output
    assert "badges can be downloaded only" in result.output
