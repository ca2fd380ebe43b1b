"""CSV import (generic, Eventbrite, pretix; encodings, delimiters, all-or-nothing) and formula-safe export."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.attendees.csv_export import export_csv, safe_cell
from kiosk.attendees.csv_import import ImportFailed, decode, import_attendees
from kiosk.cards.service import set_cards
from kiosk.db import db
from kiosk.models import Attendee, CardKind
from tests.factories import make_attendee, make_event

DATA = Path(__file__).parent / "data" / "imports"


def _count(session, event) -> int:
    return session.scalar(select(func.count(Attendee.id)).where(Attendee.event_id == event.id))


def _by_ref(session, event) -> dict[str, Attendee]:
    return {a.ticket_ref: a for a in session.scalars(select(Attendee).where(Attendee.event_id == event.id))}


def test_eventbrite_attendee_report_imports_attending_people(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        report = import_attendees(s, event, (DATA / "eventbrite_attendee_report.csv").read_bytes())
        s.commit()
        assert (report.format, report.created, report.skipped) == ("eventbrite", 5, 1)
        people = _by_ref(s, event)
        assert people["5813366201"].full_name == "Ana García López"
        assert people["5813366201"].title == "Head of Product" and people["5813366201"].company == "Brightloop"
        # Two tickets bought with one email are two people, not one.
        assert people["5813366202"].first_name == "José" and people["5813366202"].email == "ana.garcia@example.org"
        assert people["5813380011"].full_name == "陽菜 鈴木"
        assert people["5813380044"].first_name == "محمد"
        assert people["5813390101"].ticket_type == "Speaker" and people["5813390101"].title == "CTO, Platform"
        assert "5813390150" not in people  # "Not Attending" rows are skipped


def test_pretix_order_positions_import_with_cards_and_skips_cancelled(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        report = import_attendees(s, event, (DATA / "pretix_order_positions.csv").read_bytes(), "pretix")
        s.commit()
        assert (report.created, report.skipped) == (3, 1)
        people = _by_ref(s, event)
        lukasz = people["A7KQ3-1"]
        assert (lukasz.first_name, lukasz.last_name, lukasz.email) == ("Łukasz", "Wiśniewski", "lukasz@example.pl")
        assert lukasz.ticket_type == "Conference ticket"
        assert [c.text for c in lukasz.cards_of(CardKind.offer)] == ["Kubernetes in production", "code reviews"]
        assert [c.text for c in lukasz.cards_of(CardKind.need)] == ["A co-founder"]
        assert people["A7KQ3-2"].first_name == "Олег"
        assert people["B2MN8-1"].email == "dana@example.org"  # no attendee email: the order email


def test_reimporting_the_same_file_updates_and_never_duplicates(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        data = (DATA / "eventbrite_attendee_report.csv").read_bytes()
        import_attendees(s, event, data)
        s.commit()
        before = {a.ticket_ref: a.badge_token for a in _by_ref(s, event).values()}
        changed = data.decode().replace("Head of Product", "VP Product").encode()
        report = import_attendees(s, event, changed)
        s.commit()
        assert (report.created, report.updated) == (0, 5)
        assert _count(s, event) == 5
        after = _by_ref(s, event)
        assert after["5813366201"].title == "VP Product"
        assert {ref: a.badge_token for ref, a in after.items()} == before  # same people, same badges


def test_reimport_matches_on_email_when_there_is_no_ticket(app):
    with app.app_context():
        s = db.session
        event = make_event(s)
        existing = make_attendee(s, event, first_name="Juergen", email="juergen@example.de")
        s.commit()
        report = import_attendees(s, event, (DATA / "excel_cp1252_semicolon.csv").read_bytes())
        s.commit()
        assert (report.created, report.updated, report.encoding, report.delimiter) == (2, 1, "cp1252", ";")
        s.refresh(existing)
        assert existing.first_name == "Jürgen" and existing.company == "Müller & Söhne GmbH"
        names = set(s.scalars(select(Attendee.first_name + " " + Attendee.last_name)
                              .where(Attendee.event_id == event.id)))
        assert {"Chloé Lefèvre", "Zoë O’Brien"} <= names


def test_utf8_with_bom_and_full_names(app):
    with app.app_context():
        s = db.session
        event = make_event(s)
        report = import_attendees(s, event, (DATA / "utf8_bom.csv").read_bytes())
        s.commit()
        assert report.encoding == "utf-8-sig" and report.created == 2
        people = {a.email: a for a in s.scalars(select(Attendee).where(Attendee.event_id == event.id))}
        assert (people["xiaoming@example.cn"].first_name, people["xiaoming@example.cn"].last_name) == ("王", "小明")
        assert people["noa@example.org"].full_name == "Noa Levi 🚀"


def test_tab_delimited_generic_file(app):
    with app.app_context():
        s = db.session
        event = make_event(s)
        data = "first_name\tlast_name\temail\nAmara\tOkafor\tamara@example.org\n".encode()
        report = import_attendees(s, event, data)
        s.commit()
        assert report.delimiter == "\t" and report.created == 1


@pytest.mark.parametrize("text, place", [
    ("last_name,email\nOkafor,amara@example.org\n", "column 'first_name'"),
    ("first_name,email\nAmara,not-an-email\nKwame,kwame@example.org\n", "row 2, column 'email'"),
    ("first_name,email\nKwame,kwame@example.org\n,nobody@example.org\n", "row 3, column 'first_name'"),
    ("first_name,ticket_ref\nA,T1\nB,T1\n", "row 3, column 'ticket_ref'"),
    ("first_name,company\nA," + "x" * 300 + "\n", "row 2, column 'company'"),
])
def test_a_bad_file_names_row_and_column_and_imports_nothing(any_app, text, place):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        make_attendee(s, event, first_name="Already", email="already@example.org")
        s.commit()
        with pytest.raises(ImportFailed) as caught:
            import_attendees(s, event, text.encode())
        s.rollback()
        assert place in caught.value.message.lower() or place in caught.value.message
        assert _count(s, event) == 1


def test_wrong_format_is_rejected_with_what_it_looks_like(app):
    with app.app_context():
        s = db.session
        event = make_event(s)
        with pytest.raises(ImportFailed) as caught:
            import_attendees(s, event, (DATA / "pretix_order_positions.csv").read_bytes(), "eventbrite")
        assert "Eventbrite" in caught.value.message and "pretix" in caught.value.message
        with pytest.raises(ImportFailed, match="missing"):
            import_attendees(s, event, b"Order #,Attendee #,First Name\n1,2,Ana\n", "eventbrite")
        with pytest.raises(ImportFailed, match="empty"):
            import_attendees(s, event, b"")


def test_cp1252_is_detected_not_mangled():
    text, encoding = decode("Nom;Prénom\nDubois;Chloé — “café”\n".encode("cp1252"))
    assert encoding == "cp1252" and "Chloé — “café”" in text


@pytest.mark.parametrize("value, expected", [
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("+1 555 0100", "'+1 555 0100"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("Ana", "Ana"), ("", ""), (None, ""),
])
def test_safe_cell_defuses_formulas(value, expected):
    assert safe_cell(value) == expected


def test_export_is_formula_safe_and_round_trips_unicode(any_app):
    with any_app.app_context():
        s = db.session
        event = make_event(s)
        evil = make_attendee(s, event, first_name="=cmd|' /C calc'!A0", last_name="@evil", company="+Corp",
                             email="evil@example.org")
        set_cards(s, evil, CardKind.offer, ["-1 weird offer", "Grant writing"])
        make_attendee(s, event, first_name="محمد", last_name="العلي", company="王 & Co")
        s.commit()
        payload = export_csv(s, event)
    assert payload.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(payload.decode("utf-8-sig"))))
    by_email = {r["email"]: r for r in rows}
    bad = by_email["evil@example.org"]
    assert bad["first_name"] == "'=cmd|' /C calc'!A0" and bad["last_name"] == "'@evil" and bad["company"] == "'+Corp"
    assert bad["offers"] == "'-1 weird offer | Grant writing"
    assert any(r["first_name"] == "محمد" and r["company"] == "王 & Co" for r in rows)
    for row in rows:
        for cell in row.values():
            assert not (cell or "").startswith(("=", "+", "-", "@")), cell


def test_cli_import_and_export(app, runner, tmp_path):
    with app.app_context():
        make_event(db.session, slug="cli-conf")
        db.session.commit()
    result = runner.invoke(args=["import", str(DATA / "generic_attendees.csv"), "--event", "cli-conf"])
    assert result.exit_code == 0, result.output
    assert "3 added" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("first_name,email\nA,broken\n")
    result = runner.invoke(args=["import", str(bad), "--event", "cli-conf"])
    assert result.exit_code == 1 and "row 2" in result.output
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["export", "--event", "cli-conf", "--out", str(out)])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert {r["first_name"] for r in rows} == {"Priya", "Kwame", "Søren"}
    assert next(r for r in rows if r["first_name"] == "Priya")["offers"] == "Survey design | statistics for small studies"
