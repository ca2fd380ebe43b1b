"""Check-in to match to screen and phones; the phone page; rounds; the staff dashboard; the CLI."""
from __future__ import annotations

import re
from itertools import combinations

import requests
from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Attendee, EventLog, Match, MatchSource, MatchStatus, Round
from kiosk.realtime.stats import StatsThrottle
from kiosk.rounds.service import meeting_point
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from
from tests.factories import card_form
from tests.realtime.conftest import check_in, drain

MATCH_TIMEOUT = 60  # the first match loads the encoder; later ones take milliseconds


def _phone(server, token: str) -> requests.Session:
    http = requests.Session()
    assert http.get(f"{server.url}/m/{token}", allow_redirects=False).status_code == 302
    return http


def test_a_check_in_reaches_the_screen_and_both_phones(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    ben_token = check_in(app, ev["event_id"], ev["ben"])
    drain(app)
    screen = feeds()
    screen.join("screen", ev["slug"], token=ev["screen_token"])
    ben = feeds()
    ben.join("attendee", ev["slug"], token=ben_token)
    ana_token = check_in(app, ev["event_id"], ev["ana"])
    ana = feeds()
    ana.join("attendee", ev["slug"], token=ana_token)
    _, shown = screen.wait_for(lambda t, p: t == "match", timeout=MATCH_TIMEOUT)
    assert {shown["a"]["first_name"], shown["b"]["first_name"]} == {"Ana", "Ben"}
    assert shown["gives"] and all(g["topic"] for g in shown["gives"])
    flat = repr(shown)
    assert "García" not in flat and "example.org" not in flat and "Ltd" not in flat  # first names only
    for phone, other in ((ana, "Ben"), (ben, "Ana")):
        _, mine = phone.wait_for(lambda t, p: t == "match", timeout=10)
        assert mine["other"]["first_name"] == other and mine["reasons"] and mine["starter"]
    _, stats = screen.wait_for(lambda t, p: t == "stats" and p["checked_in"] == 2, timeout=10)
    assert stats["matches"] >= 1


def test_without_consent_the_screen_shows_nothing_but_the_phone_still_hears(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    check_in(app, ev["event_id"], ev["dev"])  # Dev offers hiring help, Chloé (no screen consent) needs it
    drain(app)
    screen = feeds()
    screen.join("screen", ev["slug"], token=ev["screen_token"])
    chloe = feeds()
    chloe.join("attendee", ev["slug"], token=check_in(app, ev["event_id"], ev["chloe"]))
    _, mine = chloe.wait_for(lambda t, p: t == "match", timeout=MATCH_TIMEOUT)
    assert mine["other"]["first_name"] == "Dev"
    drain(app)
    assert screen.wait_for(lambda t, p: t == "stats" and p["checked_in"] == 2, timeout=10)
    assert [t for t, _ in screen.raw if t == "match"] == []


def test_the_personal_link_opens_a_session_and_leaves_the_url(rt_server, rt_event):
    token = check_in(rt_server.app, rt_event["event_id"], rt_event["ana"])
    http = requests.Session()
    opened = http.get(f"{rt_server.url}/m/{token}", allow_redirects=False)
    assert opened.status_code == 302 and opened.headers["Location"] == "/me" and token not in opened.headers["Location"]
    page = http.get(f"{rt_server.url}/me")
    assert page.status_code == 200 and "Hi Ana!" in page.text and token not in page.text
    assert requests.get(f"{rt_server.url}/m/{'Z' * 26}").status_code == 404
    assert requests.get(f"{rt_server.url}/m/short").status_code == 404
    assert requests.get(f"{rt_server.url}/me").status_code == 401  # no session: how to get one
    # A new code at the kiosk replaces the old one: the old link stops working.
    check_again = check_in  # noqa: F841 (documenting intent)
    with rt_server.app.app_context():
        from kiosk.attendees.service import issue_personal_token
        ana = db.session.get(Attendee, rt_event["ana"])
        issue_personal_token(ana)
        db.session.commit()
    assert requests.get(f"{rt_server.url}/m/{token}").status_code == 404


def test_the_phone_page_answers_matches_and_edits_cards(rt_server, rt_event):
    app, ev = rt_server.app, rt_event
    check_in(app, ev["event_id"], ev["ben"])
    drain(app)
    ana_token = check_in(app, ev["event_id"], ev["ana"])
    drain(app)
    http = _phone(rt_server, ana_token)
    page = http.get(f"{rt_server.url}/me").text
    assert "Ben Okafor" in page and "Accept" in page and "looks for" in page
    csrf = csrf_from(page)
    with app.app_context():
        match = db.session.scalar(select(Match).where(Match.event_id == ev["event_id"]))
        match_id = match.id
    answer = http.post(f"{rt_server.url}/me/matches/{match_id}", data={"action": "met", "csrf_token": csrf},
                       headers={"Accept": "application/json"})
    assert answer.json() == {"match_id": match_id, "status": "met"}
    bad = http.post(f"{rt_server.url}/me/matches/{match_id}", data={"action": "marry", "csrf_token": csrf},
                    headers={"Accept": "application/json"})
    assert bad.status_code == 422
    no_csrf = http.post(f"{rt_server.url}/me/matches/{match_id}", data={"action": "accept"})
    assert no_csrf.status_code == 400
    stranger = _phone(rt_server, check_in(app, ev["event_id"], ev["eve"]))
    theirs = stranger.post(f"{rt_server.url}/me/matches/{match_id}",
                           data={"action": "decline", "csrf_token": csrf_from(stranger.get(f"{rt_server.url}/me").text)},
                           headers={"Accept": "application/json"})
    assert theirs.status_code == 403
    # As the phone page posts it: the texts, and each item's topics from the kiosk in hidden fields.
    saved = http.post(f"{rt_server.url}/me/cards", data={
        **card_form("offer", [("I review pitch decks and term sheets", ["Funding"]), "Intros to angel investors", ""]),
        **card_form("need", [("A designer for our landing page", ["Design"]), "", ""]), "csrf_token": csrf})
    assert saved.status_code == 200 and "Saved" in saved.text
    drain(app)
    with app.app_context():
        s = db.session
        assert s.get(Match, match_id).status == MatchStatus.met
        ana = s.get(Attendee, ev["ana"])
        offers = [(c.text, c.tags) for c in ana.cards if c.kind.value == "offer"]
        assert offers == [("I review pitch decks and term sheets", ["Funding"]), ("Intros to angel investors", [])]
        engine = app.extensions["givetake.matcher"].loop.engines[ev["event_id"]]
        assert engine.is_excluded(ev["ana"], ev["ben"])
    # Eve's cards (angel investors) now meet Ana's new offer: the edit made the matcher look again.
    with app.app_context():
        pairs = {(m.a_id, m.b_id) for m in db.session.scalars(select(Match))}
    assert tuple(sorted((ev["ana"], ev["eve"]))) in pairs


def test_rounds_pair_everyone_present_with_meeting_points_and_never_repeat(rt_server, rt_event, feeds):
    app, ev = rt_server.app, rt_event
    with app.app_context():  # no live suggestions: rounds alone decide who meets whom here
        from kiosk.models import Event
        db.session.get(Event, ev["event_id"]).match_settings = {"k": 0}
        db.session.commit()
    tokens = {k: check_in(app, ev["event_id"], ev[k]) for k in ("ana", "ben", "chloe", "dev", "eve")}
    drain(app)
    phone = feeds()
    phone.join("attendee", ev["slug"], token=tokens["chloe"])
    screen = feeds()
    screen.join("screen", ev["slug"], token=ev["screen_token"])
    http = requests.Session()
    login = http.get(rt_server.url + "/login")
    http.post(rt_server.url + "/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                              "csrf_token": csrf_from(login.text)})
    staff = feeds(headers={"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items()),
                           "User-Agent": http.headers["User-Agent"]})  # the organizer's dashboard socket
    assert staff.join("staff", ev["slug"])["ok"]
    dashboard = http.get(f"{rt_server.url}/admin/events/{ev['slug']}/live")
    assert dashboard.status_code == 200 and "Start a round now (12 min)" in dashboard.text
    seen_pairs: set[tuple[int, int]] = set()
    for number in (1, 2):
        started = http.post(f"{rt_server.url}/admin/events/{ev['slug']}/live/round",
                            data={"csrf_token": csrf_from(dashboard.text)})
        assert started.status_code == 200 and "Round requested" in started.text
        drain(app)
        got = phone.wait_for(lambda t, p: t == "round" and p["number"] == number, timeout=5)
        mine = got[1] if got else None
        _, wall = screen.wait_for(lambda t, p: t == "round" and p["number"] == number, timeout=10)
        with app.app_context():
            row = db.session.scalar(select(Round).where(Round.number == number))
            groups = [tuple(g["ids"]) for g in row.pairs]
            _, told = staff.wait_for(lambda t, p: t == "round" and p["number"] == number, timeout=10)
            placed = sorted(i for g in groups for i in g)
            assert sorted(placed + told["unpaired"]) == sorted(ev[k] for k in tokens)  # everyone, once
            if number == 1:  # nobody has met yet: five people make a pair and a trio
                assert sorted(len(g) for g in groups) == [2, 3] and told["unpaired"] == []
            assert [g["meeting_point"] for g in row.pairs] == ["Red sofa", "Window", "Table 3"][:len(groups)]
            assert (row.ends_at - row.starts_at).total_seconds() == 12 * 60
            round_matches = db.session.scalars(select(Match).where(Match.round_id == row.id)).all()
            assert round_matches and all(m.source == MatchSource.round for m in round_matches)
        pairs = {tuple(sorted(p)) for g in groups for p in combinations(g, 2)}
        assert not pairs & seen_pairs, "a pair met twice"
        seen_pairs |= pairs
        chloe_group = next((g for g in row.pairs if ev["chloe"] in g["ids"]), None)
        if number == 1 or chloe_group:
            assert mine["meeting_point"] == chloe_group["meeting_point"]
            assert sorted(p["id"] for p in mine["partners"]) == sorted(i for i in chloe_group["ids"]
                                                                       if i != ev["chloe"])
            on_wall = [p for g in wall["groups"] for p in g["people"]]
            assert {"badge": ev["chloe"], "first_name": None} in on_wall  # no screen consent: badge number only
            assert all(p["first_name"] for p in on_wall if p["badge"] != ev["chloe"])
    page = http.get(f"{rt_server.url}/admin/events/{ev['slug']}/live").text
    assert "Round 2:" in page


def test_the_round_command_pairs_and_prints(rt_server, rt_event):
    app, ev = rt_server.app, rt_event
    runner = app.test_cli_runner()
    too_few = runner.invoke(args=["round", "--event", ev["slug"]])
    assert too_few.exit_code == 1 and "at least 2" in too_few.output
    for key in ("ana", "ben", "dev"):
        check_in(app, ev["event_id"], ev[key])
    result = runner.invoke(args=["round", "--event", ev["slug"]])
    assert result.exit_code == 0, result.output
    assert re.search(r"Round 1: 1 groups", result.output) and "Red sofa: #" in result.output


def test_the_dashboard_and_screen_need_the_right_login_or_pairing(rt_server, rt_event):
    url = rt_server.url
    assert requests.get(f"{url}/admin/events/{rt_event['slug']}/live", allow_redirects=False).status_code == 302
    assert requests.get(f"{url}/screen/{rt_event['slug']}", allow_redirects=False).headers["Location"] == "/pair"
    kiosk = requests.get(f"{url}/screen/{rt_event['slug']}", cookies={"gt_device": rt_event["kiosk_token"]},
                         allow_redirects=False)
    assert kiosk.status_code == 302
    page = requests.get(f"{url}/screen/{rt_event['slug']}", cookies={"gt_device": rt_event["screen_token"]})
    assert page.status_code == 200 and 'id="screen-data"' in page.text
    # Strict CSP: every script is a file; the only inline <script> blocks are JSON data.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline and all('type="application/json"' in attrs for attrs in inline)
    assert " style=" not in page.text


def test_meeting_points_run_out_into_numbered_tables():
    class Event:
        meeting_points = ["Red sofa", " ", "Window"]
    assert [meeting_point(Event(), i) for i in range(4)] == ["Red sofa", "Window", "Table 3", "Table 4"]


def test_stats_go_out_at_most_once_a_second_per_event():
    now = [100.0]
    throttle = StatsThrottle(interval=1.0, clock=lambda: now[0])
    for _ in range(40):
        throttle.touch(7)
    assert throttle.due() == [7] and throttle.due() == []
    throttle.touch(7)
    throttle.touch(8)
    assert throttle.due() == [8]
    assert 0 < throttle.wait_hint(0.5) <= 0.5 and throttle.pending()
    now[0] += 1.0
    assert throttle.due() == [7] and not throttle.pending()


def test_stats_are_logged_for_screen_and_staff_after_check_ins(rt_server, rt_event):
    app, ev = rt_server.app, rt_event
    for key in ("ana", "ben", "chloe"):
        check_in(app, ev["event_id"], ev[key])
    drain(app)
    with app.app_context():
        rows = db.session.scalars(select(EventLog).where(EventLog.type == "stats").order_by(EventLog.seq)).all()
    assert {r.room for r in rows} == {"screen", "staff"}
    assert rows[-1].payload["checked_in"] == 3 and len(rows) <= 6  # three check-ins, a second apart at most
