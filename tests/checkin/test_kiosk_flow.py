"""The kiosk pages end to end through the Flask test client: pairing, finding yourself, cards, consent, done."""
from __future__ import annotations

import re
import time

from sqlalchemy import select

from kiosk.cards.service import set_cards

from kiosk.db import db
from kiosk.models import Attendee, CardKind, Event, PrintJob, PrintStatus, RevokedBadgeToken
from tests.conftest import csrf_from
from tests.factories import card_form, choose_at_kiosk, form_values, wait_for_matches


def _csrf(client, url="/kiosk/"):
    return csrf_from(client.get(url).get_data(as_text=True))



def test_an_unpaired_browser_sees_the_pairing_screen_and_no_data(client, event_people):
    response = client.get("/kiosk/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/pair")
    lookup = client.get("/kiosk/lookup?q=an")
    assert lookup.status_code == 403 and "Ana" not in lookup.get_data(as_text=True)
    page = client.get("/pair").get_data(as_text=True)
    assert "Pairing code" in page and "Ana" not in page


def test_pairing_with_a_code_sets_an_httponly_device_cookie(app, client, event_people):
    from kiosk.devices.service import create_device
    from kiosk.models import Event
    with app.app_context():
        device = create_device(db.session, db.session.get(Event, event_people["event_id"]), "kiosk", "Left")
        db.session.commit()
        code = device.pairing_code
    token = csrf_from(client.get(f"/pair/{code}").get_data(as_text=True))
    bad = client.post("/pair", data={"code": "ZZZZZZ", "csrf_token": token})
    assert bad.status_code == 404 and "not valid" in bad.get_data(as_text=True)
    response = client.post("/pair", data={"code": code.lower(), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/kiosk/")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("gt_device="))
    assert "HttpOnly" in cookie
    assert client.get("/kiosk/").status_code == 200
    reuse = client.post("/pair", data={"code": code, "csrf_token": token})
    assert reuse.status_code == 404  # a code works once


def test_lookup_shows_only_enough_to_choose(kiosk_client, event_people):
    """A name search gives just enough to pick someone out and a choice token (no id); too short a query finds
    nobody."""
    body = kiosk_client.get("/kiosk/lookup?q=gar").get_json()
    # No id: a kiosk chooses with an opaque, short-lived choice token, so it cannot reach people by counting ids.
    choice = body["results"][0]["choice"]
    assert body["results"] == [{"choice": choice, "first_name": "Ana", "last_initial": "G.",
                                "company": "Brightloop", "checked_in": False}]
    assert not choice.isdigit() and len(choice) > 20
    assert kiosk_client.get("/kiosk/lookup?q=chloe").get_json()["results"][0]["first_name"] == "Chloé"
    short = kiosk_client.get("/kiosk/lookup?q=a").get_json()
    assert short["results"] == [] and "at least 2" in short["message"]
    assert kiosk_client.get("/kiosk/lookup?q=%25").get_json()["results"] == []


def test_lookup_is_rate_limited_per_kiosk(kiosk_client):
    codes = [kiosk_client.get(f"/kiosk/lookup?q=an{i % 3}").status_code for i in range(62)]
    assert codes.count(200) == 60 and codes[-1] == 429


def test_pre_registered_attendee_checks_in_and_gets_matched(app, kiosk_client, event_people):
    # Ben is already here, so Ana's check-in has someone to match with.
    with app.app_context():
        from kiosk.checkin.service import check_in
        from kiosk.models import Event
        s = db.session
        check_in(s, s.get(Event, event_people["event_id"]), s.get(Attendee, event_people["ben"]))
        s.commit()
    csrf = _csrf(kiosk_client)
    r = choose_at_kiosk(kiosk_client, "Ana García", csrf)
    # Her cards were filled before the event: one screen to check them, with an edit link per part.
    assert r.headers["Location"].endswith("/kiosk/confirm")
    page = kiosk_client.get("/kiosk/details").get_data(as_text=True)
    assert "Hi Ana!" in page and "Brightloop" in page
    r = kiosk_client.post("/kiosk/details", data={"first_name": "Ana", "last_name": "García", "company": "Brightloop",
                                                  "title": "Founder", "pronouns": "she/her", "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")
    offer_page = kiosk_client.get("/kiosk/offer").get_data(as_text=True)
    assert "I can offer" in offer_page and "I review pitch decks" in offer_page
    r = kiosk_client.post("/kiosk/offer", data={**card_form("offer", [("I review pitch decks and term sheets",
                                                                        ["Funding"]), "Intros to angels", ""]),
                                                "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")
    r = kiosk_client.post("/kiosk/need", data={**card_form("need", [("A designer for our landing page", ["Design"])]),
                                               "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")
    done = kiosk_client.post("/kiosk/confirm", data={"consent_screen": "1", "consent_share": ["email", "company"],
                                                     "csrf_token": csrf}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "You're in, Ana!" in html and "<svg" in html
    link = re.search(r"https://give\.example\.org/m/([A-Z0-9]+)", html)
    assert link is None  # the link is only inside the QR, not printed as text
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert ana.checked_in_at is not None and ana.title == "Founder" and ana.pronouns == "she/her"
        assert ana.consent_screen and ana.consent_share == ["email", "company"]
        assert [c.text for c in ana.cards_of(CardKind.offer)] == ["I review pitch decks and term sheets", "Intros to angels"]
        assert ana.personal_token_hash is not None
    matches = wait_for_matches(app, event_people["ana"])
    assert [(m.a_id, m.b_id) for m in matches] == [tuple(sorted((event_people["ana"], event_people["ben"])))]
    assert matches[0].direction == "both" and matches[0].reasons and matches[0].starter
    # The kiosk forgot Ana: the next person starts from scratch.
    assert kiosk_client.get("/kiosk/details").headers["Location"].startswith("/kiosk/?expired")


def test_walk_in_registers_and_checks_in(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    bad = kiosk_client.post("/kiosk/walk-in", data={"first_name": "", "csrf_token": csrf})
    assert bad.status_code == 422 and "first name" in bad.get_data(as_text=True)
    r = kiosk_client.post("/kiosk/walk-in", data={"first_name": "محمد", "last_name": "العلي", "email": "m@example.org",
                                                  "company": "<b>Datawell</b>", "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/details")  # a walk-in sees the badge preview too
    preview = kiosk_client.get("/kiosk/details").get_data(as_text=True)
    assert "&lt;b&gt;Datawell&lt;/b&gt;" in preview and "<b>Datawell</b>" not in preview
    kiosk_client.post("/kiosk/offer", data={**card_form("offer", ["Arabic NLP advice"]), "csrf_token": csrf})
    kiosk_client.post("/kiosk/need", data={**card_form("need", ["Beta testers"]), "csrf_token": csrf})
    done = kiosk_client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True)
    assert "محمد" in done.get_data(as_text=True)
    with app.app_context():
        person = db.session.scalar(select(Attendee).where(Attendee.first_name == "محمد"))
        assert person.source == "walkin" and person.checked_in_at and person.company == "<b>Datawell</b>"
        assert person.consent_screen is False and person.consent_share == []


def _check_in_at_the_kiosk(client, name: str, csrf: str) -> None:
    choose_at_kiosk(client, name, csrf)
    assert client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True).status_code == 200


def _come_back(client, ticket: str, csrf: str) -> str:
    """Come back once checked in, showing your ticket (proof that it is you): the "already checked in" page."""
    r = client.post("/kiosk/ticket", data={"code": ticket, "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/already")
    return client.get("/kiosk/already").get_data(as_text=True)


def test_already_checked_in_offers_reprint_and_a_new_phone_code(app, kiosk_client, event_people):
    """Someone checked in who comes back is offered a reprint and gets a new phone code that replaces the old one."""
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Chloé", csrf)
    kiosk_client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True)
    with app.app_context():
        first_hash = db.session.get(Attendee, event_people["chloe"]).personal_token_hash
    # By name only, someone already here gets nothing of theirs: the page asks for their ticket.
    r = choose_at_kiosk(kiosk_client, "Chloé", csrf)
    assert r.headers["Location"].endswith("/kiosk/already")
    asked = kiosk_client.get("/kiosk/already").get_data(as_text=True)
    assert "already checked in" in asked and "scan your ticket" in asked
    assert 'value="qr"' not in asked and 'value="reprint"' not in asked
    refused = kiosk_client.post("/kiosk/already", data={"action": "qr", "csrf_token": csrf}, follow_redirects=True)
    assert refused.status_code == 403 and "<svg" not in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Attendee, event_people["chloe"]).personal_token_hash == first_hash
    # Their ticket scanned at the kiosk is proof: now a new phone code is shown (and the old one is replaced).
    kiosk_client.post("/kiosk/ticket", data={"code": "T-102", "csrf_token": csrf})
    page = kiosk_client.post("/kiosk/already", data={"action": "qr", "csrf_token": csrf}, follow_redirects=True).get_data(as_text=True)
    with app.app_context():
        second_hash = db.session.get(Attendee, event_people["chloe"]).personal_token_hash
    assert "<svg" in page and second_hash not in (None, first_hash)


def test_a_reprint_queues_a_second_badge_and_revokes_the_printed_one(app, kiosk_client, event_people):
    """A reprint from the kiosk queues a second print job; once the first badge reached a printer its token is
    revoked, so scanning the old badge says it was replaced (a reprint of a never-printed badge keeps it)."""
    chloe, csrf = event_people["chloe"], _csrf(kiosk_client)
    _check_in_at_the_kiosk(kiosk_client, "Chloé", csrf)

    def jobs():
        return db.session.scalars(select(PrintJob).where(PrintJob.attendee_id == chloe).order_by(PrintJob.id)).all()

    with app.app_context():
        (first,) = jobs()  # this kiosk has no printer: the badge waits for the desk
        assert first.printer is None and first.error.startswith("no printer assigned")
        old_token = db.session.get(Attendee, chloe).badge_token
    _come_back(kiosk_client, "T-102", csrf)
    reprint = kiosk_client.post("/kiosk/already", data={"action": "reprint", "csrf_token": csrf}, follow_redirects=True)
    assert reprint.status_code == 200 and "Your badge will be printed at the desk." in reprint.get_data(as_text=True)
    with app.app_context():
        assert len(jobs()) == 2
        assert db.session.get(Attendee, chloe).badge_token == old_token  # nothing printed yet: nothing to revoke
        first = db.session.get(PrintJob, first.id)
        first.status = PrintStatus.done  # as the print worker records it once CUPS has printed the badge
        db.session.commit()

    _come_back(kiosk_client, "T-102", csrf)
    assert kiosk_client.post("/kiosk/already", data={"action": "reprint", "csrf_token": csrf}, follow_redirects=True).status_code == 200
    with app.app_context():
        assert [j.status for j in jobs()] == [PrintStatus.done, PrintStatus.queued, PrintStatus.queued]
        new_token = db.session.get(Attendee, chloe).badge_token
        revoked = db.session.get(RevokedBadgeToken, old_token)
        assert new_token != old_token and revoked is not None and revoked.attendee_id == chloe
    old_scan = kiosk_client.post("/kiosk/ticket", data={"code": f"https://give.example.org/b/{old_token}",
                                                         "csrf_token": csrf})
    assert old_scan.status_code == 404 and "This badge was replaced" in old_scan.get_data(as_text=True)
    new_scan = kiosk_client.post("/kiosk/ticket", data={"code": f"https://give.example.org/b/{new_token}",
                                                         "csrf_token": csrf})
    assert new_scan.headers["Location"].endswith("/kiosk/already")


def test_a_ticket_scan_finds_the_attendee(kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    r = kiosk_client.post("/kiosk/ticket", data={"code": "T-101", "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")  # his cards are filled: only a check
    assert "Hi Ben!" in kiosk_client.get("/kiosk/confirm").get_data(as_text=True)
    miss = kiosk_client.post("/kiosk/ticket", data={"code": "NOPE-1", "csrf_token": csrf})
    assert miss.status_code == 404 and "could not find that ticket" in miss.get_data(as_text=True)


def test_scanning_a_pretix_ticket_qr_finds_its_attendee(app, kiosk_client, event_people):
    """The QR on a pretix ticket holds its secret: imported from the check-in list, it finds that very person, even
    when one buyer's email is on every ticket of the order."""
    from pathlib import Path

    from kiosk.attendees.csv_import import import_attendees
    from kiosk.attendees.service import erase_attendee
    checkin_list = Path(__file__).parent.parent / "data" / "imports" / "pretix_checkin_list.csv"
    with app.app_context():
        import_attendees(db.session, db.session.get(Event, event_people["event_id"]), checkin_list.read_bytes())
        db.session.commit()
    csrf = _csrf(kiosk_client)
    # 思远 answered both of the ticket shop's card questions (only a check at the kiosk), ليلى only one.
    for secret, name, step in (("99zwd278wsqu5asj6hu396mvm4a4dmcd", "思远", "confirm"),
                               ("rzb4cpdrzzx9n7athgbpkwe59wwdsfu9", "ليلى", "details")):
        r = kiosk_client.post("/kiosk/ticket", data={"code": secret, "csrf_token": csrf})
        assert r.headers["Location"].endswith(f"/kiosk/{step}")
        page = kiosk_client.get(f"/kiosk/{step}").get_data(as_text=True)
        assert f"Hi {name}!" in page and secret not in page
    # Exact: a secret is case-sensitive, and it is not a badge token.
    upper = kiosk_client.post("/kiosk/ticket", data={"code": "99ZWD278WSQU5ASJ6HU396MVM4A4DMCD", "csrf_token": csrf})
    assert upper.status_code == 404
    # The other paths still work next to it: our ticket reference, and our badge.
    assert kiosk_client.post("/kiosk/ticket", data={"code": "T-100", "csrf_token": csrf}).status_code == 302
    with app.app_context():
        ana_badge = db.session.get(Attendee, event_people["ana"]).badge_token
        siyuan = db.session.scalar(select(Attendee).where(Attendee.ticket_secret == "99zwd278wsqu5asj6hu396mvm4a4dmcd"))
        erase_attendee(db.session, siyuan)
        db.session.commit()
        assert siyuan.ticket_secret is None
    badge = kiosk_client.post("/kiosk/ticket", data={"code": f"https://give.example.org/b/{ana_badge}",
                                                     "csrf_token": csrf})
    assert badge.status_code == 302
    # Erased: their ticket finds nobody.
    gone = kiosk_client.post("/kiosk/ticket", data={"code": "99zwd278wsqu5asj6hu396mvm4a4dmcd", "csrf_token": csrf})
    assert gone.status_code == 404 and "could not find that ticket" in gone.get_data(as_text=True)


def test_idle_state_expires(app, kiosk_client, event_people, monkeypatch):
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    import kiosk.checkin.views as views
    real_time = time.time
    monkeypatch.setattr(views.time, "time", lambda: real_time() + views.STATE_TTL + 1)
    assert "expired" in kiosk_client.get("/kiosk/offer").headers["Location"]


def test_kiosk_pages_speak_german(kiosk_client):
    page = kiosk_client.get("/kiosk/?lang=de").get_data(as_text=True)
    assert "Willkommen" in page
    assert "Willkommen" in kiosk_client.get("/kiosk/").get_data(as_text=True)  # the choice sticks
    assert "Welcome" in kiosk_client.get("/kiosk/?lang=en").get_data(as_text=True)


def test_someone_already_here_can_edit_cards_without_a_second_check_in(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Chloé", csrf)
    kiosk_client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True)
    with app.app_context():
        first = db.session.get(Attendee, event_people["chloe"])
        checked_in_at, token_hash = first.checked_in_at, first.personal_token_hash
    kiosk_client.post("/kiosk/ticket", data={"code": "T-102", "csrf_token": csrf})  # her ticket: it is her
    kiosk_client.post("/kiosk/offer", data={**card_form("offer", ["Airflow and dbt pipelines"]), "csrf_token": csrf})
    kiosk_client.post("/kiosk/need", data={**card_form("need", ["A data engineer to hire"]), "csrf_token": csrf})
    page = kiosk_client.get("/kiosk/consent").get_data(as_text=True)
    assert "Save my changes" in page and "Check in and print" not in page
    saved = kiosk_client.post("/kiosk/consent", data={"consent_screen": "1", "csrf_token": csrf}, follow_redirects=True)
    body = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "Saved, Chloé" in body and "already" not in body and "<svg" not in body
    with app.app_context():
        again = db.session.get(Attendee, event_people["chloe"])
        assert again.checked_in_at == checked_in_at and again.personal_token_hash == token_hash
        assert [c.text for c in again.cards_of(CardKind.offer)] == ["Airflow and dbt pipelines"]
        assert again.consent_screen is True


def test_losing_a_check_in_race_says_another_kiosk_did_it(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ben Okafor", csrf)
    with app.app_context():  # meanwhile, the kiosk next to this one checks Ben in
        from kiosk.checkin.service import check_in
        from kiosk.models import Event
        s = db.session
        assert check_in(s, s.get(Event, event_people["event_id"]), s.get(Attendee, event_people["ben"])).personal_token
        s.commit()
    lost = kiosk_client.post("/kiosk/consent", data={"csrf_token": csrf})
    assert lost.headers["Location"].endswith("/kiosk/already?raced=1")
    assert "Another kiosk checked you in" in kiosk_client.get("/kiosk/already?raced=1").get_data(as_text=True)


def test_continue_keeps_each_items_own_tags(app, kiosk_client, event_people):
    """Regression: pressing Continue on a card moved every chosen tag onto the first item and stripped the others
    (a need "[Funding]" became "[AI & data, Funding, Research]", the second need lost its tags)."""
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        event = db.session.get(Event, ana.event_id)
        set_cards(db.session, ana, CardKind.need, [{"text": "An angel investor", "tags": ["Funding"]},
                                                   {"text": "A UX review", "tags": ["Design", "Software"]}],
                  allowed_tags=[t.label for t in event.tags])
        db.session.commit()
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    page = kiosk_client.get("/kiosk/need").get_data(as_text=True)
    # Each item's chips are its own: the form shows exactly what is stored, item by item.
    checked = re.findall(r'name="need-(\d)-tags" value="([^"]+)" checked', page)
    assert sorted(checked) == [("0", "Funding"), ("1", "Design"), ("1", "Software")]
    # Continue: post back exactly what the page's form holds, as a browser would.
    assert kiosk_client.post("/kiosk/need", data=form_values(page, "need-0-text")).headers["Location"].endswith("/kiosk/confirm")
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert [(c.text, c.tags) for c in ana.cards_of(CardKind.need)] == [
            ("An angel investor", ["Funding"]), ("A UX review", ["Design", "Software"])]


def test_a_stranger_who_types_a_name_cannot_take_over_or_edit_someone_checked_in(app, kiosk_client, event_people):
    """Regression (security review): typing a checked-in person's name and choosing them let a stranger get a new
    phone code (opening their matches) and change their name, cards and consents."""
    from kiosk.checkin.service import check_in
    with app.app_context():
        s = db.session
        check_in(s, s.get(Event, event_people["event_id"]), s.get(Attendee, event_people["ana"]),
                 consent={"consent_share": ["email"]})
        s.commit()
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    for step, data in (("details", {"first_name": "Mallory"}), ("offer", card_form("offer", ["Free crypto"])),
                       ("need", card_form("need", ["Your passwords"])),
                       ("consent", {"consent_share": ["email", "phone"]})):
        shown = kiosk_client.get(f"/kiosk/{step}")
        assert shown.status_code == 302 and shown.headers["Location"].endswith("/kiosk/already")
        posted = kiosk_client.post(f"/kiosk/{step}", data={**data, "csrf_token": csrf})
        assert posted.status_code == 302 and posted.headers["Location"].endswith("/kiosk/already")
    for action in ("qr", "reprint"):
        assert kiosk_client.post("/kiosk/already", data={"action": action, "csrf_token": csrf}, follow_redirects=True).status_code == 403
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert ana.first_name == "Ana" and ana.consent_share == ["email"]
        assert [c.text for c in ana.cards_of(CardKind.offer)] == ["I review pitch decks and term sheets"]
        assert db.session.scalars(select(PrintJob)).all() == []


def test_a_badge_seen_on_someone_is_not_proof_that_it_is_them(app, kiosk_client, event_people):
    """Regression (second review): a badge's QR is public (worn, photographed, scanned for contacts), so scanning it
    at the kiosk must not unlock a new phone code or edits; only their ticket does."""
    from kiosk.checkin.service import check_in
    with app.app_context():
        s = db.session
        check_in(s, s.get(Event, event_people["event_id"]), s.get(Attendee, event_people["ana"]))
        s.commit()
        badge_token = s.get(Attendee, event_people["ana"]).badge_token
    csrf = _csrf(kiosk_client)
    scanned = kiosk_client.post("/kiosk/ticket", data={"code": f"https://give.example.org/b/{badge_token}",
                                                       "csrf_token": csrf})
    assert scanned.headers["Location"].endswith("/kiosk/already")
    assert "scan your ticket" in kiosk_client.get("/kiosk/already").get_data(as_text=True)
    assert kiosk_client.post("/kiosk/already", data={"action": "qr", "csrf_token": csrf}, follow_redirects=True).status_code == 403
    assert kiosk_client.get(f"/badges/kiosk-conf/{event_people['ana']}.pdf").status_code == 403
    # Her ticket is proof.
    kiosk_client.post("/kiosk/ticket", data={"code": "T-100", "csrf_token": csrf})
    assert kiosk_client.get(f"/badges/kiosk-conf/{event_people['ana']}.pdf").status_code == 200
    page = kiosk_client.post("/kiosk/already", data={"action": "qr", "csrf_token": csrf}, follow_redirects=True).get_data(as_text=True)
    assert "<svg" in page
