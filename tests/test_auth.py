"""Organizer accounts: Argon2 hashes, login and logout, CSRF on forms, cookie flags, no open redirects."""
from __future__ import annotations

from sqlalchemy import select

from kiosk.auth.service import authenticate, create_organizer
from kiosk.db import db
from kiosk.errors import Conflict, ValidationFailed
from kiosk.models import Organizer
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from

import pytest


def test_passwords_are_stored_as_argon2id(app):
    with app.app_context():
        organizer = db.session.scalar(select(Organizer).where(Organizer.email == ORGANIZER_EMAIL))
        assert organizer.password_hash.startswith("$argon2id$")
        assert ORGANIZER_PASSWORD not in organizer.password_hash
        assert authenticate(db.session, ORGANIZER_EMAIL.upper(), ORGANIZER_PASSWORD) is not None
        assert authenticate(db.session, ORGANIZER_EMAIL, "wrong password!") is None
        assert authenticate(db.session, "nobody@example.org", ORGANIZER_PASSWORD) is None


def test_organizer_creation_validates(app):
    with app.app_context():
        with pytest.raises(ValidationFailed):
            create_organizer(db.session, "x@example.org", "short")
        with pytest.raises(ValidationFailed):
            create_organizer(db.session, "not-an-email", "long enough password")
        with pytest.raises(Conflict):
            create_organizer(db.session, ORGANIZER_EMAIL, "long enough password")


def test_admin_needs_a_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/admin/events/new").status_code == 302


def test_login_and_logout(client, auth):
    response = auth.login()
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200 and ORGANIZER_EMAIL in page.get_data(as_text=True)
    auth.logout()
    assert client.get("/admin/").status_code == 302


def test_wrong_password_says_so_without_saying_which_part(client, auth):
    response = auth.login(password="not the password")
    assert response.status_code == 401
    assert "do not match" in response.get_data(as_text=True)
    assert auth.login(email="unknown@example.org").status_code == 401


def test_forms_without_a_csrf_token_are_refused(client, auth):
    bare = client.post("/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD})
    assert bare.status_code == 400 and "CSRF" in bare.get_data(as_text=True)
    auth.login()
    forged = client.post("/admin/events/new", data={"name": "Forged"})
    assert forged.status_code == 400
    wrong = client.post("/admin/events/new", data={"name": "Forged", "csrf_token": "bogus"})
    assert wrong.status_code == 400
    assert "Forged" not in client.get("/admin/").get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite(client, auth):
    response = auth.login()
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def test_login_does_not_redirect_off_site(client):
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post(f"/login?next={target}", data={"email": ORGANIZER_EMAIL,
                                                               "password": ORGANIZER_PASSWORD, "csrf_token": token})
        assert response.status_code == 302
        assert "evil.example" not in response.headers["Location"], target
    response = client.post("/login?next=/admin/events/new", data={"email": ORGANIZER_EMAIL,
                                                                  "password": ORGANIZER_PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/admin/events/new")


def test_login_is_rate_limited(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    codes = [client.post("/login", data={"email": ORGANIZER_EMAIL, "password": "guess number %d" % i,
                                         "csrf_token": token}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


def test_init_creates_the_first_organizer(app, runner):
    result = runner.invoke(args=["init", "--email", "Second@Example.org", "--password", "another long password"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert authenticate(db.session, "second@example.org", "another long password") is not None
    again = runner.invoke(args=["init", "--email", "second@example.org", "--password", "another long password"])
    assert again.exit_code == 1 and "exists already" in again.output


def test_security_headers_on_pages(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_cookies_are_secure_on_https_and_still_work_on_plain_http(client):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    plain = client.post("/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                        "csrf_token": token})
    assert "Secure" not in next(c for c in plain.headers.getlist("Set-Cookie") if c.startswith("session="))
    secure_page = client.get("/login", base_url="https://give.example.org")
    token = csrf_from(secure_page.get_data(as_text=True))
    over_https = client.post("/login", base_url="https://give.example.org",
                             data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD, "csrf_token": token})
    assert "Secure" in next(c for c in over_https.headers.getlist("Set-Cookie") if c.startswith("session="))
