"""Badge scans between attendees: the public card, contacts made once, consent on both sides, vCards, erasure.

Phones are test clients signed in through the personal link, as a real phone is; vCards are parsed with vobject.
"""
from __future__ import annotations

import itertools
import re

import pytest
import vobject
from sqlalchemy import func, select

from kiosk.attendees.service import erase_attendee, issue_personal_token, rotate_badge_token, update_attendee
from kiosk.db import db
from kiosk.models import Contact, EventLog, Match, MatchStatus, utcnow
from kiosk.realtime.stats import event_stats
from kiosk.scanning import service as scanning
from kiosk.scanning.vcard import Card, dumps
from kiosk.tokens import short_code
from tests.factories import make_attendee, make_event

SHAREABLE = ("email", "phone", "website", "company", "title")
DETAILS = {"email": "ana@example.org", "phone": "+34 600 123 456", "website": "https://ana.example.org",
           "company": "Acme SL", "title": "CTO"}


@pytest.fixture
def people(app):
    """An event with Ana and Ben checked in (Ana shares everything, Ben nothing), and their phones signed in."""
    with app.app_context():
        s = db.session
        event = make_event(s, name="Scan Conf")
        ana = make_attendee(s, event, first_name="Ana", last_name="García", consent_share=list(SHAREABLE),
                            **{k: v for k, v in DETAILS.items() if k != "email"}, email=DETAILS["email"],
                            offers=[{"text": "Pitch deck reviews", "tags": ["Funding"]}],
                            needs=[{"text": "A designer", "tags": ["Design"]}])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", company="Okafor Design",
                            title="Designer", phone="+44 20 7946 0000", consent_share=[],
                            offers=[{"text": "Brand design", "tags": ["Design"]}])
        for person in (ana, ben):
            person.checked_in_at = utcnow()
        tokens = {"ana": issue_personal_token(ana), "ben": issue_personal_token(ben)}
        s.commit()
        ids = {"event": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id,
               "ana_badge": ana.badge_token, "ben_badge": ben.badge_token}
    phones = {}
    for name in ("ana", "ben"):
        phone = app.test_client()
        assert phone.get(f"/m/{tokens[name]}").status_code == 302
        phones[name] = phone
    return ids, phones


def csrf(phone) -> str:
    page = phone.get("/me").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def api_scan(phone, code: str, nonce: str | None = None):
    return phone.post("/api/me/scan", json={"code": code, **({"nonce": nonce} if nonce else {})},
                      headers={"X-CSRFToken": csrf(phone)})


# ------------------------------------------------------------------------------------------ the plain camera path

def test_a_badge_opened_signed_out_shows_only_the_public_card_and_how_to_connect(app, people):
    ids, _ = people
    page = app.test_client().get(f"/b/{ids['ana_badge']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ana" in html and "Acme SL" in html and "Pitch deck reviews" in html
    assert "Open your own phone page first" in html
    for private in ("ana@example.org", "600 123 456", "ana.example.org", "García", "CTO", "A designer"):
        assert private not in html
    assert "/connect" not in html


def test_a_signed_in_attendee_connects_with_one_tap_and_sees_what_is_shared(app, people):
    ids, phones = people
    page = phones["ben"].get(f"/b/{ids['ana_badge']}").get_data(as_text=True)
    assert f"/b/{ids['ana_badge']}/connect" in page and "ana@example.org" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = phones["ben"].post(f"/b/{ids['ana_badge']}/connect", data={"csrf_token": token})
    assert answer.status_code == 302 and "/me#contact-" in answer.headers["Location"]
    after = phones["ben"].get(f"/b/{ids['ana_badge']}").get_data(as_text=True)
    assert "You are connected with Ana" in after and "ana@example.org" in after and "+34 600 123 456" in after
    with app.app_context():
        rows = db.session.query(Contact).all()
        assert [(c.from_id, c.to_id, c.mutual) for c in rows] == [(ids["ben"], ids["ana"], False)]


def test_connect_without_csrf_is_refused(app, people):
    ids, phones = people
    assert phones["ben"].post(f"/b/{ids['ana_badge']}/connect").status_code == 400
    with app.app_context():
        assert db.session.query(Contact).count() == 0


@pytest.mark.parametrize("case", ["replaced", "garbled", "unknown", "other_event", "own"])
def test_badge_pages_for_replaced_garbled_unknown_other_event_and_own_badges(app, people, case):
    ids, phones = people
    with app.app_context():
        s = db.session
        if case == "replaced":
            from kiosk.models import Attendee
            token = ids["ana_badge"]
            rotate_badge_token(s, s.get(Attendee, ids["ana"]))
            s.commit()
        elif case == "other_event":
            other = make_attendee(s, make_event(s, name="Other Meetup"), first_name="Omar", company="Elsewhere")
            s.commit()
            token = other.badge_token
    token = {"garbled": "not-a-badge!!", "unknown": "A" * 21, "own": ids["ben_badge"]}.get(case, locals().get("token"))
    page = phones["ben"].get(f"/b/{token}")
    html = page.get_data(as_text=True)
    expected = {"replaced": (410, "This badge was replaced"), "garbled": (404, "Not a badge code"),
                "unknown": (404, "Unknown badge"), "other_event": (200, "another event (Other Meetup)"),
                "own": (200, "This is your own badge")}[case]
    assert page.status_code == expected[0] and expected[1] in html
    assert "Traceback" not in html and "/connect" not in html


# ---------------------------------------------------------------------------------------------------- contacts

def test_a_scan_makes_one_contact_a_repeat_says_so_and_connecting_back_makes_it_mutual(app, people):
    ids, phones = people
    first = api_scan(phones["ben"], f"https://give.example.org/b/{ids['ana_badge']}")
    assert first.status_code == 201 and first.json["created"] is True and first.json["mutual"] is False
    view = first.json["contact"]
    assert view["state"] == "mine" and view["other"]["shared"] == DETAILS and "offers" not in view
    again = api_scan(phones["ben"], ids["ana_badge"])
    assert again.status_code == 200 and again.json["created"] is False

    # Ana was told (an id only in the message) and sees Ben's public side with a connect back
    with app.app_context():
        told = db.session.query(EventLog).filter_by(room=f"attendee:{ids['ana']}", type="contact").one()
        assert told.payload == {"kind": "scanned_you", "contact_id": view["contact_id"]}
    listed = phones["ana"].get("/api/me/contacts").json["contacts"]
    assert [(c["state"], c["other"]["first_name"], c["other"].get("shared")) for c in listed] == \
        [("theirs", "Ben", None)]
    back = phones["ana"].post(f"/api/me/contacts/{listed[0]['contact_id']}/connect",
                              headers={"X-CSRFToken": csrf(phones["ana"])})
    assert back.status_code == 201 and back.json["mutual"] is True
    ana_view = back.json["contact"]
    assert ana_view["state"] == "mutual" and ana_view["other"]["shared"] == {}  # Ben shares nothing
    assert ana_view["offers"] == [{"text": "Brand design", "tags": ["Design"]}]
    ben_view = phones["ben"].get("/api/me/contacts").json["contacts"][0]
    assert ben_view["state"] == "mutual" and ben_view["needs"] == [{"text": "A designer", "tags": ["Design"]}]
    with app.app_context():
        assert event_stats(db.session, ids["event"])["contacts"] == 1  # one pair, however many rows


def test_the_code_printed_under_the_qr_can_be_typed_instead(app, people):
    ids, phones = people
    code = f"#{ids['ana']} · {short_code(ids['ana_badge'])}"
    assert api_scan(phones["ben"], code).status_code == 201
    typed = f"{ids['ben']} {short_code(ids['ben_badge']).replace('-', '').lower()}"
    assert api_scan(phones["ana"], typed).json["mutual"] is True
    wrong = api_scan(phones["ana"], f"#{ids['ben']} AAA-AAA")
    assert wrong.status_code == 404 and wrong.json["code"] == "unknown_badge"


@pytest.mark.parametrize("code,status,error", [
    ("hello", 422, "bad_badge_code"), ("https://evil.example/x", 422, "bad_badge_code"),
    ("B" * 21, 404, "unknown_badge"), ("", 422, "invalid")])
def test_bad_codes_get_clear_errors_and_change_nothing(app, people, code, status, error):
    _, phones = people
    answer = api_scan(phones["ben"], code)
    assert (answer.status_code, answer.json["code"]) == (status, error)
    with app.app_context():
        assert db.session.query(Contact).count() == 0


def test_scanning_your_own_badge_is_refused(app, people):
    ids, phones = people
    answer = api_scan(phones["ben"], ids["ben_badge"])
    assert (answer.status_code, answer.json["code"]) == (422, "own_badge")


def test_a_resent_scan_with_its_nonce_gets_the_first_answer_and_makes_one_contact(app, people):
    ids, phones = people
    first = api_scan(phones["ben"], ids["ana_badge"], nonce="n-1")
    resent = api_scan(phones["ben"], ids["ana_badge"], nonce="n-1")
    other = api_scan(phones["ben"], ids["ana_badge"], nonce="n-2")
    assert (first.status_code, resent.status_code, other.status_code) == (201, 201, 200)
    assert first.json["contact"]["contact_id"] == resent.json["contact"]["contact_id"]
    with app.app_context():
        assert db.session.query(Contact).count() == 1


def test_the_phone_api_needs_a_signed_in_phone_and_csrf(app, people):
    ids, phones = people
    stranger = app.test_client()
    assert stranger.post("/api/me/scan", json={"code": ids["ana_badge"]}).status_code == 401
    assert stranger.get("/api/me/contacts").status_code == 401
    assert phones["ben"].post("/api/me/scan", json={"code": ids["ana_badge"]}).status_code == 400  # no CSRF
    with app.app_context():
        assert db.session.query(Contact).count() == 0


def test_notes_and_follow_up_are_private_to_their_writer(app, people):
    ids, phones = people
    contact_id = api_scan(phones["ben"], ids["ana_badge"]).json["contact"]["contact_id"]
    saved = phones["ben"].patch(f"/api/me/contacts/{contact_id}", json={"note": "Intro to\nour VC", "follow_up": True},
                                headers={"X-CSRFToken": csrf(phones["ben"])})
    assert saved.status_code == 200 and saved.json["contact"]["note"] == "Intro to\nour VC"
    assert saved.json["contact"]["follow_up"] is True
    # Ana cannot edit Ben's row, and her view of the contact carries no note of his
    refused = phones["ana"].patch(f"/api/me/contacts/{contact_id}", json={"note": "mine now"},
                                  headers={"X-CSRFToken": csrf(phones["ana"])})
    assert refused.status_code == 404
    assert phones["ana"].get(f"/api/me/contacts/{contact_id}").json["contact"]["note"] == ""
    bad = phones["ben"].patch(f"/api/me/contacts/{contact_id}", json={"note": "x" * 2001},
                              headers={"X-CSRFToken": csrf(phones["ben"])})
    assert bad.status_code == 422
    odd = phones["ben"].patch(f"/api/me/contacts/{contact_id}", json={"follow_up": "yes"},
                              headers={"X-CSRFToken": csrf(phones["ben"])})
    assert odd.status_code == 422


def test_a_scan_between_matched_people_marks_their_match_met_and_shows_its_reasons_when_mutual(app, people):
    ids, phones = people
    with app.app_context():
        lo, hi = sorted((ids["ana"], ids["ben"]))
        db.session.add(Match(event_id=ids["event"], a_id=lo, b_id=hi, score=0.8, direction="both",
                             reasons=[{"giver": ids["ben"], "taker": ids["ana"], "offer": "Brand design",
                                       "need": "A designer", "tags": ["Design"]}], starter="Talk design"))
        db.session.commit()
    api_scan(phones["ben"], ids["ana_badge"])
    assert "reasons" not in phones["ben"].get("/api/me/contacts").json["contacts"][0]
    api_scan(phones["ana"], ids["ben_badge"])
    view = phones["ben"].get("/api/me/contacts").json["contacts"][0]
    assert view["reasons"][0]["need"] == "A designer"
    with app.app_context():
        assert db.session.query(Match).one().status == MatchStatus.met


# ----------------------------------------------------------------------------------------------- consent matrix

@pytest.mark.parametrize("shared", [c for n in range(len(SHAREABLE) + 1) for c in itertools.combinations(SHAREABLE, n)])
def test_the_scanner_sees_exactly_the_shared_fields_in_the_api_the_page_and_the_vcard(app, people, shared):
    ids, phones = people
    with app.app_context():
        from kiosk.models import Attendee
        update_attendee(db.session, db.session.get(Attendee, ids["ana"]), consent_share=list(shared))
        db.session.commit()
    view = api_scan(phones["ben"], ids["ana_badge"]).json["contact"]
    assert view["other"]["shared"] == {k: DETAILS[k] for k in shared}
    page = phones["ben"].get(f"/b/{ids['ana_badge']}").get_data(as_text=True)
    card = vobject.readOne(phones["ben"].get(f"/api/me/contacts/{view['contact_id']}.vcf").get_data(as_text=True))
    for field in SHAREABLE:
        value = DETAILS[field]
        in_vcard = {"email": lambda: card.email.value, "phone": lambda: card.tel.value,
                    "website": lambda: card.url.value, "company": lambda: card.org.value[0],
                    "title": lambda: card.title.value}[field]
        present = hasattr(card, {"email": "email", "phone": "tel", "website": "url", "company": "org",
                                 "title": "title"}[field])
        if field in shared:
            assert present and in_vcard() == value
            if field != "company":  # the company is printed on the badge: the public card shows it anyway
                assert value in page
        else:
            assert not present
            if field != "company":
                assert value not in page


def test_a_consent_change_applies_at_once_and_tells_the_phones_holding_the_card(app, people):
    ids, phones = people
    contact_id = api_scan(phones["ben"], ids["ana_badge"]).json["contact"]["contact_id"]
    form = phones["ana"].get("/me").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    phones["ana"].post("/me/consent", data={"csrf_token": token, "consent_share": ["email"]})
    assert phones["ben"].get(f"/api/me/contacts/{contact_id}").json["contact"]["other"]["shared"] == \
        {"email": "ana@example.org"}
    with app.app_context():
        kinds = [r.payload["kind"] for r in db.session.query(EventLog).filter_by(room=f"attendee:{ids['ben']}")]
        assert kinds == ["added", "changed"]


def test_erasure_takes_the_person_off_every_list_page_and_vcard(app, people):
    ids, phones = people
    contact_id = api_scan(phones["ben"], ids["ana_badge"]).json["contact"]["contact_id"]
    api_scan(phones["ana"], ids["ben_badge"])
    with app.app_context():
        from kiosk.models import Attendee
        erase_attendee(db.session, db.session.get(Attendee, ids["ana"]))
        db.session.commit()
    assert phones["ben"].get("/api/me/contacts").json["contacts"] == []
    assert phones["ben"].get(f"/api/me/contacts/{contact_id}").status_code == 404
    assert "BEGIN:VCARD" not in phones["ben"].get("/api/me/contacts.vcf").get_data(as_text=True)
    assert phones["ben"].get(f"/b/{ids['ana_badge']}").status_code == 404
    assert "Ana" not in phones["ben"].get("/me").get_data(as_text=True)


# -------------------------------------------------------------------------------------------------------- vCards

NAMES = [("José", "Núñez"), ("李", "小龙"), ("ليلى", "حداد"), ("Ωμέγα", "Αλφα"), ("Zoë 🎉", "O'Brien-Ñ"),
         ("אורי", "כהן"), ("Nguyễn", "Thị Minh Khai"), ("Łukasz", "Żółć")]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_vcards_round_trip_names_in_every_script_and_declare_their_version(version):
    cards = [Card(first_name=f, last_name=l, company=f"{l} & Co", note=f"Met {f}") for f, l in NAMES]
    text = dumps(cards, version)
    assert text.count(f"VERSION:{version}\r\n") == len(NAMES)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = list(vobject.readComponents(text))
    assert [(p.n.value.given, p.n.value.family, p.fn.value, p.org.value[0], p.note.value) for p in parsed] == \
        [(f, l, f"{f} {l}", f"{l} & Co", f"Met {f}") for f, l in NAMES]


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_user_text_cannot_break_out_of_its_vcard_property(version):
    evil = "Eve\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Mallory; ,x\\y\x00\x1b"
    card = Card(first_name=evil, last_name="Smith;Jones,Jr", company="A;B,C\nD", title="T\rU",
                note=evil * 3, email="e@x.org", website="https://x.org/a b\r\nEND:VCARD")
    text = dumps([card], version)
    parsed = list(vobject.readComponents(text))
    assert len(parsed) == 1
    p = parsed[0]
    clean = "Eve\nEND:VCARD\nBEGIN:VCARD\nFN:Mallory; ,x\\y"
    assert p.n.value.given == clean and p.n.value.family == "Smith;Jones,Jr"
    assert p.org.value == ["A;B,C\nD"] and p.title.value == "T\nU"
    assert p.note.value == clean * 3
    lines = text.split("\r\n")
    assert lines.count("BEGIN:VCARD") == 1 and lines.count("END:VCARD") == 1 and lines[-2] == "END:VCARD"
    assert p.url.value == "https://x.org/a%20bEND:VCARD"


def test_the_all_contacts_vcard_holds_exactly_the_cards_i_hold(app, people):
    ids, phones = people
    with app.app_context():
        from kiosk.models import Event
        s = db.session
        cleo = make_attendee(s, s.get(Event, ids["event"]), first_name="Cléo", last_name="李",
                             consent_share=["email"], email="cleo@example.org")
        s.commit()
        cleo_badge = cleo.badge_token
    api_scan(phones["ben"], ids["ana_badge"])
    api_scan(phones["ben"], cleo_badge)
    api_scan(phones["ana"], ids["ben_badge"])  # Ana scanned Ben: Ben holds Ana's card already
    for version in ("3.0", "4.0"):
        answer = phones["ben"].get(f"/api/me/contacts.vcf?version={version}")
        assert answer.mimetype == "text/vcard"
        cards = list(vobject.readComponents(answer.get_data(as_text=True)))
        assert sorted(c.fn.value for c in cards) == ["Ana García", "Cléo 李"]
        assert {c.fn.value: c.email.value for c in cards} == {"Ana García": "ana@example.org",
                                                             "Cléo 李": "cleo@example.org"}
    assert phones["ben"].get("/api/me/contacts.vcf?version=2.1").status_code == 422


def test_the_phone_page_lists_the_sponsors_who_scanned_me(app, people):
    ids, phones = people
    from kiosk.devices.service import pair
    from kiosk.leads.service import add_scanner, capture_lead, create_sponsor
    from kiosk.models import Event
    assert "No sponsor has scanned your badge." in phones["ana"].get("/me").get_data(as_text=True)
    with app.app_context():
        s = db.session
        event = s.get(Event, ids["event"])
        booth = add_scanner(s, event, create_sponsor(s, event, "Acme <Cloud> & Co"))
        pair(s, booth.pairing_code)
        capture_lead(s, booth, ids["ana_badge"])
        s.commit()
    page = phones["ana"].get("/me").get_data(as_text=True)
    assert "Acme &lt;Cloud&gt; &amp; Co" in page and "No sponsor has scanned" not in page
    assert "Acme" not in phones["ben"].get("/me").get_data(as_text=True)


def test_the_connect_form_posted_again_by_a_retry_connects_and_notifies_once(app, people):
    """The badge page's Connect without JavaScript: a resent post (its answer lost) replays the first answer."""
    from tests.factories import form_values
    ids, phones = people
    page = phones["ben"].get(f"/b/{ids['ana_badge']}").get_data(as_text=True)
    form = form_values(page, "idem")
    first = phones["ben"].post(f"/b/{ids['ana_badge']}/connect", data=form)
    with app.app_context():
        told = db.session.scalar(select(func.count(EventLog.id)).where(EventLog.type == "contact"))
    retry = phones["ben"].post(f"/b/{ids['ana_badge']}/connect", data=form)
    assert first.status_code == retry.status_code == 302 and first.headers["Location"] == retry.headers["Location"]
    shown = phones["ben"].get("/me").get_data(as_text=True)
    flashes = re.findall(r'<div class="flash[^"]*"[^>]*>([^<]*)</div>', shown)
    assert flashes == ["You are connected with Ana."]  # the first answer's words, once (not "already connected")
    with app.app_context():
        s = db.session
        assert s.scalar(select(func.count(Contact.id))) == 1
        assert s.scalar(select(func.count(EventLog.id)).where(EventLog.type == "contact")) == told >= 1
