"""Live matches: the floor below which nobody is suggested (the phone hears "next round"), and starters addressed
to each reader with the organizer's tag casing, through a real server, matcher and Socket.IO clients."""
from __future__ import annotations

import requests
from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Match
from tests.factories import make_attendee, make_event
from tests.realtime.conftest import check_in, drain

MATCH_TIMEOUT = 60  # the first check-in loads the encoder


def _engine(app, event_id: int):
    return app.extensions["givetake.matcher"].loop.engines[event_id]


def test_a_weak_match_stays_off_the_phones_which_hear_they_will_be_paired_next_round(rt_server, feeds):
    app = rt_server.app
    with app.app_context():
        s = db.session
        event = make_event(s, slug="floor-conf", tags=["Security", "Data"])
        tester = make_attendee(s, event, first_name="Pia", offers=[{"text": "Penetration testing of web applications",
                                                                    "tags": ["Security"]}])
        seeker = make_attendee(s, event, first_name="Sam", needs=[{"text": "A data scientist for our web analytics",
                                                                   "tags": ["Data"]}])
        s.commit()
        event_id, slug, pia, sam = event.id, event.slug, tester.id, seeker.id
    check_in(app, event_id, pia)
    drain(app, MATCH_TIMEOUT)
    sam_token = check_in(app, event_id, sam)
    phone = feeds()
    phone.join("attendee", slug, token=sam_token)
    drain(app, MATCH_TIMEOUT)
    _, told = phone.wait_for(lambda t, p: t == "unmatched", timeout=10)
    assert told["attendee_id"] == sam and told["next_round"] is True
    assert [t for t, _ in phone.raw if t == "match"] == []
    # It was a match, a weak one: without the floor it would have reached both phones (and the screen).
    engine = _engine(app, event_id)
    weak = engine.explain(pia, sam)
    assert 0 < weak.score <= engine.live_floor
    with app.app_context():
        assert db.session.scalars(select(Match).where(Match.event_id == event_id)).all() == []
    # The phone page, opened after the message, says so too (in the phone's language).
    http = requests.Session()
    assert http.get(f"{rt_server.url}/m/{sam_token}", allow_redirects=False).status_code == 302
    page = http.get(f"{rt_server.url}/me").text
    assert 'id="waiting" role="status" >' in page or 'id="waiting" role="status">' in page
    assert "You will be paired in the next round" in page
    german = http.get(f"{rt_server.url}/me", headers={"Accept-Language": "de"}).text
    assert "In der nächsten Runde bekommst du jemanden zugeteilt" in german


def test_a_match_above_the_floor_still_goes_out(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    check_in(app, ev["event_id"], ev["dev"])  # hires engineers, needs Python code review
    drain(app, MATCH_TIMEOUT)
    chloe = feeds()
    chloe.join("attendee", ev["slug"], token=check_in(app, ev["event_id"], ev["chloe"]))
    _, mine = chloe.wait_for(lambda t, p: t == "match", timeout=MATCH_TIMEOUT)
    assert mine["score"] > _engine(app, ev["event_id"]).live_floor
    drain(app)
    assert [t for t, _ in chloe.raw if t == "unmatched"] == []


def test_each_phone_gets_its_own_starter_naming_the_other_in_organizer_casing(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    ben_token = check_in(app, ev["event_id"], ev["ben"])
    drain(app, MATCH_TIMEOUT)
    ben = feeds()
    ben.join("attendee", ev["slug"], token=ben_token)
    screen = feeds()
    screen.join("screen", ev["slug"], token=ev["screen_token"])
    ana = feeds()
    ana.join("attendee", ev["slug"], token=check_in(app, ev["event_id"], ev["ana"]))
    _, for_ana = ana.wait_for(lambda t, p: t == "match", timeout=MATCH_TIMEOUT)
    _, for_ben = ben.wait_for(lambda t, p: t == "match", timeout=10)
    # Ana gives Funding (term sheets) to Ben, Ben gives Design (landing page) to Ana: the event's own labels.
    assert for_ana["starter"] == "Ask Ben about Design; they want to hear about Funding"
    assert for_ben["starter"] == "Ask Ana about Funding; they want to hear about Design"
    assert for_ana["opener"] == {"name": "Ben", "ask": "Design", "tell": "Funding"}
    assert {tag for r in for_ana["reasons"] for tag in r["tags"]} == {"Design", "Funding"}
    _, shown = screen.wait_for(lambda t, p: t == "match", timeout=10)
    assert {g["topic"] for g in shown["gives"]} == {"Design", "Funding"}
    with app.app_context():
        [row] = db.session.scalars(select(Match).where(Match.event_id == ev["event_id"])).all()
        assert "Ana" in row.starter and "Ben" in row.starter and not row.starter.startswith("Ask")  # third person
    # The phone page words the same line in the phone's language.
    http = requests.Session()
    assert http.get(f"{rt_server.url}/m/{ben_token}", allow_redirects=False).status_code == 302
    assert "Ask Ana about Funding; they want to hear about Design" in http.get(f"{rt_server.url}/me").text
    german = http.get(f"{rt_server.url}/me", headers={"Accept-Language": "de"}).text
    assert "Frag Ana nach Funding; Ana möchte von dir etwas über Design hören" in german
