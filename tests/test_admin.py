"""Admin pages: events and tags, attendees (search, edit, cards, erase), import upload, export, escaping."""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Attendee, CardKind, Contact, Event, Match
from tests.factories import card_form, make_attendee, make_event

DATA = Path(__file__).parent / "data" / "imports"


def test_create_and_edit_an_event_with_tags(client, auth, app):
    auth.login()
    response = auth.post("/admin/events/new", {"name": "Climate Hack Berlin", "venue": "Kraftwerk",
                                               "timezone": "Europe/Berlin", "starts_at": "2026-12-03T09:00",
                                               "tags": "Funding\nDesign\nfunding\nHardware"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/events/climate-hack-berlin")
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == "climate-hack-berlin"))
        assert [t.label for t in event.tags] == ["Design", "Funding", "Hardware"]  # de-duplicated, sorted
        assert event.starts_at.isoformat() == "2026-12-03T08:00:00+00:00"  # typed on the venue's clock (CET)
    response = auth.post("/admin/events/climate-hack-berlin/edit", {"name": "Climate Hack Berlin 2026",
                                                                    "tags": "Funding, Policy", "round_minutes": "12",
                                                                    "meeting_points": "Table 1\nTable 2"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == "climate-hack-berlin"))
        assert event.name == "Climate Hack Berlin 2026" and event.round_minutes == 12
        assert [t.label for t in event.tags] == ["Funding", "Policy"]
        assert event.meeting_points == ["Table 1", "Table 2"]


def test_event_form_errors_are_shown_and_nothing_saved(client, auth, app):
    auth.login()
    response = auth.post("/admin/events/new", {"name": "", "slug": "x"})
    assert response.status_code == 422 and "fill in the name" in response.get_data(as_text=True)
    response = auth.post("/admin/events/new", {"name": "Bad zone", "timezone": "Mars/Olympus"})
    assert response.status_code == 422 and "time zone" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Event)) is None


def test_attendee_search_is_accent_and_case_insensitive(client, auth, app):
    with app.app_context():
        event = make_event(db.session, slug="search-conf")
        make_attendee(db.session, event, first_name="José", last_name="Núñez")
        make_attendee(db.session, event, first_name="Søren", last_name="Åström", company="Fjord Design")
        make_attendee(db.session, event, first_name="陽菜", last_name="鈴木")
        db.session.commit()
    auth.login()
    assert "José Núñez" in client.get("/admin/events/search-conf/attendees?q=jose").get_data(as_text=True)
    assert "José Núñez" in client.get("/admin/events/search-conf/attendees?q=NUN").get_data(as_text=True)
    page = client.get("/admin/events/search-conf/attendees?q=fjord").get_data(as_text=True)
    assert "Søren" in page and "José" not in page
    assert "陽菜" in client.get("/admin/events/search-conf/attendees?q=陽").get_data(as_text=True)
    assert "Nobody found" in client.get("/admin/events/search-conf/attendees?q=%25").get_data(as_text=True)


def test_edit_attendee_with_cards_and_tags(client, auth, app):
    with app.app_context():
        event = make_event(db.session, slug="edit-conf", tags=["Funding", "Design"])
        a = make_attendee(db.session, event, first_name="Ana")
        db.session.commit()
        aid = a.id
    auth.login()
    response = auth.post(f"/admin/events/edit-conf/attendees/{aid}", {
        "first_name": "Ana María", "last_name": "López", "email": "ana@example.org", "company": "Brightloop",
        "consent_screen": "1", "consent_share": ["email", "company"],
        **card_form("offer", [("Pitch deck feedback", ["funding"]), "", ("Intros to angels", ["Funding, Design"])]),
        **card_form("need", [("A designer for our landing page", ["Design"])])})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        a = db.session.get(Attendee, aid)
        assert a.full_name == "Ana María López" and a.consent_screen and a.consent_share == ["email", "company"]
        assert [(c.text, c.tags) for c in a.cards_of(CardKind.offer)] == [
            ("Pitch deck feedback", ["Funding"]), ("Intros to angels", ["Funding", "Design"])]
        assert [c.text for c in a.cards_of(CardKind.need)] == ["A designer for our landing page"]
    response = auth.post(f"/admin/events/edit-conf/attendees/{aid}", {
        "first_name": "Ana", **card_form("offer", [("x", ["Not a tag"])])})
    assert response.status_code == 422 and "not one of this event" in response.get_data(as_text=True)


def test_html_in_names_and_cards_is_escaped(client, auth, app):
    with app.app_context():
        event = make_event(db.session, slug="xss-conf")
        make_attendee(db.session, event, first_name="<script>alert(1)</script>", company="<b>Bold</b> & Co",
                      offers=["<img src=x onerror=alert(2)>"])
        db.session.commit()
    auth.login()
    page = client.get("/admin/events/xss-conf/attendees").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page


def test_erase_removes_personal_data_and_keeps_counts(client, auth, app):
    with app.app_context():
        s = db.session
        event = make_event(s, slug="erase-conf")
        a = make_attendee(s, event, first_name="Forget", last_name="Me", email="forget@example.org",
                          phone="+49 30 1234", company="Secret Inc", ticket_ref="T-9",
                          offers=["My private offer"], needs=["My private need"])
        b = make_attendee(s, event, first_name="Other")
        from datetime import datetime, timezone
        a.checked_in_at = datetime.now(timezone.utc)
        s.add(Contact(event_id=event.id, from_id=b.id, to_id=a.id, note="met Forget at the bar"))
        lo, hi = sorted([a.id, b.id])
        s.add(Match(event_id=event.id, a_id=lo, b_id=hi, score=0.8, direction="both",
                    reasons=[{"offer": "My private offer"}], starter="Ask Forget about My private offer"))
        from kiosk.models import EventLog
        s.add(EventLog(event_id=event.id, seq=1, type="match", room="screen",
                       payload={"a": {"id": a.id, "first_name": "Forget"}, "b": {"id": b.id, "first_name": "Other"}}))
        s.add(EventLog(event_id=event.id, seq=2, type="checkin", room="staff",
                       payload={"attendee_id": b.id, "first_name": "Other"}))
        event.last_seq = 2  # as publish() leaves it: erasure publishes too (phones holding Forget's card drop it)
        s.commit()
        aid, old_token = a.id, a.badge_token
    auth.login()
    refused = auth.post(f"/admin/events/erase-conf/attendees/{aid}/erase", {"confirm": "no"})
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Attendee, aid).erased_at is None
    assert auth.post(f"/admin/events/erase-conf/attendees/{aid}/erase", {"confirm": "ERASE"}).status_code == 302
    with app.app_context():
        s = db.session
        a = s.get(Attendee, aid)
        assert a.erased_at is not None and a.checked_in_at is not None
        for value in (a.email, a.phone, a.ticket_ref, a.personal_token_hash):
            assert value is None
        assert a.first_name == "Erased" and a.company == "" and a.cards == [] and a.badge_token != old_token
        assert s.scalar(select(Contact)).note == ""
        match = s.scalar(select(Match))
        assert match.reasons == [] and match.starter == ""
        from kiosk.models import EventLog
        logs = {row.seq: row.payload for row in s.scalars(select(EventLog))}
        assert 1 not in logs and logs[2]["first_name"] == "Other"  # the match naming her is gone, the rest stays
        dump = repr([(x.first_name, x.email, x.company) for x in s.scalars(select(Attendee))])
        assert "Forget" not in dump and "Secret" not in dump
    page = client.get("/admin/events/erase-conf").get_data(as_text=True)
    assert ">1<" in page.replace(" ", "")  # one attendee listed, one check-in still counted
    listing = client.get("/admin/events/erase-conf/attendees").get_data(as_text=True)
    assert "Erased" not in listing


def test_import_page_reports_errors_and_imports_all_or_nothing(client, auth, app):
    with app.app_context():
        make_event(db.session, slug="upload-conf")
        db.session.commit()
    auth.login()
    bad = io.BytesIO(b"first_name,email\nAmara,amara@example.org\nKwame,broken-email\n")
    response = auth.post("/admin/events/upload-conf/import", {"file": (bad, "bad.csv"), "format": "auto"},
                         content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nothing was imported" in body and "broken-email" in body
    with app.app_context():
        assert db.session.scalar(select(Attendee)) is None
    good = io.BytesIO((DATA / "pretix_order_positions.csv").read_bytes())
    response = auth.post("/admin/events/upload-conf/import", {"file": (good, "pretix.csv"), "format": "pretix"},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    assert "Łukasz" in client.get("/admin/events/upload-conf/attendees").get_data(as_text=True)
    export = client.get("/admin/events/upload-conf/export.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "Олег" in export.get_data().decode("utf-8-sig")


def test_unknown_event_gets_a_helpful_404(client, auth):
    auth.login()
    response = client.get("/admin/events/nope")
    assert response.status_code == 404 and "There is no event" in response.get_data(as_text=True)
    api_style = client.get("/admin/events/nope", headers={"Accept": "application/json"})
    assert api_style.status_code == 404 and api_style.json["code"] == "not_found"


def test_an_organizer_at_the_desk_gives_a_new_phone_code(client, auth, app):
    """The organizer's approval path for someone who lost their code: a new QR, the old code stops working."""
    from kiosk.checkin.service import check_in
    from kiosk.models import Event
    with app.app_context():
        event = make_event(db.session, slug="desk-conf")
        person = make_attendee(db.session, event, first_name="Ana")
        db.session.flush()
        old = check_in(db.session, db.session.get(Event, event.id), person).personal_token
        db.session.commit()
        aid = person.id
    phone = app.test_client()
    phone.get(f"/m/{old}")
    assert phone.get("/me").status_code == 200
    auth.login()
    page = auth.post(f"/admin/events/desk-conf/attendees/{aid}/phone-code")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    assert phone.get("/me").status_code == 401  # the old code's phone is signed out
    assert client.get(f"/m/{old}").status_code == 404


def test_groups_and_who_may_meet_whom_in_settings_the_attendee_form_and_the_import(client, auth, app):
    auth.login()
    response = auth.post("/admin/events/new", {"name": "Mentoring Night", "groups": "Mentors\nMentees\nmentors",
                                               "group_rule": "across"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == "mentoring-night"))
        assert [g.label for g in event.groups] == ["Mentors", "Mentees"]  # in order, once each
        assert event.match_settings["group_rule"] == "across"
        ana = make_attendee(db.session, event, first_name="Ana")
        db.session.commit()
        aid = ana.id
    form = client.get(f"/admin/events/mentoring-night/attendees/{aid}").get_data(as_text=True)
    assert '<option value="Mentees"' in form
    response = auth.post(f"/admin/events/mentoring-night/attendees/{aid}", {"first_name": "Ana",
                                                                           "group": "Mentors"})
    assert response.status_code == 302, response.get_data(as_text=True)
    response = auth.post(f"/admin/events/mentoring-night/attendees/{aid}", {"first_name": "Ana", "group": "Judges"})
    assert response.status_code == 422 and "There is no group" in response.get_data(as_text=True)
    # CSV: a "group" column (case-insensitive labels); an unknown group imports nothing and names the row.
    bad = io.BytesIO("first_name,last_name,email,group\nBen,Okafor,ben@example.org,Judges\n".encode())
    response = auth.post("/admin/events/mentoring-night/import", {"file": (bad, "bad.csv"), "format": "auto"},
                         content_type="multipart/form-data")
    assert response.status_code == 422 and "Judges" in response.get_data(as_text=True)
    good = io.BytesIO("first_name,last_name,email,group\nBen,Okafor,ben@example.org,mentees\n"
                      "Chloé,Lefèvre,chloe@example.org,\n".encode())
    response = auth.post("/admin/events/mentoring-night/import", {"file": (good, "good.csv"), "format": "auto"},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == "mentoring-night"))
        label = {g.id: g.label for g in event.groups}
        people = {a.first_name: label.get(a.group_id) for a in event.attendees}
        assert people == {"Ana": "Mentors", "Ben": "Mentees", "Chloé": None}
        export = client.get("/admin/events/mentoring-night/export.csv").get_data(as_text=True)
        assert export.splitlines()[0].endswith(",group") and "Mentees" in export
    # Removing a group takes its people out of it; the rule can go back to "any".
    response = auth.post("/admin/events/mentoring-night/edit", {"name": "Mentoring Night", "groups": "Mentees",
                                                                "group_rule": "any"})
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(Event).where(Event.slug == "mentoring-night"))
        assert [g.label for g in event.groups] == ["Mentees"] and event.match_settings["group_rule"] == "any"
        assert db.session.get(Attendee, aid).group_id is None
    response = auth.post("/admin/events/mentoring-night/edit", {"name": "Mentoring Night", "group_rule": "nobody"})
    assert response.status_code == 422
