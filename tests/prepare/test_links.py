"""Pre-event links: cards and consents filled at home, checked at the kiosk on the confirm screen."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Attendee, CardKind, Event, utcnow
from kiosk.tokens import hash_token
from tests.checkin.conftest import pair_kiosk
from tests.conftest import csrf_from
from tests.factories import card_form, choose_at_kiosk, make_attendee, make_event


def _event_with_dara(app, **event_fields):
    with app.app_context():
        s = db.session
        event = make_event(s, slug="prep-conf", tags=["Funding", "Design", "Software"],
                           starts_at=utcnow() + timedelta(days=3), ends_at=utcnow() + timedelta(days=4),
                           **event_fields)
        dara = make_attendee(s, event, first_name="Dara", last_name="Ó Briain", email="dara@example.org",
                             ticket_ref="T-7")
        s.commit()
        return event.id, dara.id


def _link(app, attendee_id: int) -> str:
    from kiosk.prepare.service import link_url
    with app.test_request_context(), app.app_context():
        attendee = db.session.get(Attendee, attendee_id)
        url = link_url(attendee)
        db.session.commit()
        return url


def test_the_link_opens_a_page_to_fill_both_cards_and_consents_unticked(app, client):
    event_id, dara_id = _event_with_dara(app)
    url = _link(app, dara_id)
    token = url.rsplit("/p/", 1)[1]
    assert url.startswith("https://give.example.org/p/") and len(token) == 26
    assert _link(app, dara_id) == url  # the same link each time admin copies or exports it
    with app.app_context():
        dara = db.session.get(Attendee, dara_id)
        # Only the hash of the token is stored (and the nonce it is derived from with the app's secret key).
        assert dara.prepare_token_hash == hash_token(token) and token not in str(vars(dara))
    opened = client.get(f"/p/{token}")
    assert opened.status_code == 302 and opened.headers["Location"] == "/p/"  # the token leaves the address bar
    page = client.get("/p/").get_data(as_text=True)
    assert "Hi Dara!" in page and 'name="offer-0-text"' in page and 'name="need-0-text"' in page
    assert 'name="offer-0-tags" value="Funding"' in page and 'name="idem"' in page
    assert not re.search(r'name="consent_\w+" value="[^"]+" checked', page)  # nothing pre-ticked
    saved = client.post("/p/", data={**card_form("offer", [("Intros to seed investors", ["Funding"])]),
                                     **card_form("need", ["A front-end developer"]), "consent_share": ["email"],
                                     "idem": "k1", "csrf_token": csrf_from(page)})
    assert saved.status_code == 302
    again = client.get("/p/").get_data(as_text=True)
    assert "Intros to seed investors" in again and 'value="email" checked' in again
    with app.app_context():
        dara = db.session.get(Attendee, dara_id)
        assert [(c.text, c.tags) for c in dara.cards_of(CardKind.offer)] == [("Intros to seed investors", ["Funding"])]
        assert dara.consent_share == ["email"] and dara.consent_chosen_at is not None and dara.checked_in_at is None


def test_what_was_filled_at_home_is_what_the_kiosk_shows_to_check(app, client, auth):
    event_id, dara_id = _event_with_dara(app)
    token = _link(app, dara_id).rsplit("/p/", 1)[1]
    phone = app.test_client()
    phone.get(f"/p/{token}")
    page = phone.get("/p/").get_data(as_text=True)
    phone.post("/p/", data={**card_form("offer", ["Irish-language localisation"]), **card_form("need", ["Beta testers"]),
                            "consent_screen": "1", "csrf_token": csrf_from(page)})
    kiosk = app.test_client()
    pair_kiosk(app, kiosk, event_id)
    csrf = csrf_from(kiosk.get("/kiosk/").get_data(as_text=True))
    assert choose_at_kiosk(kiosk, "Dara", csrf).headers["Location"].endswith("/kiosk/confirm")
    confirm = kiosk.get("/kiosk/confirm").get_data(as_text=True)
    assert "Irish-language localisation" in confirm and "Beta testers" in confirm
    assert 'name="consent_screen" value="1" checked' in confirm  # her own choice, made at home


def test_the_link_expires_after_the_event_and_is_revoked_on_erasure_or_replacement(app, client):
    from kiosk.attendees.service import erase_attendee
    from kiosk.prepare.service import issue_link
    event_id, dara_id = _event_with_dara(app)
    token = _link(app, dara_id).rsplit("/p/", 1)[1]
    client.get(f"/p/{token}")
    with app.app_context():
        event = db.session.get(Event, event_id)
        event.starts_at, event.ends_at = utcnow() - timedelta(days=2), utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get(f"/p/{token}").status_code == 410
    assert client.get("/p/").status_code == 401  # a page opened before the end closes too
    with app.app_context():
        event = db.session.get(Event, event_id)
        event.ends_at = utcnow() + timedelta(days=1)
        dara = db.session.get(Attendee, dara_id)
        new = issue_link(dara, new=True)
        db.session.commit()
    assert client.get(f"/p/{token}").status_code == 404  # replaced
    assert client.get(f"/p/{new}").status_code == 302
    with app.app_context():
        erase_attendee(db.session, db.session.get(Attendee, dara_id))
        db.session.commit()
        assert db.session.get(Attendee, dara_id).prepare_token_hash is None
    assert client.get(f"/p/{new}").status_code == 404
    assert client.get("/p/").status_code == 401


def test_link_guesses_are_rate_limited(app, client):
    _event_with_dara(app)
    codes = [client.get(f"/p/{'A' * 25}{c}").status_code for c in "BCDEFGHJKMNPQRSTUVWXYZ23456789AB"]
    assert codes[:30] == [404] * 30 and codes[-1] == 429


def test_admin_copies_each_link_and_exports_them_all_as_csv(app, client, auth):
    event_id, dara_id = _event_with_dara(app)
    with app.app_context():
        event = db.session.get(Event, event_id)
        make_attendee(db.session, event, first_name="=HYPERLINK(\"x\")", last_name="Evil", ticket_ref="T-8")
        db.session.commit()
    auth.login()
    page = client.get(f"/admin/events/prep-conf/attendees/{dara_id}").get_data(as_text=True)
    shown = re.search(r'id="prepare-link" value="([^"]+)"', page).group(1)
    assert shown == _link(app, dara_id)
    export = client.get("/admin/events/prep-conf/prepare-links.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert {r["ticket_ref"]: r["prepare_link"] for r in rows}["T-7"] == shown
    assert all(r["prepare_link"].startswith("https://give.example.org/p/") for r in rows) and len(rows) == 2
    assert next(r for r in rows if r["ticket_ref"] == "T-8")["first_name"].startswith("'=")  # no formula
    # Every exported link opens its own person's page.
    for row in rows:
        visitor = app.test_client()
        assert visitor.get(row["prepare_link"].replace("https://give.example.org", "")).status_code == 302
        assert row["first_name"].lstrip("'") in visitor.get("/p/").get_data(as_text=True).replace("&#34;", '"')
    # A new link replaces the old.
    auth.post(f"/admin/events/prep-conf/attendees/{dara_id}/prepare-link")
    assert client.get(shown.replace("https://give.example.org", "")).status_code == 404
