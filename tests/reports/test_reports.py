"""The post-event PDFs, read back with poppler and pypdf: the figures they print equal what the database says.

One small event whose every figure is known by construction; an event nobody came to; erasure; names that try
reportlab markup; contact details exactly as each person consented; the CLI and the downloads.
"""
from __future__ import annotations

import io
import re
import subprocess
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from kiosk.attendees.service import erase_attendee, issue_personal_token
from kiosk.db import db
from kiosk.leads.service import create_sponsor
from kiosk.models import Contact, Lead, LeadRating, Match, MatchSource, MatchStatus, Round
from kiosk.reports import render, service
from tests.factories import make_attendee, make_event
from tests.realparts import need_program

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)  # 09:00 in Berlin
EVIL = "<font size=80>Eve</font> & <b>Co</b> &amp; </para>"


def pdf_text(pdf: bytes, tmp_path, name: str = "report", mode: str = "-layout") -> str:
    need_program("pdftotext")
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", mode, "-enc", "UTF-8", str(path), "-"], capture_output=True,
                         check=True).stdout.decode()
    return unicodedata.normalize("NFKC", re.sub("[\u202a-\u202e]", "", out))


@pytest.fixture
def past_event(app):
    """Seven registered: five came (one a walk-in), one erased after the event; known matches, contacts, a round,
    a sponsor's leads. Returns ids and the expected figures."""
    with app.app_context():
        s = db.session
        event = make_event(s, name="Nordic Founders Day", slug="nfd", timezone="Europe/Berlin", venue="Aula",
                           starts_at=T0, ends_at=T0 + timedelta(hours=8), tags=["Funding", "Design", "Hiring"])
        ana = make_attendee(s, event, first_name="Ana", last_name="García", ticket_type="Founder",
                            email="ana@example.org", phone="+34 600 111 222", consent_share=["email"],
                            offers=[{"text": "Pitch deck reviews", "tags": ["Funding"]}],
                            needs=[{"text": "A brand designer", "tags": ["Design"]}])
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor", ticket_type="Founder",
                            email="ben@example.org", phone="+44 20 7946 0000", consent_share=["phone", "company"],
                            company="Fjord Design",
                            offers=[{"text": "Brand design and logos", "tags": ["Design"]}],
                            needs=[{"text": "Feedback on our seed round", "tags": ["Funding"]}])
        li = make_attendee(s, event, first_name="李", last_name="小龙", ticket_type="Investor",
                           offers=[{"text": "Angel investment in hardware", "tags": ["Funding"]}],
                           needs=[{"text": "Underwater basket weaving lessons", "tags": []}])
        layla = make_attendee(s, event, first_name="ليلى", last_name="حداد", ticket_type="Investor", source="walkin",
                              company=EVIL, offers=[{"text": "Hiring advice", "tags": ["Hiring"]}])
        gone = make_attendee(s, event, first_name="Forgotten", last_name="Person", ticket_type="Founder",
                             company="Secret Corp", offers=[{"text": "Secret offer", "tags": []}])
        make_attendee(s, event, first_name="Noshow", ticket_type="Founder")
        make_attendee(s, event, first_name="Absent", ticket_type="Investor")
        came = [ana, ben, li, layla, gone]
        for minutes, person in zip((0, 5, 10, 70, 75), came):
            person.checked_in_at = T0 + timedelta(minutes=minutes)
        s.flush()

        def match(a, b, status, **kw):
            lo, hi = sorted((a.id, b.id))
            row = Match(event_id=event.id, a_id=lo, b_id=hi, score=0.7, direction="both", status=status,
                        created_at=T0 + timedelta(minutes=20), **kw)
            s.add(row)
            return row

        match(ana, ben, MatchStatus.met, reasons=[
            {"giver": ben.id, "taker": ana.id, "offer": "Brand design and logos", "need": "A brand designer"},
            {"giver": ana.id, "taker": ben.id, "offer": "Pitch deck reviews", "need": "Feedback on our seed round"}])
        match(ana, li, MatchStatus.suggested, reasons=[
            {"giver": li.id, "taker": ana.id, "offer": "Angel investment in hardware", "need": ""}])
        match(ben, layla, MatchStatus.accepted, reasons=[])
        match(li, layla, MatchStatus.declined, reasons=[])
        round_ = Round(event_id=event.id, number=1, starts_at=T0 + timedelta(hours=2),
                       pairs=[{"ids": [ana.id, layla.id], "meeting_point": "Table 1"},
                              {"ids": [ben.id, li.id], "meeting_point": "Table 2"}])
        s.add(round_)
        s.flush()
        lo, hi = sorted((ben.id, li.id))
        s.add(Match(event_id=event.id, a_id=lo, b_id=hi, score=0.4, direction="both", status=MatchStatus.met,
                    source=MatchSource.round, round_id=round_.id, created_at=T0 + timedelta(hours=2), reasons=[]))
        at = T0 + timedelta(minutes=30)
        s.add_all([Contact(event_id=event.id, from_id=ana.id, to_id=ben.id, mutual=True, created_at=at,
                           note="Send him the <b>deck</b>", follow_up=True),
                   Contact(event_id=event.id, from_id=ben.id, to_id=ana.id, mutual=True, created_at=at),
                   Contact(event_id=event.id, from_id=layla.id, to_id=ana.id, created_at=at + timedelta(hours=1)),
                   Contact(event_id=event.id, from_id=gone.id, to_id=li.id, created_at=at + timedelta(hours=1))])
        sponsor = create_sponsor(s, event, "Acme <Cloud>")
        s.add_all([Lead(event_id=event.id, sponsor_id=sponsor.id, attendee_id=ana.id, rating=LeadRating.hot,
                        note="", answers={}),
                   Lead(event_id=event.id, sponsor_id=sponsor.id, attendee_id=li.id, rating=None, note="",
                        answers={})])
        s.flush()
        erase_attendee(s, gone)
        token = issue_personal_token(ana)
        s.commit()
        return {"event": event.id, "slug": event.slug, "ana": ana.id, "ben": ben.id, "li": li.id,
                "layla": layla.id, "gone": gone.id, "ana_token": token}


def _figures(app, ids):
    with app.app_context():
        from kiosk.models import Event
        s = db.session
        return service.event_figures(s, s.get(Event, ids["event"]))


def test_the_figures_equal_what_the_database_says(app, past_event):
    f = _figures(app, past_event)
    assert (f.registered, f.checked_in, f.walk_ins, f.erased) == (7, 5, 1, 1)
    assert round(f.show_rate, 3) == round(5 / 7, 3)
    assert (f.suggested, f.accepted, f.met, f.declined) == (5, 3, 2, 1)
    assert (f.scans, f.contact_pairs, f.mutual_pairs) == (4, 3, 1)
    assert f.with_contact == 5 and f.connected_share == 1.0  # the erased one made a contact too: counts stay
    assert f.peak_count == 3 and f.peak_start == T0  # 09:00, 09:05, 09:10 in one 15 minutes
    assert [h.hour for h in f.hours] == [9, 10, 11] and f.checkins_per_hour == [3, 2, 0]
    assert f.contacts_per_hour == [1, 2, 0] and f.matches_per_hour == [4, 0, 1]
    types = {t["ticket_type"]: t for t in f.ticket_types}
    assert types["Founder"]["registered"] == 4 and types["Founder"]["checked_in"] == 3
    assert types["Investor"]["checked_in"] == 2
    assert f.rounds == [{"number": 1, "starts_at": T0 + timedelta(hours=2), "groups": 2, "people": 4, "matches": 1,
                         "met": 1, "accepted": 1}]
    assert f.sponsors == [{"name": "Acme <Cloud>", "leads": 2, "hot": 1, "warm": 0, "cold": 0, "unrated": 1}]
    assert dict(f.top_offer_tags) == {"Funding": 2, "Design": 1, "Hiring": 1}
    # Basket weaving: nobody offered anything like it. The seed round: only the Funding tag is shared, no word and
    # (without cached model vectors here) no meaning, which is too little (a tag alone is too broad). The erased
    # person's cards are in no theme.
    assert sorted(e for t in f.unmet_needs for e in t.examples) == ["Feedback on our seed round",
                                                                    "Underwater basket weaving lessons"]
    assert f.unmet_need_count == 2 and f.need_count == 3
    assert all("Secret" not in e for t in f.unneeded_offers for e in t.examples)
    assert (f.components, f.largest_component, f.isolated) == (2, 3, 0)
    appendix = {p["badge"]: p for p in f.people}
    assert appendix[past_event["gone"]]["name"] is None and appendix[past_event["gone"]]["contacts"] == 1
    assert appendix[past_event["ana"]]["contacts"] == 2 and appendix[past_event["ana"]]["met"] == 1


def test_the_organizer_pdf_prints_those_figures_and_every_script(app, past_event, tmp_path):
    f = _figures(app, past_event)
    pdf = render.organizer_report(f)
    reader = PdfReader(io.BytesIO(pdf))
    first = unicodedata.normalize("NFKC", reader.pages[0].extract_text())
    for value, label in (("7", "registered"), ("5", "checked in"), ("71%", "show rate"), ("1", "walk-ins"),
                         ("5", "matches suggested"), ("3", "matches accepted"), ("2", "matches met"),
                         ("3", "contacts swapped"), ("100%", "made a new contact")):
        assert re.search(rf"\b{re.escape(value)}\s*\n?\s*{label}", first), (value, label, first)
    text = pdf_text(pdf, tmp_path)
    assert "Nordic Founders Day" in text and "20 Nov 2026" in text
    assert "peak: 3 in 15 min" in text and "began at 09:00" in text
    assert "Underwater basket weaving lessons" in text
    assert "李" in text and "小龙" in text and "حداد" in text and "ليلى" in text
    # markup prints literally (the appendix cuts long companies; its narrow column wraps: read in stream order)
    raw = re.sub(r"\s+", " ", pdf_text(pdf, tmp_path, "raw", "-raw"))
    assert EVIL[:29] + "..." in raw  # (NFKC spells the ellipsis as three dots)
    assert "Acme <Cloud>" in text
    assert "Forgotten" not in text and "Secret" not in text and "(erased)" in text
    assert "ana@example.org" not in text and "+34" not in text  # no contact details in the organizer's report
    assert re.search(r"page 1\b", text) and len(reader.pages) >= 3
    fonts = {str(font) for page in reader.pages for font in (page.get("/Resources", {}).get("/Font") or {}).values()}
    assert fonts  # text is drawn with embedded fonts (every page has some)


def test_an_event_nobody_came_to_says_so_in_every_section(app, tmp_path):
    with app.app_context():
        s = db.session
        event = make_event(s, name="Empty Meetup")
        make_attendee(s, event, first_name="Only", last_name="Registered")
        s.commit()
        text = pdf_text(render.organizer_report(service.event_figures(s, event)), tmp_path)
    for sentence in ("Nobody checked in at this event", "No check-ins, so no arrival curve",
                     "No matches were suggested and no badges were scanned", "No networking rounds were run",
                     "Nobody came, so nobody connected", "No sponsor scanned leads at this event"):
        assert sentence in text, sentence


def test_an_attendee_summary_shows_contacts_exactly_as_consented(app, past_event, tmp_path):
    with app.app_context():
        from kiosk.models import Attendee
        s = db.session
        ana = s.get(Attendee, past_event["ana"])
        summary = service.attendee_summary(s, ana)
        assert [m["name"] for m in summary.met] == ["Ben Okafor"]
        assert summary.met[0]["shared"] == {"phone": "+44 20 7946 0000", "company": "Fjord Design"}
        assert [p["first_name"] for p in summary.scanned_me] == ["ليلى"]
        assert [m["name"] for m in summary.not_met] == ["李 小龙"]
        assert "Angel investment in hardware" in summary.not_met[0]["line"]
        assert summary.gave == [{"name": "Ben", "offer": "Pitch deck reviews", "need": "Feedback on our seed round"}]
        text = pdf_text(render.attendee_pdf(summary), tmp_path, "ana")
        ben = service.attendee_summary(s, s.get(Attendee, past_event["ben"]))
        ben_text = pdf_text(render.attendee_pdf(ben), tmp_path, "ben")
    assert "+44 20 7946 0000" in text and "ben@example.org" not in text  # Ben shares his phone, not his email
    assert "Send him the <b>deck</b>" in text and "follow up" in text
    before, after = text.split("Also scanned")
    assert EVIL not in before and EVIL in after  # Layla scanned Ana: her first name and company, printed literally
    assert "ana@example.org" in ben_text and "+34 600" not in ben_text  # Ana shares her email only
    assert "Send him the" not in ben_text  # Ana's note is hers


def test_an_erased_attendee_appears_in_nobodys_summary(app, past_event, tmp_path):
    with app.app_context():
        from kiosk.models import Attendee, Event
        s = db.session
        li = s.get(Attendee, past_event["li"])
        assert service.attendee_summary(s, li).scanned_me == []  # the erased person scanned him
        everyone = list(service.summaries(s, s.get(Event, past_event["event"])))
        assert sorted(x.me.id for x in everyone) == sorted(past_event[k] for k in ("ana", "ben", "li", "layla"))
        assert all("Forgotten" not in pdf_text(render.attendee_pdf(x), tmp_path, str(x.me.id)) for x in everyone)


def test_the_report_command_writes_both_reports(app, past_event, tmp_path):
    runner = app.test_cli_runner()
    out, folder = tmp_path / "report.pdf", tmp_path / "summaries"
    result = runner.invoke(args=["report", "--event", "nfd", "--out", str(out), "--attendees", str(folder)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and "5 of 7 came" in result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"nfd-summary-{past_event[k]}.pdf" for k in ("ana", "ben", "li", "layla"))
    assert runner.invoke(args=["report", "--event", "nfd"]).exit_code != 0
    missing = runner.invoke(args=["report", "--event", "nope", "--out", str(out)])
    assert missing.exit_code != 0 and "nope" in missing.output


def test_downloads_for_the_organizer_and_the_attendee_only(app, past_event, auth, client):
    assert client.get("/admin/events/nfd/report.pdf").status_code in (302, 401)
    auth.login()
    answer = client.get("/admin/events/nfd/report.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert client.get(f"/admin/events/nfd/attendees/{past_event['ana']}/summary.pdf").status_code == 200
    assert client.get(f"/admin/events/nfd/attendees/{past_event['gone']}/summary.pdf").status_code == 404
    phone = app.test_client()
    assert phone.get("/me/summary.pdf").status_code == 302
    phone.get(f"/m/{past_event['ana_token']}")
    mine = phone.get("/me/summary.pdf")
    assert mine.status_code == 200 and PdfReader(io.BytesIO(mine.data)).pages


@pytest.mark.slow
def test_a_5000_attendee_event_renders_with_an_appendix_row_each(app, tmp_path):
    from kiosk.demo import add_demo_networking, create_demo_event
    with app.app_context():
        s = db.session
        event = create_demo_event(s, attendees=5000, checked_in_share=0.7)
        add_demo_networking(s, event, matches_per_person=2)
        s.commit()
        f = service.event_figures(s, event)
        pdf = render.organizer_report(f)
        text = pdf_text(pdf, tmp_path)
        badges = {int(n) for n in re.findall(r"^\s*(\d{1,4}) \S", text.split("Appendix: attendees")[1], flags=re.M)}
        assert len(badges) == 5000  # every attendee has a row
        assert f.registered == 5000 and f.suggested > 0 and f.contact_pairs > 0
        assert len(PdfReader(io.BytesIO(pdf)).pages) > 50


def test_the_demo_with_networking_has_something_in_every_section(app, tmp_path):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["demo", "--attendees", "120", "--networking"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "demo.pdf"
    assert runner.invoke(args=["report", "--event", "demo", "--out", str(out)]).exit_code == 0
    text = pdf_text(out.read_bytes(), tmp_path, "demo")
    for absent in ("No check-ins", "No matches were suggested", "No networking rounds", "No sponsor scanned",
                   "Nobody filled in"):
        assert absent not in text, absent
    assert "Acme Cloud" in text and "(erased)" in text
