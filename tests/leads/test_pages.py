"""The Sponsors page in admin and a sponsor's scanner page (/leads), as plain forms without JavaScript."""
from __future__ import annotations

import re

from kiosk.db import db
from kiosk.devices.service import COOKIE, create_device, pair
from kiosk.models import Device, Event, Lead, Sponsor
from tests.conftest import csrf_from
from tests.factories import form_values


def test_admin_adds_a_sponsor_and_a_scanner_that_pairs_to_the_leads_page(app, client, auth, booth):
    auth.login()
    base = f"/admin/events/{booth['slug']}/sponsors/"
    assert "Sponsors &amp; leads" in client.get(f"/admin/events/{booth['slug']}").get_data(as_text=True)
    created = auth.post(base, {"name": "Initech", "questions": "Team size?\n\nTeam size?\nBudget?"},
                        follow_redirects=True)
    assert created.status_code == 200 and "Initech added" in created.get_data(as_text=True)
    with app.app_context():
        initech = db.session.query(Sponsor).filter_by(name="Initech").one()
        assert initech.questions == ["Team size?", "Budget?"]
        sponsor_id = initech.id
    page = auth.post(f"{base}{sponsor_id}/scanners", {"name": "Initech tablet"}, follow_redirects=True)
    html = page.get_data(as_text=True)
    code = re.search(r"pair it with the code ([A-Z0-9]+)", html).group(1)
    assert f'<strong class="pairing-code">{code}</strong>' in html
    devices = client.get(f"/admin/events/{booth['slug']}/devices").get_data(as_text=True)
    assert "Initech tablet" in devices and "Initech" in devices.split("Initech tablet", 1)[1][:400]

    tablet = app.test_client()
    form = tablet.get("/pair").get_data(as_text=True)
    paired = tablet.post("/pair", data={"code": code, "csrf_token": csrf_from(form)})
    assert paired.status_code == 302 and paired.headers["Location"].endswith("/leads")
    landing = tablet.get("/leads").get_data(as_text=True)
    assert "Initech" in landing and "No leads yet" in landing and 'name="csrf_token"' in landing


def test_a_duplicate_sponsor_or_bad_question_list_is_refused_with_a_message(app, client, auth, booth):
    auth.login()
    base = f"/admin/events/{booth['slug']}/sponsors/"
    again = auth.post(base, {"name": "Acme Cloud"}, follow_redirects=True)
    assert "There is a sponsor called Acme Cloud already." in again.get_data(as_text=True)
    many = auth.post(base, {"name": "Quizzy", "questions": "\n".join(f"Q{i}?" for i in range(11))},
                     follow_redirects=True)
    assert "At most 10 questions" in many.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Sponsor).filter_by(name="Quizzy").count() == 0


def test_the_scanner_page_scans_rates_and_answers_without_javascript(app, client, booth):
    client.set_cookie(COOKIE, booth["acme_token"])
    page = client.get("/leads").get_data(as_text=True)
    scanned = client.post("/leads/scan", data={"code": booth["codes"]["Ana"], "csrf_token": csrf_from(page)},
                          follow_redirects=True)
    html = scanned.get_data(as_text=True)
    assert "New lead: Ana García." in html and "ana@example.org" in html and "+34" not in html
    repeat = client.post("/leads/scan", data={"code": booth["urls"]["Ana"], "csrf_token": csrf_from(page)},
                         follow_redirects=True)
    assert "Ana García is one of your leads already." in repeat.get_data(as_text=True)
    bad = client.post("/leads/scan", data={"code": "#1 ABC", "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "That is not a Give &amp; Take badge code" in bad.get_data(as_text=True)

    with app.app_context():
        lead_id = db.session.query(Lead).one().id
    values = form_values(html, "note")
    values["note"] = "<script>alert(1)</script> wants a trial"
    values["answer-1"] = "This quarter"
    values["rating"] = "hot"  # the Hot button
    saved = client.post(f"/leads/{lead_id}", data=values, follow_redirects=True).get_data(as_text=True)
    assert "Saved." in saved and "&lt;script&gt;alert(1)&lt;/script&gt; wants a trial" in saved
    assert re.findall(r'rating-(\w+)"\s+aria-pressed="true"', saved) == ["hot"]
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert (lead.rating.value, lead.answers) == ("hot", {"Timeline?": "This quarter"})
    plain = form_values(saved, "note")  # Save (no rating button): the rating stays
    plain["note"] = "Trial set up"
    client.post(f"/leads/{lead_id}", data=plain)
    with app.app_context():
        assert db.session.get(Lead, lead_id).rating.value == "hot"
    export = client.get("/leads/export.csv")
    assert export.status_code == 200 and "Trial set up" in export.get_data(as_text=True)


def test_the_scanner_page_refuses_other_devices(app, client, booth):
    assert client.get("/leads").headers["Location"].endswith("/pair")  # not paired at all
    with app.app_context():
        s = db.session
        kiosk = create_device(s, s.get(Event, booth["event_id"]), "kiosk", "Entrance")
        token = pair(s, kiosk.pairing_code)[1]
        s.commit()
    client.set_cookie(COOKIE, token)
    refused = client.get("/leads")
    assert refused.status_code == 403 and "Only a sponsor" in refused.get_data(as_text=True)
    assert "Log out" not in refused.get_data(as_text=True)  # a public page: no organizer chrome
    with app.app_context():
        assert db.session.query(Device).filter_by(kind="scanner").count() == 2
