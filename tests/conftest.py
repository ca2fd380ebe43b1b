"""Shared fixtures: an app on a fresh SQLite database (or a throwaway PostgreSQL database), clients, login."""
from __future__ import annotations

import os
import re
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kiosk import create_app, schema
from kiosk.auth.service import create_organizer
from kiosk.db import db
from tests.realparts import need

PG_ADMIN_URL = os.environ.get("GIVETAKE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("GIVETAKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

ORGANIZER_EMAIL = "organizer@example.org"
ORGANIZER_PASSWORD = "correct horse battery"


def _pg_reachable() -> tuple[bool, str]:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True, ""
    except Exception as exc:  # any failure means: no usable PostgreSQL here
        return False, str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_server():
    """The PostgreSQL admin URL, or skip (fail under GIVETAKE_REQUIRE_ALL)."""
    ok, why = _pg_reachable()
    need("PostgreSQL", ok, f"{PG_ADMIN_URL}: {why}")
    return PG_ADMIN_URL


@pytest.fixture
def pg_url(pg_server):
    """A throwaway PostgreSQL database for one test, dropped afterwards."""
    name = f"givetake_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def build_app(instance_path, database_url: str | None = None, **extra):
    """An app on a migrated database with one organizer account."""
    config = {"TESTING": True, "INSTANCE_PATH": str(instance_path), "SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
              "GIVETAKE_PUBLIC_URL": "https://give.example.org", **extra}
    if database_url:
        config["DATABASE_URL"] = database_url
    app = create_app(config)
    schema.upgrade(app.config["DATABASE_URL"])
    with app.app_context():
        create_organizer(db.session, ORGANIZER_EMAIL, ORGANIZER_PASSWORD, name="Olga Organizer")
        db.session.commit()
    return app


@pytest.fixture
def app(tmp_path):
    """The app on a fresh SQLite database under a temporary instance folder."""
    app = build_app(tmp_path / "instance")
    yield app
    app.extensions["givetake.db"].dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_app(request, tmp_path):
    """The app on SQLite, then on PostgreSQL: for behaviour that must hold on both."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        app = build_app(tmp_path / "instance", url)
    else:
        app = build_app(tmp_path / "instance")
    yield app
    app.extensions["givetake.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    """Log in and out through the real login form (with its CSRF token)."""

    def __init__(self, client):
        self._client = client
        self.csrf = None

    def login(self, email: str = ORGANIZER_EMAIL, password: str = ORGANIZER_PASSWORD):
        page = self._client.get("/login")
        response = self._client.post("/login", data={"email": email, "password": password,
                                                     "csrf_token": csrf_from(page.get_data(as_text=True))})
        home = self._client.get("/admin/")
        if home.status_code == 200:
            self.csrf = csrf_from(home.get_data(as_text=True))
        return response

    def logout(self):
        return self._client.post("/logout", data={"csrf_token": self.csrf})

    def post(self, url: str, data: dict | None = None, **kwargs):
        """POST a form as the logged-in organizer, with the CSRF token."""
        return self._client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


@pytest.fixture
def auth(client):
    return AuthActions(client)
