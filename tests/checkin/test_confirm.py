"""The short kiosk path: someone whose cards are filled (at home, from the ticket shop) checks them on one screen;
a walk-in checks in with a name and consents and types the cards on their own phone."""
from __future__ import annotations

import re

from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Attendee, CardKind, Event, utcnow
from tests.conftest import csrf_from
from tests.factories import card_form, choose_at_kiosk, make_attendee, wait_for_matches


def _csrf(client, url="/kiosk/"):
    return csrf_from(client.get(url).get_data(as_text=True))


def _checked(html: str) -> list[str]:
    """The consent boxes a page shows ticked."""
    return re.findall(r'name="(consent_screen|consent_share)" value="([^"]+)" checked', html)


def test_filled_cards_go_to_one_confirm_screen_and_check_in_with_one_tap(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    r = choose_at_kiosk(kiosk_client, "Ana García", csrf)
    assert r.headers["Location"].endswith("/kiosk/confirm")
    page = kiosk_client.get("/kiosk/confirm").get_data(as_text=True)
    # Name and company as the badge prints them, both cards in short ("I can offer" first), the consents, edit links.
    assert 'class="badge-first" dir="auto">Ana<' in page and "Brightloop" in page
    assert page.index("I review pitch decks") < page.index("A designer for our landing page")
    assert page.index("I can offer") < page.index("looking for")
    for target in ("/kiosk/details", "/kiosk/offer", "/kiosk/need"):
        assert f'href="{target}"' in page
    assert "Check me in" in page and _checked(page) == []
    done = kiosk_client.post("/kiosk/confirm", data={"consent_share": ["email"], "csrf_token": csrf},
                             follow_redirects=True)
    assert "You're in, Ana!" in done.get_data(as_text=True) and "<svg" in done.get_data(as_text=True)
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert ana.checked_in_at is not None and ana.consent_share == ["email"] and not ana.consent_screen
        assert ana.consent_chosen_at is not None
        assert [c.text for c in ana.cards_of(CardKind.offer)] == ["I review pitch decks and term sheets"]


def test_consents_an_organizer_set_are_not_shown_ticked_but_the_attendees_own_are(app, kiosk_client, event_people):
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        ben = db.session.get(Attendee, event_people["ben"])
        # Set in admin, not by Ana: never shown to her as her choice.
        ana.consent_screen, ana.consent_share = True, ["email", "phone"]
        # Chosen by Ben himself (on his pre-event page): shown as chosen.
        ben.consent_screen, ben.consent_share, ben.consent_chosen_at = True, ["company"], utcnow()
        db.session.commit()
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    assert _checked(kiosk_client.get("/kiosk/confirm").get_data(as_text=True)) == []
    assert _checked(kiosk_client.get("/kiosk/consent").get_data(as_text=True)) == []
    kiosk_client.post("/kiosk/reset", data={"csrf_token": csrf})
    choose_at_kiosk(kiosk_client, "Ben Okafor", csrf)
    assert _checked(kiosk_client.get("/kiosk/confirm").get_data(as_text=True)) == [
        ("consent_screen", "1"), ("consent_share", "company")]


def test_an_edit_from_the_confirm_screen_returns_to_it(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    r = kiosk_client.post("/kiosk/offer", data={**card_form("offer", ["Intros to angel investors"]), "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")
    assert "Intros to angel investors" in kiosk_client.get("/kiosk/confirm").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Attendee, event_people["ana"]).checked_in_at is None  # only the button checks in


def test_someone_with_one_card_empty_takes_the_steps(app, kiosk_client, event_people):
    with app.app_context():
        event = db.session.get(Event, event_people["event_id"])
        make_attendee(db.session, event, first_name="Dara", last_name="Quinn", offers=["Rust mentoring"])
        db.session.commit()
    csrf = _csrf(kiosk_client)
    assert choose_at_kiosk(kiosk_client, "Dara", csrf).headers["Location"].endswith("/kiosk/details")


def test_a_confirm_sent_twice_checks_in_once(app, kiosk_client, event_people):
    csrf = _csrf(kiosk_client)
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    page = kiosk_client.get("/kiosk/confirm").get_data(as_text=True)
    key = re.search(r'name="idem" value="([^"]+)"', page).group(1)
    first = kiosk_client.post("/kiosk/confirm", data={"idem": key, "csrf_token": csrf})
    again = kiosk_client.post("/kiosk/confirm", data={"idem": key, "csrf_token": csrf})
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] and again.headers["Location"].endswith("/kiosk/done")
    with app.app_context():
        from kiosk.models import PrintJob
        assert len(db.session.scalars(select(PrintJob).where(PrintJob.attendee_id == event_people["ana"])).all()) == 1



def test_a_walk_in_checks_in_quickly_and_types_the_cards_on_their_phone(app, kiosk_client, event_people):
    with app.app_context():
        from kiosk.checkin.service import check_in
        s = db.session
        check_in(s, s.get(Event, event_people["event_id"]), s.get(Attendee, event_people["ben"]))  # someone to meet
        s.commit()
    csrf = _csrf(kiosk_client)
    page = kiosk_client.get("/kiosk/walk-in").get_data(as_text=True)
    assert "Type my cards on my phone" in page
    r = kiosk_client.post("/kiosk/walk-in", data={"first_name": "Żaneta", "last_name": "Kowalczyk", "then": "phone",
                                                  "csrf_token": csrf})
    assert r.headers["Location"].endswith("/kiosk/confirm")
    confirm = kiosk_client.get("/kiosk/confirm").get_data(as_text=True)
    assert "Żaneta" in confirm and "You type this on your phone after check-in." in confirm
    done = kiosk_client.post("/kiosk/confirm", data={"consent_screen": "1", "csrf_token": csrf},
                             follow_redirects=True).get_data(as_text=True)
    assert "write your two cards there" in done
    with app.app_context():
        zaneta = db.session.scalar(select(Attendee).where(Attendee.first_name == "Żaneta"))
        assert zaneta.checked_in_at is not None and zaneta.consent_screen and zaneta.cards == []
        assert zaneta.source == "walkin"
        zaneta_id = zaneta.id
    # The phone: the QR's link (the token is only in the session the done page read it from).
    with kiosk_client.session_transaction() as state:
        token = state["kiosk_done"]["token"]
    phone = app.test_client()
    assert phone.get(f"/m/{token}").status_code == 302
    home = phone.get("/me").get_data(as_text=True)
    assert 'id="cards-prompt"' in home and "Write your cards" in home
    # The event's topics are chips on the phone as at the kiosk (a walk-in typing here picks them here), none ticked.
    chips = re.findall(r'<input type="checkbox" name="(offer|need)-0-tags" value="([^"]+)"\s*([a-z]*)>', home)
    assert sorted((kind, tag) for kind, tag, _ in chips) == sorted(
        (kind, tag) for kind in ("offer", "need") for tag in ("Funding", "Design", "Software"))
    assert all(ticked == "" for _, _, ticked in chips)
    saved = phone.post("/me/cards", data={**card_form("offer", [("I review pitch decks and term sheets", ["Funding"])]),
                                          **card_form("need", [("A designer for our landing page", ["Design"])]),
                                          "csrf_token": csrf_from(home)})
    assert saved.status_code == 302
    again = phone.get("/me").get_data(as_text=True)
    assert 'id="cards-prompt"' not in again
    assert re.search(r'name="offer-0-tags" value="Funding"\s*checked', again)
    assert re.search(r'name="need-0-tags" value="Design"\s*checked', again)
    assert not re.search(r'name="offer-0-tags" value="Design"\s*checked', again)
    with app.app_context():
        cards = {c.kind.value: (c.text, c.tags) for c in db.session.get(Attendee, zaneta_id).cards}
    assert cards == {"offer": ("I review pitch decks and term sheets", ["Funding"]),
                     "need": ("A designer for our landing page", ["Design"])}
    # Like a kiosk edit: the matcher hears of it and finds Ben (who offers design, looks for term-sheet feedback);
    # with empty cards at check-in there was nobody to match her with.
    matches = wait_for_matches(app, zaneta_id)
    assert [tuple(sorted((m.a_id, m.b_id))) for m in matches] == [tuple(sorted((zaneta_id, event_people["ben"])))]
