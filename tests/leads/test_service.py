"""The lead rules: one lead per sponsor and attendee, the right error for each bad scan, consent read at view time."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kiosk.attendees.service import erase_attendee, rotate_badge_token, update_attendee
from kiosk.db import db
from kiosk.devices.service import create_device, device_from_token
from kiosk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kiosk.leads.service import (capture_lead, delete_sponsor, get_sponsor, lead_view, leads_of,
                                 sponsors_who_scanned, update_lead)
from kiosk.models import Attendee, Device, DeviceKind, Lead, Sponsor
from tests.factories import make_attendee, make_event
from tests.leads.conftest import event_of, make_booth


def _scanner(booth, name="acme"):
    """The paired scanner device of Acme or Globex."""
    return device_from_token(db.session, booth[f"{name}_token"])


def test_a_lead_is_made_once_per_sponsor_and_attendee(any_app):
    booth = make_booth(any_app)
    with any_app.app_context():
        s = db.session
        acme, globex = _scanner(booth), _scanner(booth, "globex")
        first = capture_lead(s, acme, booth["codes"]["Ana"])
        again = capture_lead(s, acme, booth["urls"]["Ana"])  # the QR's URL: the same person, the same lead
        theirs = capture_lead(s, globex, booth["codes"]["Ana"])
        s.commit()
        assert first.created and not again.created and theirs.created
        assert again.lead.id == first.lead.id != theirs.lead.id
        assert s.scalar(select(func.count(Lead.id))) == 2


def test_a_resent_nonce_gets_the_first_answer_and_a_new_scan_is_a_repeat(app, booth):
    with app.app_context():
        s = db.session
        acme = _scanner(booth)
        first = capture_lead(s, acme, booth["codes"]["Ben"], nonce="queue-1")
        resent = capture_lead(s, acme, booth["codes"]["Ben"], nonce="queue-1")
        later = capture_lead(s, acme, booth["codes"]["Ben"], nonce="queue-2")
        assert first.created and resent.created and not later.created
        assert first.lead.id == resent.lead.id == later.lead.id
        with pytest.raises(ValidationFailed) as bad:
            capture_lead(s, acme, booth["codes"]["Ana"], nonce="x" * 65)
        assert bad.value.code == "bad_nonce"


@pytest.mark.parametrize("code, error, status", [
    ("hello world", "bad_badge_code", 422),  # garbled: not a badge code at all
    ("#42 K7M-Q2I", "bad_badge_code", 422),  # a look-alike letter that no badge prints
    ("", "bad_badge_code", 422),
    ("#9999 ABC-DEF", "unknown_badge", 404),
    ("https://give.example.org/b/" + "A" * 12, "bad_badge_code", 422),
])
def test_bad_codes_say_what_is_wrong(app, booth, code, error, status):
    with app.app_context():
        with pytest.raises((ValidationFailed, NotFound)) as failed:
            capture_lead(db.session, _scanner(booth), code)
    assert (failed.value.code, failed.value.status) == (error, status)


def test_a_replaced_badge_and_a_badge_of_another_event(app, booth):
    with app.app_context():
        s = db.session
        ana = s.get(Attendee, booth["Ana"])
        old = booth["urls"]["Ana"]
        rotate_badge_token(s, ana)
        with pytest.raises(Conflict) as replaced:
            capture_lead(s, _scanner(booth), old)
        assert replaced.value.code == "badge_replaced" and replaced.value.status == 409
        other = make_event(s, slug="elsewhere")
        stranger = make_attendee(s, other, first_name="Zed")
        with pytest.raises(NotFound) as unknown:
            capture_lead(s, _scanner(booth), f"https://give.example.org/b/{stranger.badge_token}")
        assert unknown.value.code == "unknown_badge"


def test_only_a_sponsors_scanner_captures(app, booth):
    with app.app_context():
        s = db.session
        event = event_of(booth)
        kiosk = create_device(s, event, DeviceKind.kiosk, "Entrance")
        loose = create_device(s, event, DeviceKind.scanner, "Nobody's scanner")
        for device, code in ((kiosk, "wrong_device"), (loose, "no_sponsor"), (None, "not_paired")):
            with pytest.raises(Forbidden) as refused:
                capture_lead(s, device, booth["codes"]["Ana"])
            assert refused.value.code == code
        # A scanner whose sponsor belongs to another event (an id pasted across events) is refused too.
        other = make_event(s, slug="other-expo")
        foreign = create_device(s, other, DeviceKind.scanner, "Foreign")
        foreign.sponsor_id = booth["acme"]
        with pytest.raises(Forbidden):
            capture_lead(s, foreign, booth["codes"]["Ana"])


def test_a_lead_shows_exactly_what_the_person_shares_now(app, booth):
    with app.app_context():
        s = db.session
        lead = capture_lead(s, _scanner(booth), booth["codes"]["Ana"]).lead
        ana = s.get(Attendee, booth["Ana"])
        view = lead_view(lead, ana)
        assert view["attendee"] == {"first_name": "Ana", "last_name": "García", "badge": ana.id}
        assert view["shared"] == {"email": "ana@example.org", "company": "Brightloop"}
        assert "+34" not in repr(view) and "CTO" not in repr(view) and "ana.example.org" not in repr(view)
        update_attendee(s, ana, consent_share=["phone"])
        assert lead_view(lead, ana)["shared"] == {"phone": "+34 600 000 000"}
        update_attendee(s, ana, consent_share=[])
        assert lead_view(lead, ana)["shared"] == {}


def test_an_erased_attendee_disappears_with_their_leads(any_app):
    booth = make_booth(any_app)
    with any_app.app_context():
        s = db.session
        acme = get_sponsor(s, event_of(booth), booth["acme"])
        for name in ("Ana", "Ben"):
            lead = capture_lead(s, _scanner(booth), booth["codes"][name]).lead
        update_lead(s, acme, lead.id, note="Wants a demo of the Ben-specific plan")
        capture_lead(s, _scanner(booth, "globex"), booth["codes"]["Ben"])
        s.commit()
        erase_attendee(s, s.get(Attendee, booth["Ben"]))
        s.commit()
        assert [p.first_name for _, p in leads_of(s, acme)] == ["Ana"]
        assert s.scalar(select(func.count(Lead.id)).where(Lead.attendee_id == booth["Ben"])) == 0
        assert sponsors_who_scanned(s, s.get(Attendee, booth["Ben"])) == []


def test_rating_note_and_answers_are_validated(app, booth):
    with app.app_context():
        s = db.session
        acme = get_sponsor(s, event_of(booth), booth["acme"])
        lead = capture_lead(s, _scanner(booth), booth["codes"]["Ana"]).lead
        update_lead(s, acme, lead.id, rating="hot", note="  Met at\r\nthe booth ", answers={"Timeline?": "Q3"})
        assert (lead.rating.value, lead.note, lead.answers) == ("hot", "Met at\nthe booth", {"Timeline?": "Q3"})
        update_lead(s, acme, lead.id, answers={"Budget this year?": "50k", "Timeline?": ""})
        assert lead.answers == {"Budget this year?": "50k"}  # an empty answer clears; others are kept
        update_lead(s, acme, lead.id, rating=None)
        assert lead.rating is None and lead.note == "Met at\nthe booth"
        for kwargs, field in [({"rating": "lukewarm"}, "rating"), ({"answers": {"Favourite colour?": "x"}}, "answers"),
                              ({"answers": {"Timeline?": 3}}, "answers"), ({"answers": ["Q3"]}, "answers"),
                              ({"note": "x" * 2001}, "note"), ({"answers": {"Timeline?": "y" * 501}}, "answer")]:
            with pytest.raises(ValidationFailed) as bad:
                update_lead(s, acme, lead.id, **kwargs)
            assert bad.value.status == 422 and field in bad.value.details, (kwargs, bad.value.details)
        globex = get_sponsor(s, event_of(booth), booth["globex"])
        with pytest.raises(NotFound):
            update_lead(s, globex, lead.id, rating="cold")  # another sponsor's lead is not there


def test_sponsors_who_scanned_someone(app, booth):
    with app.app_context():
        s = db.session
        capture_lead(s, _scanner(booth, "globex"), booth["codes"]["Ana"])
        capture_lead(s, _scanner(booth), booth["codes"]["Ana"])
        scanned = sponsors_who_scanned(s, s.get(Attendee, booth["Ana"]))
        assert [row["name"] for row in scanned] == ["Globex", "Acme Cloud"]
        assert scanned[0]["scanned_at"] <= scanned[1]["scanned_at"]
        assert sponsors_who_scanned(s, s.get(Attendee, booth["Ben"])) == []


def test_deleting_a_sponsor_unpairs_its_scanners_and_drops_its_leads(app, booth):
    with app.app_context():
        s = db.session
        capture_lead(s, _scanner(booth), booth["codes"]["Ana"])
        acme = s.get(Sponsor, booth["acme"])
        delete_sponsor(s, acme)
        s.commit()
        assert device_from_token(s, booth["acme_token"]) is None
        assert s.scalars(select(Device).where(Device.sponsor_id == booth["acme"])).all() == []
        assert s.scalar(select(func.count(Lead.id))) == 0
        assert device_from_token(s, booth["globex_token"]) is not None
