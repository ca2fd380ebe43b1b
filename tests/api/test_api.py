"""The JSON API: auth by device token or organizer session, validation, idempotent check-in, OpenAPI coverage."""
from __future__ import annotations

import re
import time

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Attendee, Event, Match
from tests.checkin.conftest import pair_kiosk
from tests.conftest import csrf_from


@pytest.fixture
def api(app, client, event_people):
    """A client with a kiosk device token, sending it as a bearer header."""
    with app.app_context():
        s = db.session
        device = create_device(s, s.get(Event, event_people["event_id"]), "kiosk", "API kiosk")
        _, token = pair(s, device.pairing_code)
        s.commit()

    class Api:
        headers = {"Authorization": f"Bearer {token}"}

        def get(self, url, **kw):
            return client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

        def send(self, method, url, json=None, **kw):
            return client.open(url, method=method, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    return Api()


BASE = "/api/events/kiosk-conf"


def test_openapi_document_is_valid_and_matches_the_routes(app, client):
    doc = client.get("/api/openapi.json").get_json()
    validate(doc)
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_calls_without_credentials_are_refused(client, event_people):
    response = client.get(f"{BASE}/attendees/lookup?q=an")
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"
    bogus = client.get(f"{BASE}/attendees/lookup?q=an", headers={"Authorization": "Bearer " + "A" * 32})
    assert bogus.status_code == 401


def test_lookup_returns_only_enough_to_choose(api, event_people):
    body = api.get(f"{BASE}/attendees/lookup?q=ben").get_json()
    assert body == {"results": [{"id": event_people["ben"], "first_name": "Ben", "last_initial": "O.",
                                 "company": "Fjord Design", "checked_in": False}]}
    short = api.get(f"{BASE}/attendees/lookup?q=b")
    assert short.status_code == 422 and short.get_json()["details"] == {"q": "at least 2 characters"}


def test_a_device_only_reaches_its_own_event(app, api):
    with app.app_context():
        from tests.factories import make_event
        make_event(db.session, slug="other-conf")
        db.session.commit()
    assert api.get("/api/events/other-conf/attendees/lookup?q=ana").status_code == 404
    assert api.get("/api/events/nope/stats").status_code == 404


def test_a_screen_cannot_check_people_in(app, client, event_people):
    with app.app_context():
        s = db.session
        device = create_device(s, s.get(Event, event_people["event_id"]), "screen", "Hall TV")
        _, token = pair(s, device.pairing_code)
        s.commit()
    response = client.post(f"{BASE}/attendees/{event_people['ana']}/checkin", json={},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.get_json()["code"] == "wrong_device"


def test_walkin_cards_and_checkin_through_the_api(app, api, event_people):
    created = api.send("POST", f"{BASE}/attendees", {"first_name": "陽菜", "last_name": "鈴木",
                                                     "email": "hina@example.jp", "company": "Kyoto University"})
    assert created.status_code == 201
    person = created.get_json()["attendee"]
    assert person["first_name"] == "陽菜" and "email" not in person  # devices never read contact details back
    pid = person["id"]
    cards = api.send("PUT", f"{BASE}/attendees/{pid}/cards",
                     {"offers": [{"text": "Landing page design", "tags": ["Design"]}],
                      "needs": [{"text": "Feedback on our seed term sheet", "tags": ["Funding"]}]})
    assert cards.status_code == 200 and cards.get_json()["attendee"]["offers"][0]["tags"] == ["Design"]
    bad_tag = api.send("PUT", f"{BASE}/attendees/{pid}/cards", {"offers": [{"text": "x", "tags": ["Nope"]}]})
    assert bad_tag.status_code == 422
    done = api.send("POST", f"{BASE}/attendees/{pid}/checkin", {"consent_screen": True, "consent_share": ["email"]})
    assert done.status_code == 200
    body = done.get_json()
    assert body["checked_in"] and re.fullmatch(r"https://give\.example\.org/m/[A-Z2-9]{26}", body["personal_url"])
    assert body["badge_url"].startswith("https://give.example.org/b/")
    again = api.send("POST", f"{BASE}/attendees/{pid}/checkin", {})
    assert again.status_code == 409 and again.get_json()["code"] == "already_checked_in"
    assert "personal_token" not in again.get_json()


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(app, api, event_people):
    url = f"{BASE}/attendees/{event_people['ana']}/checkin"
    first = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-42"})
    retry = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-42"})
    assert first.status_code == retry.status_code == 200
    assert first.get_json() == retry.get_json() and first.get_json()["personal_token"]
    other = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-43"})
    assert other.status_code == 409
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).checked_in_at is not None


def test_matches_arrive_after_check_in(app, api, event_people):
    for who in ("ben", "ana"):
        assert api.send("POST", f"{BASE}/attendees/{event_people[who]}/checkin", {}).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = api.get(f"{BASE}/attendees/{event_people['ana']}/matches").get_json()["matches"]
        if found:
            break
        time.sleep(0.05)
    assert [m["other"]["first_name"] for m in found] == ["Ben"]
    assert found[0]["reasons"] and found[0]["starter"] and found[0]["status"] == "suggested"
    stats = api.get(f"{BASE}/stats").get_json()
    assert stats["checked_in"] == 2 and stats["matches"]["suggested"] == 1 and stats["registered"] == 3


@pytest.mark.parametrize("payload, content_type, status, code", [
    (b"{not json", "application/json", 400, "bad_json"),
    (b"[1, 2]", "application/json", 400, "bad_json"),
    (b"first_name=Ana", "application/x-www-form-urlencoded", 415, "bad_content_type"),
    (b'{"first_name": 42}', "application/json", 422, "invalid"),
    (b'{"first_name": ""}', "application/json", 422, "invalid"),
    (('{"first_name": "' + "x" * 101 + '"}').encode(), "application/json", 422, "invalid"),
    (b'{"first_name": "Ana", "email": "nope"}', "application/json", 422, "invalid"),
])
def test_bad_input_gets_a_clear_error_and_stores_nothing(app, client, api, payload, content_type, status, code):
    response = client.post(f"{BASE}/attendees", data=payload, content_type=content_type, headers=api.headers)
    assert response.status_code == status and response.get_json()["code"] == code
    assert response.get_json()["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Attendee.id))) == 3


def _refused_as_csrf(response, why: str = "missing") -> bool:
    """True if the API refused the request for its CSRF token (not for any other bad request)."""
    body = response.get_json()
    return response.status_code == 400 and body["message"] == f"The CSRF token is {why}."


def test_organizer_session_writes_need_the_csrf_header(app, client, auth, event_people):
    """A cookie-authenticated PATCH without the session's X-CSRFToken (or with a forged one) is refused as CSRF
    and changes nothing; the same PATCH with it goes through."""
    auth.login()
    url = f"{BASE}/attendees/{event_people['ana']}"
    assert _refused_as_csrf(client.patch(url, json={"company": "New Co"}))
    assert _refused_as_csrf(client.patch(url, json={"company": "New Co"}, headers={"X-CSRFToken": "forged"}),
                            "invalid")
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).company == "Brightloop"
    accepted = client.patch(url, json={"company": "New Co", "email": "ana.new@example.org"},
                            headers={"X-CSRFToken": auth.csrf})
    assert accepted.status_code == 200 and accepted.get_json()["attendee"]["email"] == "ana.new@example.org"
    assert accepted.get_json()["attendee"]["company"] == "New Co"


def test_a_kiosk_browser_cookie_also_needs_csrf_for_writes(app, client, event_people):
    """A paired kiosk's cookie alone cannot register a walk-in through the API (refused as CSRF, nothing stored);
    with the CSRF token of the kiosk page it can."""
    pair_kiosk(app, client, event_people["event_id"])
    assert _refused_as_csrf(client.post(f"{BASE}/attendees", json={"first_name": "Cookie"}))
    with app.app_context():
        assert db.session.scalar(select(func.count(Attendee.id)).where(Attendee.first_name == "Cookie")) == 0
    token = csrf_from(client.get("/kiosk/").get_data(as_text=True))
    created = client.post(f"{BASE}/attendees", json={"first_name": "Cookie"}, headers={"X-CSRFToken": token})
    assert created.status_code == 201 and created.get_json()["attendee"]["first_name"] == "Cookie"


def test_unknown_fields_are_refused(api, event_people):
    response = api.send("PATCH", f"{BASE}/attendees/{event_people['ana']}", {"checked_in_at": "2020-01-01"})
    assert response.status_code == 422 and "checked_in_at" in response.get_json()["message"]


def test_stored_first_answers_expire_after_a_day(app, api, event_people):
    from datetime import timedelta
    from kiosk.models import IdempotentResponse, utcnow
    url = f"{BASE}/attendees/{event_people['ana']}/checkin"
    assert api.send("POST", url, {}, headers={"Idempotency-Key": "old-key"}).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(IdempotentResponse))
        row.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    api.send("POST", f"{BASE}/attendees/{event_people['ben']}/checkin", {}, headers={"Idempotency-Key": "new-key"})
    with app.app_context():
        assert [r.key for r in db.session.scalars(select(IdempotentResponse))] == ["new-key"]
