"""Every service that changes matching data tells the matcher: erasure, an organizer's card edit, a CSV re-import.

The app's own in-process matcher runs (as on the laptop); the changes go through the real pages and services.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from kiosk.attendees.csv_import import import_attendees
from kiosk.db import db
from kiosk.models import Event, Match
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from
from tests.factories import card_form
from tests.realtime.conftest import check_in, drain


def _organizer(app):
    client = app.test_client()
    client.post("/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                "csrf_token": csrf_from(client.get("/login").get_data(as_text=True))})
    return client, csrf_from(client.get("/admin/").get_data(as_text=True))


def _engine(app, event_id: int):
    return app.extensions["givetake.matcher"].loop.engines[event_id]


def test_an_erased_person_is_in_no_later_match(rt_server, rt_event):
    app, event_id = rt_server.app, rt_event["event_id"]
    check_in(app, event_id, rt_event["ben"])  # Ben offers design and needs funding: Ana's complement
    drain(app)
    assert rt_event["ben"] in _engine(app, event_id)
    client, csrf = _organizer(app)
    erased = client.post(f"/admin/events/{rt_event['slug']}/attendees/{rt_event['ben']}/erase",
                         data={"confirm": "ERASE", "csrf_token": csrf})
    assert erased.status_code == 302
    drain(app)
    assert rt_event["ben"] not in _engine(app, event_id)
    for key in ("ana", "eve", "dev", "chloe"):  # Ana needs exactly what Ben offered
        check_in(app, event_id, rt_event[key])
    drain(app)
    with app.app_context():
        with_ben = db.session.scalars(select(Match).where(Match.event_id == event_id, or_(
            Match.a_id == rt_event["ben"], Match.b_id == rt_event["ben"]))).all()
        others = db.session.scalars(select(Match).where(Match.event_id == event_id)).all()
    assert with_ben == [] and others  # the others were matched, never with the erased person


def test_an_organizers_card_edit_is_matched_again(rt_server, rt_event):
    app, event_id = rt_server.app, rt_event["event_id"]
    for key in ("ana", "chloe"):
        check_in(app, event_id, rt_event[key])
    drain(app)
    before = _engine(app, event_id).explain(rt_event["ana"], rt_event["chloe"])
    assert not any("Landing page" in r.offer for r in before.reasons)
    client, csrf = _organizer(app)
    saved = client.post(f"/admin/events/{rt_event['slug']}/attendees/{rt_event['chloe']}", data={
        "first_name": "Chloé", "last_name": "Lefèvre", "email": "chloe@example.org", "csrf_token": csrf,
        **card_form("offer", [("Landing page and brand design", ["Design"])]),
        **card_form("need", [("Someone to help hire our first engineer", ["Hiring"])])})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    drain(app)
    after = _engine(app, event_id).explain(rt_event["ana"], rt_event["chloe"])
    assert any(r.offer == "Landing page and brand design" for r in after.reasons), after
    assert after.score > before.score  # Chloé now offers what Ana looks for


def test_a_csv_reimport_that_changes_cards_is_matched_again(rt_server, rt_event):
    app, event_id = rt_server.app, rt_event["event_id"]
    for key in ("ana", "chloe"):
        check_in(app, event_id, rt_event[key])
    drain(app)
    csv = ("first_name,last_name,email,offer\n"
           "Chloé,Lefèvre,chloe@example.org,Landing page design for startups\n").encode()
    with app.app_context():
        import_attendees(db.session, db.session.get(Event, event_id), csv)
        db.session.commit()
    drain(app)
    after = _engine(app, event_id).explain(rt_event["ana"], rt_event["chloe"])
    assert any(r.offer == "Landing page design for startups" for r in after.reasons)
