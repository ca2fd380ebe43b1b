"""Rounds through the running app: who may meet whom (groups and their rule, declines), and the phone of someone
a round leaves out hears why."""
from __future__ import annotations

from itertools import combinations

import requests
from sqlalchemy import select

from kiosk.db import db
from kiosk.events.service import update_event
from kiosk.models import Attendee, Event, Match, MatchStatus, Round
from kiosk.attendees.service import set_group
from kiosk.rounds.service import request_round
from tests.conftest import csrf_from
from tests.realtime.conftest import check_in, drain

MATCH_TIMEOUT = 60  # the first match loads the encoder


def _phone(server, token: str) -> requests.Session:
    http = requests.Session()
    assert http.get(f"{server.url}/m/{token}", allow_redirects=False).status_code == 302
    return http


def _round(app, event_id: int) -> Round:
    with app.app_context():
        s = db.session
        before = s.scalar(select(Round.number).where(Round.event_id == event_id).order_by(Round.number.desc()))
        request_round(s, s.get(Event, event_id))
        s.commit()
    drain(app)
    with app.app_context():
        row = db.session.scalar(select(Round).where(Round.event_id == event_id).order_by(Round.number.desc()))
        assert row is not None and row.number == (before or 0) + 1
        db.session.expunge(row)
        return row


def _pairs(row: Round) -> set[tuple[int, int]]:
    return {tuple(sorted(p)) for g in row.pairs for p in combinations(g["ids"], 2)}


def test_across_groups_only_and_the_left_out_phone_hears_why(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    mentees = ("ben", "dev", "eve")
    with app.app_context():
        s = db.session
        event = s.get(Event, ev["event_id"])
        update_event(s, event, groups="Mentors\nMentees", group_rule="across")
        event.match_settings = {**event.match_settings, "k": 0}  # rounds alone decide here
        for key in ("ana", *mentees):
            set_group(s, event, s.get(Attendee, ev[key]), "Mentors" if key == "ana" else "mentees")
        s.commit()
    tokens = {k: check_in(app, ev["event_id"], ev[k]) for k in ("ana", "chloe", *mentees)}
    drain(app)
    phones = {k: feeds() for k in mentees}
    for key, phone in phones.items():
        assert phone.join("attendee", ev["slug"], token=tokens[key])["ok"]
    row = _round(app, ev["event_id"])
    # Ana (a mentor) and Chloé (in no group: anyone) each take a mentee; mentees never meet each other.
    assert len(row.pairs) == 2 and all(len(g["ids"]) == 2 for g in row.pairs)
    assert not any(set(p) <= {ev[k] for k in mentees} for p in _pairs(row))
    placed = {i for g in row.pairs for i in g["ids"]}
    left_out = [k for k in mentees if ev[k] not in placed]
    assert len(left_out) == 1
    who = left_out[0]
    _, told = phones[who].wait_for(lambda t, p: t == "round" and p.get("number") == row.number, timeout=10)
    assert told["left_out"] is True and told["why"] == "group_rule" and told["partners"] == []
    for key in mentees:
        if key != who:
            _, mine = phones[key].wait_for(lambda t, p: t == "round", timeout=10)
            assert not mine.get("left_out") and mine["partners"]
    # Reloading the phone page shows the same message (from what the phone was told).
    page = _phone(rt_server, tokens[who]).get(f"{rt_server.url}/me").text
    assert "everyone you may meet is already paired" in page and 'id="round-left-out" role="status" hidden' not in page
    german = _phone(rt_server, tokens[who]).get(f"{rt_server.url}/me", headers={"Accept-Language": "de"}).text
    assert "Diese Runde hast du keinen Partner" in german  # the catalogue has it


def test_a_live_suggestion_may_meet_in_a_round_a_decline_never_even_after_a_restart(rt_server, rt_event):
    app, ev = rt_server.app, rt_event
    tokens = {k: check_in(app, ev["event_id"], ev[k]) for k in ("ana", "ben")}
    drain(app)
    with app.app_context():
        live = db.session.scalar(select(Match).where(Match.event_id == ev["event_id"]))
        assert live is not None and {live.a_id, live.b_id} == {ev["ana"], ev["ben"]}  # suggested live
        live_id = live.id
    first = _round(app, ev["event_id"])
    assert _pairs(first) == {tuple(sorted((ev["ana"], ev["ben"])))}  # suggested, not met: a round pairs them
    with app.app_context():
        assert db.session.get(Match, live_id).round_id == first.id  # remembered as a round pair, in the database
    tokens |= {k: check_in(app, ev["event_id"], ev[k]) for k in ("chloe", "dev")}
    drain(app)
    with app.app_context():
        theirs = db.session.scalar(select(Match).where(
            Match.a_id == min(ev["chloe"], ev["dev"]), Match.b_id == max(ev["chloe"], ev["dev"])))
        assert theirs is not None, "Dev (hiring) and Chloé (needs to hire) should be suggested live"
        match_id = theirs.id
    phone = _phone(rt_server, tokens["chloe"])
    csrf = csrf_from(phone.get(f"{rt_server.url}/me").text)
    answer = phone.post(f"{rt_server.url}/me/matches/{match_id}", data={"action": "decline", "csrf_token": csrf},
                        headers={"Accept": "application/json"})
    assert answer.json()["status"] == MatchStatus.declined.value
    drain(app)
    app.extensions["givetake.matcher"].loop.engines.clear()  # a restart: the engine is rebuilt from the database
    second = _round(app, ev["event_id"])
    pairs = _pairs(second)
    assert tuple(sorted((ev["chloe"], ev["dev"]))) not in pairs  # "no thanks" is final
    assert tuple(sorted((ev["ana"], ev["ben"]))) not in pairs  # no repeat of round 1, even after the rebuild
    assert {i for g in second.pairs for i in g["ids"]} == {ev[k] for k in ("ana", "ben", "chloe", "dev")}
