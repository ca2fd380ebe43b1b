"""Configuration: the instance folder must be a plain absolute path, or the app refuses to start."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk import create_app
from kiosk.config import ConfigError, checked_instance_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("raw, says", [
    ("instance", "is relative"),
    ("./data/instance", "is relative"),
    # What once made a folder of this name at the repository root: a test fixture's tuple turned into text.
    (str((Path("/tmp/demo0/instance"), "Demo event created.\n")), "contains"),
    ("/tmp/PosixPath('/tmp/x')", "contains"),
    ("/tmp/give\ntake", "contains '\\n'"),
])
def test_create_app_refuses_an_odd_instance_path(tmp_path, monkeypatch, raw, says):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=f"INSTANCE_PATH .*{re.escape(says)}"):
        create_app({"TESTING": True, "INSTANCE_PATH": raw, "SECRET_KEY": "x"})
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_the_environment_variable_is_checked_and_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIVETAKE_INSTANCE_PATH", "instance")
    with pytest.raises(ConfigError, match="GIVETAKE_INSTANCE_PATH 'instance' is relative"):
        create_app({"TESTING": True, "SECRET_KEY": "x"})


def test_a_python_object_is_not_a_path():
    with pytest.raises(ConfigError, match="must be a folder path, not a tuple"):
        checked_instance_path((Path("/tmp/x"), "output"), "INSTANCE_PATH")


def test_home_is_expanded_and_the_path_normalized(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert checked_instance_path("~/givetake/") == str(tmp_path / "givetake")
    assert checked_instance_path("/var/lib/./givetake//") == "/var/lib/givetake"
    assert checked_instance_path(tmp_path / "pathlib") == str(tmp_path / "pathlib")


def test_an_absolute_instance_path_is_used(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "x"})
    assert app.instance_path == str(tmp_path / "inst") and (tmp_path / "inst").is_dir()
    app.extensions["givetake.db"].dispose()


def test_the_command_says_what_to_fix_without_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIVETAKE_")}
    env.update(GIVETAKE_INSTANCE_PATH="instance", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", "from kiosk.launch import main; main()", "doctor"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "GIVETAKE_INSTANCE_PATH 'instance' is relative" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("env, says", [
    ({"GIVETAKE_SMTP_HOST": "smtp.example.org"}, "GIVETAKE_SMTP_FROM is required"),
    ({"GIVETAKE_SMTP_HOST": "smtp.example.org", "GIVETAKE_SMTP_FROM": "a@x\nBcc: b@y"}, "is not one address"),
    ({"GIVETAKE_SMTP_SECURITY": "tls"}, "not one of starttls, ssl, none"),
    ({"GIVETAKE_SMTP_PORT": "smtp"}, "GIVETAKE_SMTP_PORT 'smtp' is not a whole number"),
])
def test_mail_settings_that_cannot_work_are_refused_by_name(env, says):
    from kiosk.config import smtp_settings
    with pytest.raises(ConfigError, match=re.escape(says)):
        smtp_settings(env)


def test_mail_settings_default_to_starttls_on_587_and_465_for_ssl():
    from kiosk.config import smtp_settings
    settings = smtp_settings({"GIVETAKE_SMTP_HOST": "smtp.example.org", "GIVETAKE_SMTP_FROM": "Conf <hi@example.org>"})
    assert (settings["SMTP_SECURITY"], settings["SMTP_PORT"], settings["SMTP_TIMEOUT"]) == ("starttls", 587, 30)
    assert smtp_settings({"GIVETAKE_SMTP_SECURITY": "ssl"})["SMTP_PORT"] == 465
    assert smtp_settings({})["SMTP_HOST"] is None
