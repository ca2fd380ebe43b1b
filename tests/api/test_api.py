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

        def choose(self, name: str) -> dict:
            """Look `name` up and choose the first result, as a kiosk does: the person and the grant to serve them."""
            found = self.get(f"{BASE}/attendees/lookup", query_string={"q": name}).get_json()["results"]
            chosen = self.send("POST", f"{BASE}/attendees/select", {"choice": found[0]["choice"]})
            assert chosen.status_code == 200, chosen.get_json()
            return chosen.get_json()

        def serving(self, grant: str) -> dict:
            """Headers to act for the person a grant names."""
            return {"X-Kiosk-Grant": grant}

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
    choice = body["results"][0]["choice"]  # a kiosk gets a choice token, never an id
    assert body == {"results": [{"choice": choice, "first_name": "Ben", "last_initial": "O.",
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
    person, grant = created.get_json()["attendee"], created.get_json()["grant"]
    assert person["first_name"] == "陽菜" and "email" not in person  # devices never read contact details back
    pid, serving = person["id"], api.serving(grant)
    cards = api.send("PUT", f"{BASE}/attendees/{pid}/cards",
                     {"offers": [{"text": "Landing page design", "tags": ["Design"]}],
                      "needs": [{"text": "Feedback on our seed term sheet", "tags": ["Funding"]}]}, headers=serving)
    assert cards.status_code == 200 and cards.get_json()["attendee"]["offers"][0]["tags"] == ["Design"]
    bad_tag = api.send("PUT", f"{BASE}/attendees/{pid}/cards", {"offers": [{"text": "x", "tags": ["Nope"]}]},
                       headers=serving)
    assert bad_tag.status_code == 422
    done = api.send("POST", f"{BASE}/attendees/{pid}/checkin", {"consent_screen": True, "consent_share": ["email"]},
                    headers=serving)
    assert done.status_code == 200
    body = done.get_json()
    assert body["checked_in"] and re.fullmatch(r"https://give\.example\.org/m/[A-Z2-9]{26}", body["personal_url"])
    assert body["badge_url"].startswith("https://give.example.org/b/")
    again = api.send("POST", f"{BASE}/attendees/{pid}/checkin", {}, headers=serving)
    assert again.status_code == 409 and again.get_json()["code"] == "already_checked_in"
    assert "personal_token" not in again.get_json()


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(app, api, event_people):
    url = f"{BASE}/attendees/{event_people['ana']}/checkin"
    serving = api.serving(api.choose("Ana García")["grant"])
    first = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-42", **serving})
    retry = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-42", **serving})
    assert first.status_code == retry.status_code == 200
    assert first.get_json() == retry.get_json() and first.get_json()["personal_token"]
    other = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-1-req-43", **serving})
    assert other.status_code == 409
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).checked_in_at is not None


def test_stored_answers_hold_no_personal_token_or_key_in_the_clear(app, api, event_people):
    """The replayable answer keeps the token sealed under the client's key, of which only a hash is stored."""
    from kiosk.models import IdempotentResponse
    url = f"{BASE}/attendees/{event_people['ana']}/checkin"
    serving = api.serving(api.choose("Ana García")["grant"])
    first = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-7-req-1", **serving}).get_json()
    with app.app_context():
        row = db.session.scalar(select(IdempotentResponse))
        stored = repr((row.scope, row.key, row.body))
    assert first["personal_token"] not in stored and "kiosk-7-req-1" not in stored
    assert "personal_url" not in row.body and "personal_token" not in row.body
    replay = api.send("POST", url, {}, headers={"Idempotency-Key": "kiosk-7-req-1", **serving}).get_json()
    assert replay == first  # the retry still gets the token: the key it sends opens the seal


def test_a_kiosk_reaches_only_the_person_it_serves(app, api, event_people):
    """Regression (security review): a kiosk token read anyone's details by counting ids, and could patch anyone."""
    ana = event_people["ana"]
    refused = api.get(f"{BASE}/attendees/{ana}")
    assert refused.status_code == 403 and refused.get_json()["code"] == "no_grant"
    ben = api.choose("Ben Okafor")
    assert ben["attendee"]["first_name"] == "Ben" and "email" not in ben["attendee"]
    for method, path, body in (("GET", "", None), ("GET", "/matches", None), ("GET", "/badge", None),
                               ("PATCH", "", {"consent_share": ["email", "phone"]}), ("POST", "/checkin", {})):
        other = api.send(method, f"{BASE}/attendees/{ana}{path}", body, headers=api.serving(ben["grant"]))
        assert other.status_code == 403 and other.get_json()["code"] == "not_your_attendee", (method, path)
    forged = api.get(f"{BASE}/attendees/{ana}", headers=api.serving(ben["grant"][:-2] + "xx"))
    assert forged.status_code == 403
    mine = api.get(f"{BASE}/attendees/{event_people['ben']}", headers=api.serving(ben["grant"]))
    assert mine.status_code == 200 and mine.get_json()["attendee"]["first_name"] == "Ben"
    with app.app_context():
        assert db.session.get(Attendee, ana).consent_share == []


def test_a_kiosk_changes_nothing_of_someone_checked_in_without_a_scan(app, api, event_people):
    ben = event_people["ben"]
    by_name = api.serving(api.choose("Ben Okafor")["grant"])
    assert api.send("POST", f"{BASE}/attendees/{ben}/checkin", {}, headers=by_name).status_code == 200
    again = api.serving(api.choose("Ben Okafor")["grant"])  # someone typing his name later
    refused = api.send("PATCH", f"{BASE}/attendees/{ben}", {"first_name": "Mallory"}, headers=again)
    assert refused.status_code == 403 and refused.get_json()["code"] == "proof_needed"
    scanned = api.send("POST", f"{BASE}/attendees/lookup-ticket", {"code": "T-101"}).get_json()
    fixed = api.send("PATCH", f"{BASE}/attendees/{ben}", {"company": "Fjord Studio"},
                     headers=api.serving(scanned["grant"]))
    assert fixed.status_code == 200 and fixed.get_json()["attendee"]["company"] == "Fjord Studio"
    with app.app_context():
        assert db.session.get(Attendee, ben).first_name == "Ben"


def test_matches_arrive_after_check_in(app, api, event_people):
    grants = {who: api.serving(api.choose(name)["grant"]) for who, name in (("ben", "Ben Okafor"), ("ana", "Ana G"))}
    for who in ("ben", "ana"):
        assert api.send("POST", f"{BASE}/attendees/{event_people[who]}/checkin", {},
                        headers=grants[who]).status_code == 200
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = api.get(f"{BASE}/attendees/{event_people['ana']}/matches", headers=grants["ana"]).get_json()["matches"]
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


def test_a_failed_bearer_beside_an_organizer_cookie_still_needs_csrf(app, client, auth, event_people):
    """Regression: any `Authorization: Bearer` header skipped CSRF, even when the bearer failed and the cookie
    authenticated (so another site could add a junk bearer to a cross-site write)."""
    auth.login()
    url = f"{BASE}/attendees/{event_people['ana']}"
    junk = {"Authorization": "Bearer " + "A" * 32}
    refused = client.patch(url, json={"company": "Evil Co"}, headers=junk)
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    accepted = client.patch(url, json={"company": "Good Co"}, headers={**junk, "X-CSRFToken": auth.csrf})
    assert accepted.status_code == 200
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).company == "Good Co"


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
    response = api.send("PATCH", f"{BASE}/attendees/{event_people['ana']}", {"checked_in_at": "2020-01-01"},
                        headers=api.serving(api.choose("Ana García")["grant"]))
    assert response.status_code == 422 and "checked_in_at" in response.get_json()["message"]


def test_stored_first_answers_expire_after_a_day(app, api, event_people):
    from datetime import timedelta
    from kiosk.models import IdempotentResponse, utcnow
    from kiosk.tokens import hash_token
    url = f"{BASE}/attendees/{event_people['ana']}/checkin"
    ana, ben = (api.serving(api.choose(name)["grant"]) for name in ("Ana García", "Ben Okafor"))
    assert api.send("POST", url, {}, headers={"Idempotency-Key": "old-key", **ana}).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(IdempotentResponse))
        row.created_at = utcnow() - timedelta(hours=25)
        db.session.commit()
    api.send("POST", f"{BASE}/attendees/{event_people['ben']}/checkin", {}, headers={"Idempotency-Key": "new-key", **ben})
    with app.app_context():
        assert [r.key for r in db.session.scalars(select(IdempotentResponse))] == [hash_token("new-key")]


def test_a_badge_scanned_through_the_api_is_no_proof(app, api, event_people):
    """Second review, N1: a typed name gave the badge URL, and that badge URL scanned at lookup-ticket gave a grant
    with proof: enough to rename someone checked in."""
    ben = event_people["ben"]
    by_name = api.serving(api.choose("Ben Okafor")["grant"])
    assert api.send("POST", f"{BASE}/attendees/{ben}/checkin", {}, headers=by_name).status_code == 200
    again = api.serving(api.choose("Ben Okafor")["grant"])
    assert api.get(f"{BASE}/attendees/{ben}/badge", headers=again).get_json()["code"] == "proof_needed"
    with app.app_context():
        badge = db.session.get(Attendee, ben).badge_token
    scanned = api.send("POST", f"{BASE}/attendees/lookup-ticket", {"code": f"https://give.example.org/b/{badge}"})
    renamed = api.send("PATCH", f"{BASE}/attendees/{ben}", {"first_name": "Pwned"},
                       headers=api.serving(scanned.get_json()["grant"]))
    assert renamed.status_code == 403 and renamed.get_json()["code"] == "proof_needed"
    with app.app_context():
        assert db.session.get(Attendee, ben).first_name == "Ben"


def test_organizers_put_attendees_in_groups_through_the_api_and_kiosks_cannot(app, client, auth, api, event_people):
    from kiosk.events.service import set_groups
    with app.app_context():
        s = db.session
        set_groups(s, s.get(Event, event_people["event_id"]), "Mentors\nMentees")
        s.commit()
    url = f"{BASE}/attendees/{event_people['ana']}"
    auth.login()
    csrf = {"X-CSRFToken": auth.csrf}
    put = client.patch(url, json={"group": "mentors"}, headers=csrf)  # labels match case-insensitively
    assert put.status_code == 200 and put.get_json()["attendee"]["group"] == "Mentors"
    assert client.get(url).get_json()["attendee"]["group"] == "Mentors"
    unknown = client.patch(url, json={"group": "Investors"}, headers=csrf)
    assert unknown.status_code == 422 and "Mentors, Mentees" in unknown.get_json()["message"]
    wrong_type = client.patch(url, json={"group": 3}, headers=csrf)
    assert wrong_type.status_code == 422
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert [g.label for g in ana.event.groups if g.id == ana.group_id] == ["Mentors"]  # nothing changed
    cleared = client.patch(url, json={"group": None}, headers=csrf)
    assert cleared.status_code == 200 and cleared.get_json()["attendee"]["group"] is None
    # A kiosk neither sees nor sets groups (the kiosk never asks who is a mentor).
    auth.logout()
    grant = api.choose("Ana García")["grant"]
    refused = api.send("PATCH", url, {"group": "Mentees"}, headers=api.serving(grant))
    assert refused.status_code == 422 and "group" in refused.get_json()["message"]
    assert "group" not in api.get(url, headers=api.serving(grant)).get_json().get("attendee", {})
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).group_id is None
