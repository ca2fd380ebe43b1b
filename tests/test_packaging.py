"""`pip install .` gives a working app: the wheel, installed in a fresh environment outside the checkout, migrates,
seeds the demo, serves the kiosk with its CSS and translations, and renders badges with the bundled fonts.

Everything runs from a folder outside the checkout with PYTHONPATH unset, so nothing can come from the source tree.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import venv
from contextlib import closing
from pathlib import Path

import pytest
import requests
from pypdf import PdfReader

from kiosk import schema
from tests.livesrv import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def _copy_source(dest: Path) -> Path:
    """The files a commit of the work tree would hold (tracked, or new and not ignored), copied to `dest`.

    Building from a copy keeps build/ and *.egg-info out of the checkout, and a stale build/lib from an earlier
    build out of the wheel."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def _run(command: list, cwd: Path, env: dict, timeout: float = 600) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh virtual environment with the built wheel installed (its dependencies from the index), a work folder
    and the environment its commands run with."""
    base = tmp_path_factory.mktemp("packaging")
    work = base / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIVETAKE_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["GIVETAKE_INSTANCE_PATH"] = str(base / "instance")
    started = time.monotonic()
    source = _copy_source(base / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", source], work, env)
    wheel, = (base / "dist").glob("givetake-*.whl")
    built = time.monotonic()
    # This pip installs into the new environment (`--python`): the same install as the environment's own pip,
    # without the seconds ensurepip takes. --no-compile: byte-compiling every dependency doubles the install time.
    venv.create(base / "venv", with_pip=False)
    python = base / "venv" / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", wheel], work, env)
    print(f"\nwheel built in {built - started:.0f} s, installed with its dependencies in "
          f"{time.monotonic() - built:.0f} s")
    return {"python": python, "givetake": base / "venv" / "bin" / "givetake", "work": work, "env": env,
            "instance": base / "instance", "venv": base / "venv"}


def test_the_installed_app_finds_its_files_in_the_environment(installed):
    probe = ("import json, kiosk, kiosk.resources as r; print(json.dumps({'package': kiosk.__file__, "
             "'installed': r.INSTALLED, 'dirs': [str(d) for d in (r.templates_dir(), r.static_dir(), r.fonts_dir(), "
             "r.translations_dir(), r.migrations_dir())]}))")
    found = json.loads(_run([installed["python"], "-c", probe], installed["work"], installed["env"]))
    venv_dir = installed["venv"].resolve()
    assert found["installed"] and Path(found["package"]).resolve().is_relative_to(venv_dir)
    for folder in map(Path, found["dirs"]):
        assert folder.is_relative_to(venv_dir) and folder.is_dir(), folder
    templates, static, fonts, translations, migrations = map(Path, found["dirs"])
    assert (templates / "kiosk" / "pair.html").is_file() and (static / "vendor" / "socket.io" / "LICENSE").is_file()
    assert (fonts / "OFL.txt").is_file() and (translations / "de" / "LC_MESSAGES" / "messages.mo").is_file()
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    assert {p.name for p in (migrations / "versions").glob("*.py")} == \
        {p.name for p in (ROOT / "kiosk" / "migrations" / "versions").glob("*.py")}


def test_demo_migrates_and_serves_the_kiosk_its_assets_and_badges(installed):
    givetake, work, env, instance = installed["givetake"], installed["work"], installed["env"], installed["instance"]
    output = _run([givetake, "demo", "--attendees", "40"], work, env)
    assert "Demo event created with 40 attendees" in output
    email, password = re.search(r"Demo login:\s+(\S+)\s+/\s+(\S+)", output).groups()
    assert not (work / "instance").exists()
    with closing(sqlite3.connect(instance / "givetake.db")) as database:
        # The migrations shipped in the wheel brought the database to the newest revision of the source.
        assert database.execute("SELECT version_num FROM alembic_version").fetchall() == [(schema.head_revision(),)]
        attendee_id, = database.execute("SELECT attendees.id FROM attendees JOIN events ON events.id = event_id "
                                        "WHERE events.slug = 'demo' LIMIT 1").fetchone()

    port = free_port()
    with open(work / "serve.log", "w+") as log:
        server = subprocess.Popen([str(givetake), "serve", "--port", str(port)], cwd=work, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    page = requests.get(f"{base}/kiosk/", headers={"Accept-Language": "de"}, timeout=5)
                    break
                except requests.ConnectionError:
                    assert server.poll() is None, (log.seek(0), log.read())[1]
                    assert time.monotonic() < deadline, "givetake serve did not answer within 60 s"
                    time.sleep(0.1)
            assert page.status_code == 200 and page.url.endswith("/pair"), page.url
            assert "Dieses Gerät koppeln" in page.text  # the German catalogue (.mo) shipped and loaded
            assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page.text)
            assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets), assets
            for asset in [*assets, "/static/vendor/socket.io/socket.io.min.js"]:
                served = requests.get(base + asset, timeout=5)
                kind = "text/css" if asset.endswith(".css") else "javascript"
                assert served.status_code == 200 and served.content, asset
                assert kind in served.headers["Content-Type"], (asset, served.headers["Content-Type"])

            web = requests.Session()
            login = web.get(f"{base}/login", timeout=5).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
            web.post(f"{base}/login", data={"email": email, "password": password, "csrf_token": token}, timeout=10)
            badge = web.get(f"{base}/badges/demo/{attendee_id}.pdf", timeout=30)
            assert badge.status_code == 200 and badge.headers["Content-Type"] == "application/pdf"
            reader = PdfReader(io.BytesIO(badge.content))
            fonts = {str(font["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].values()}
            assert any("NotoSans" in name for name in fonts), fonts  # the bundled fonts, found in the package
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)
