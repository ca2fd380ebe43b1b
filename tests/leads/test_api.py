"""The lead API: a scanner's own leads only; 201 new, 200 repeat; errors with their codes; organizers name the sponsor."""
from __future__ import annotations

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Event
from tests.leads.conftest import Scanner, make_booth


def test_capture_list_and_rate_through_the_api(acme, booth):
    new = acme.capture(booth["codes"]["Ana"], nonce="n-1")
    assert new.status_code == 201 and new.get_json()["created"] is True
    lead = new.get_json()["lead"]
    assert lead["attendee"]["first_name"] == "Ana" and lead["shared"] == {"email": "ana@example.org",
                                                                          "company": "Brightloop"}
    assert acme.capture(booth["urls"]["Ana"]).status_code == 200  # a repeat
    resent = acme.capture(booth["codes"]["Ana"], nonce="n-1")
    assert resent.status_code == 201 and resent.get_json()["lead"]["id"] == lead["id"]
    patched = acme.send("PATCH", f"/leads/{lead['id']}", {"rating": "warm", "note": "Call in May",
                                                          "answers": {"Timeline?": "Q2"}})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["lead"] == {**lead, "rating": "warm", "note": "Call in May",
                                               "answers": {"Timeline?": "Q2"}}
    listed = acme.get("/leads").get_json()
    assert listed["sponsor"]["questions"] == ["Budget this year?", "Timeline?"]
    assert [item["id"] for item in listed["leads"]] == [lead["id"]]


def test_api_errors_have_their_codes(acme, booth):
    assert acme.capture("not a badge").get_json()["code"] == "bad_badge_code"
    assert acme.capture("#9999 ABC-DEF").status_code == 404
    assert acme.send("POST", "/leads", {"code": 42}).status_code == 422
    lead = acme.capture(booth["codes"]["Ben"]).get_json()["lead"]
    bad = acme.send("PATCH", f"/leads/{lead['id']}", {"rating": "boiling"})
    assert bad.status_code == 422 and bad.get_json()["details"] == {"rating": "one of hot, warm, cold or null"}
    assert acme.send("PATCH", f"/leads/{lead['id']}", {"stars": 5}).status_code == 422
    assert acme.send("PATCH", "/leads/99999999999", {"rating": "hot"}).status_code == 404


def test_a_scanner_never_reaches_another_sponsors_leads(acme, globex, booth):
    theirs = globex.capture(booth["codes"]["Ana"]).get_json()["lead"]
    assert acme.send("PATCH", f"/leads/{theirs['id']}", {"rating": "hot"}).status_code == 404
    assert acme.get("/leads").get_json()["leads"] == []
    assert acme.get(f"/leads?sponsor={booth['globex']}").status_code == 403


def test_a_kiosk_and_another_events_scanner_are_refused(app, client, booth):
    with app.app_context():
        s = db.session
        device = create_device(s, s.get(Event, booth["event_id"]), "kiosk", "Entrance")
        _, token = pair(s, device.pairing_code)
        s.commit()
    kiosk = Scanner(client, token, booth["slug"])
    refused = kiosk.capture(booth["codes"]["Ana"])
    assert refused.status_code == 403 and refused.get_json()["code"] == "wrong_device"
    other = make_booth(app, slug="other-expo")
    stranger = Scanner(client, other["acme_token"], booth["slug"])
    assert stranger.capture(booth["codes"]["Ana"]).status_code == 404  # not its event


def test_organizers_name_the_sponsor(acme, client, auth, booth):
    acme.capture(booth["codes"]["Ana"])
    auth.login()
    base = f"/api/events/{booth['slug']}"
    assert client.get(f"{base}/leads").status_code == 422
    mine = client.get(f"{base}/leads?sponsor={booth['acme']}").get_json()
    assert [lead["attendee"]["first_name"] for lead in mine["leads"]] == ["Ana"]
    assert client.get(f"{base}/leads?sponsor={booth['globex']}").get_json()["leads"] == []
    assert client.get(f"{base}/leads?sponsor=424242").status_code == 404
