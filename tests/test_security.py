"""The security review's smaller findings, each reproduced through real requests (issue #11)."""
from __future__ import annotations

import os
import stat


from kiosk.db import db
from kiosk.devices.service import create_device
from kiosk.models import Attendee, Device, Event
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, build_app, csrf_from
from tests.checkin.conftest import event_people, kiosk_client  # noqa: F401 (fixtures)
from tests.factories import make_attendee, make_event


def _login(client, remember: bool = False):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                       "csrf_token": csrf_from(page), **({"remember": "1"} if remember else {})})


def test_use_this_browser_logs_the_organizer_out_of_the_tablet(app, client):
    """Finding 2: after 'Use this browser' the tablet still carried the organizer's session (export.csv worked)."""
    with app.app_context():
        event = make_event(db.session, slug="tablet-conf")
        make_attendee(db.session, event, first_name="Ana", email="ana@example.org")
        device = create_device(db.session, event, "kiosk", "Door")
        db.session.commit()
        device_id = device.id
    _login(client)
    csrf = csrf_from(client.get("/admin/events/tablet-conf/devices").get_data(as_text=True))
    paired = client.post(f"/admin/events/tablet-conf/devices/{device_id}/this-browser", data={"csrf_token": csrf})
    assert paired.status_code == 302 and paired.headers["Location"].endswith("/kiosk/")
    export = client.get("/admin/events/tablet-conf/export.csv")
    assert export.status_code == 302 and "/login" in export.headers["Location"]  # no organizer any more
    kiosk = client.get("/kiosk/")
    assert kiosk.status_code == 200 and "Log out" not in kiosk.get_data(as_text=True)
    # Its error pages carry no admin chrome or links either.
    missing = client.get("/kiosk/nothing-here").get_data(as_text=True)
    assert "/admin" not in missing and "Log out" not in missing
    with app.app_context():
        assert db.session.get(Device, device_id).token_hash is not None


def test_use_this_browser_also_drops_the_remember_me_cookie(app, client):
    """Second review, N2: with "keep me logged in", the remember cookie survived 'Use this browser' and logged the
    tablet back in as the organizer (the session was cleared after logout_user had marked the cookie to go)."""
    with app.app_context():
        event = make_event(db.session, slug="remember-conf")
        device = create_device(db.session, event, "kiosk", "Door")
        db.session.commit()
        device_id = device.id
    _login(client, remember=True)
    csrf = csrf_from(client.get("/admin/events/remember-conf/devices").get_data(as_text=True))
    paired = client.post(f"/admin/events/remember-conf/devices/{device_id}/this-browser",
                         data={"csrf_token": csrf})
    dropped = [c for c in paired.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert dropped and ("Max-Age=0" in dropped[0] or "Expires=Thu, 01 Jan 1970" in dropped[0])
    assert client.get("/admin/events/remember-conf/export.csv").status_code == 302


def test_error_pages_of_public_paths_have_no_admin_links_even_for_an_organizer(app, client):
    _login(client)
    for path in ("/kiosk/nothing", "/screen/nothing", "/b/nothing", "/m/nothing"):
        page = client.get(path).get_data(as_text=True)
        assert "/admin" not in page and "Log out" not in page, path
    assert "Log out" in client.get("/admin/nothing").get_data(as_text=True)  # admin's own keep their chrome


def test_pages_are_not_cached_and_the_remember_cookie_is_secure(app, client, kiosk_client):
    """Finding 8: no Cache-Control on kiosk, phone and admin pages; the one-year remember cookie was never Secure."""
    for path in ("/kiosk/", "/me", "/login"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    assert "no-store" not in client.get("/static/css/app.css").headers.get("Cache-Control", "")
    other = app.test_client()
    logged_in = _login(other, remember=True)
    remember = next(c for c in logged_in.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "Secure" in remember and "HttpOnly" in remember


def test_the_start_page_search_is_rate_limited_like_the_live_lookup(kiosk_client):
    """Finding 9: GET /kiosk/?q= ran the name lookup without the lookup's rate limit."""
    codes = [kiosk_client.get(f"/kiosk/?q=an{i % 3}").status_code for i in range(62)]
    assert codes[:60] == [200] * 60 and codes[-1] == 429
    assert kiosk_client.get("/kiosk/").status_code == 200  # the plain start page is never limited


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    """Finding 11: the database file was created 0644 (the secret key beside it is 0600)."""
    app = build_app(tmp_path / "instance")
    path = app.extensions["givetake.db"].engine.url.database
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    app.extensions["givetake.db"].dispose()


def test_consent_can_be_changed_on_the_phone(app, client):
    """Finding 13: the kiosk promised "you can change it later on your phone"; now the phone page can."""
    from kiosk.checkin.service import check_in
    with app.app_context():
        event = make_event(db.session, slug="consent-conf")
        person = make_attendee(db.session, event, first_name="Ana")
        db.session.flush()
        token = check_in(db.session, db.session.get(Event, event.id), person,
                         consent={"consent_screen": True, "consent_share": ["email"]}).personal_token
        db.session.commit()
        aid = person.id
    client.get(f"/m/{token}")
    page = client.get("/me").get_data(as_text=True)
    assert 'name="consent_share" value="email" checked' in page and 'value="phone" checked' not in page
    saved = client.post("/me/consent", data={"consent_share": ["phone"], "csrf_token": csrf_from(page)})
    assert saved.status_code == 302
    with app.app_context():
        ana = db.session.get(Attendee, aid)
        assert ana.consent_share == ["phone"] and ana.consent_screen is False
    bad = client.post("/me/consent", data={"consent_share": ["password"], "csrf_token": csrf_from(page)})
    assert bad.status_code == 422
    with app.app_context():
        assert db.session.get(Attendee, aid).consent_share == ["phone"]


def test_admin_and_devices_warn_about_a_loopback_public_url(tmp_path):
    """Finding 14: every QR pointed at 127.0.0.1 when the public URL was not set, without a warning."""
    app = build_app(tmp_path / "instance", GIVETAKE_PUBLIC_URL="http://127.0.0.1:5000")
    with app.app_context():
        make_event(db.session, slug="url-conf")
        db.session.commit()
    client = app.test_client()
    _login(client)
    for path in ("/admin/events/url-conf", "/admin/events/url-conf/devices"):
        page = client.get(path).get_data(as_text=True)
        assert "opens only on this laptop" in page, path
    assert "Where tablets and phones connect" in client.get("/admin/events/url-conf/devices").get_data(as_text=True)
    good = build_app(tmp_path / "good", GIVETAKE_PUBLIC_URL="http://192.168.1.20:5000")
    with good.app_context():
        make_event(db.session, slug="url-conf")
        db.session.commit()
    other = good.test_client()
    _login(other)
    assert "opens only on this laptop" not in other.get("/admin/events/url-conf").get_data(as_text=True)
    for built in (app, good):
        built.extensions["givetake.db"].dispose()
