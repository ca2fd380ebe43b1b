"""schemathesis over /api/openapi.json against a real server: with a kiosk's bearer token and with an organizer's
session, no request it generates gets a 5xx, and every answer conforms to the documented schema."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Event
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from
from tests.livesrv import LiveServer

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
#: Examples per operation (schemathesis' -n); with a fixed seed the run is the same every time.
EXAMPLES = int(os.environ.get("GIVETAKE_SCHEMATHESIS_EXAMPLES", "20"))


@pytest.fixture
def api_server(app, event_people):
    server = LiveServer(app).start()
    yield server
    server.stop()


def _run(url: str, *headers: str, cwd=None) -> subprocess.CompletedProcess:
    args = [SCHEMATHESIS, "run", f"{url}/api/openapi.json", "--checks",
            "not_a_server_error,response_schema_conformance", "-n", str(EXAMPLES), "--seed", "1"]
    for header in headers:
        args += ["-H", header]
    # In a folder of its own: schemathesis keeps a cache of what it found in .schemathesis/ under the cwd.
    return subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=cwd)


@pytest.mark.slow
def test_schemathesis_with_a_kiosk_token(app, api_server, event_people, tmp_path):
    with app.app_context():
        s = db.session
        device = create_device(s, s.get(Event, event_people["event_id"]), "kiosk", "Fuzzed")
        _, token = pair(s, device.pairing_code)
        s.commit()
    result = _run(api_server.url, f"Authorization: Bearer {token}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_schemathesis_with_an_organizer_session(app, api_server, event_people, tmp_path):
    http = requests.Session()
    http.post(f"{api_server.url}/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                               "csrf_token": csrf_from(http.get(f"{api_server.url}/login").text)})
    csrf = csrf_from(http.get(f"{api_server.url}/admin/").text)
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    result = _run(api_server.url, f"Cookie: {cookie}", f"X-CSRFToken: {csrf}",
                  f"User-Agent: {http.headers['User-Agent']}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
