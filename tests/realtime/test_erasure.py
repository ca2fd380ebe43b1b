"""Erasure reaches every table, every served page and every socket replay (security review, finding 4)."""
from __future__ import annotations

import csv
import io
import re

import requests
from sqlalchemy import select

from kiosk.db import Base, db
from kiosk.models import Attendee, Event
from kiosk.rounds.service import request_round
from tests.conftest import ORGANIZER_EMAIL, ORGANIZER_PASSWORD, csrf_from
from tests.realtime.conftest import check_in, drain


def _organizer(url: str) -> requests.Session:
    http = requests.Session()
    http.post(f"{url}/login", data={"email": ORGANIZER_EMAIL, "password": ORGANIZER_PASSWORD,
                                    "csrf_token": csrf_from(http.get(f"{url}/login").text)})
    return http


def _everything_stored(app) -> str:
    """Every row of every table, as text."""
    with app.app_context():
        rows = []
        for table in Base.metadata.sorted_tables:
            rows += [repr(tuple(r)) for r in db.session.execute(select(table))]
        return "\n".join(rows)


def test_an_erased_attendee_is_nowhere_afterwards(rt_server, rt_event, feeds):
    app, url, slug = rt_server.app, rt_server.url, rt_event["slug"]
    ana = rt_event["ana"]
    # Ana checks in through the API with an Idempotency-Key (its answer is stored), the others at the service.
    kiosk = requests.Session()
    kiosk.headers["Authorization"] = f"Bearer {rt_event['kiosk_token']}"
    found = kiosk.get(f"{url}/api/events/{slug}/attendees/lookup", params={"q": "Ana G"}).json()["results"]
    grant = kiosk.post(f"{url}/api/events/{slug}/attendees/select", json={"choice": found[0]["choice"]}).json()
    answer = kiosk.post(f"{url}/api/events/{slug}/attendees/{ana}/checkin", json={"consent_screen": True},
                        headers={"X-Kiosk-Grant": grant["grant"], "Idempotency-Key": "erase-me-1"}).json()
    token = answer["personal_token"]
    for key in ("ben", "chloe", "dev", "eve"):
        check_in(app, rt_event["event_id"], rt_event[key])
    drain(app)
    with app.app_context():
        request_round(db.session, db.session.get(Event, rt_event["event_id"]))
        db.session.commit()
    drain(app)
    with app.app_context():
        person = db.session.get(Attendee, ana)
        badge_token, email = person.badge_token, person.email
    before = _everything_stored(app)
    assert "García" in before and re.search(r"\bAna\b", before)  # the search below can find her

    organizer = _organizer(url)
    page = organizer.get(f"{url}/admin/events/{slug}/attendees/{ana}").text
    erased = organizer.post(f"{url}/admin/events/{slug}/attendees/{ana}/erase",
                            data={"confirm": "ERASE", "csrf_token": csrf_from(page)}, allow_redirects=False)
    assert erased.status_code == 302
    drain(app)

    traces = [re.compile(r"\bAna\b"), re.compile("García"), re.compile(re.escape(email)),
              re.compile(re.escape(token)), re.compile(re.escape(badge_token))]

    def nowhere(text: str, where: str) -> None:
        for trace in traces:
            found = trace.search(text)
            assert not found, f"{trace.pattern!r} still in {where}: ...{text[max(0, found.start() - 300):found.end() + 100]}"

    nowhere(_everything_stored(app), "the database")
    screen = requests.Session()
    screen.cookies.set("gt_device", rt_event["screen_token"])
    ben_phone = requests.Session()
    ben_phone.get(f"{url}/m/{check_in_token(app, rt_event)}")
    for http, path in ((screen, f"/screen/{slug}"), (organizer, f"/admin/events/{slug}/live/"),
                       (organizer, f"/admin/events/{slug}/attendees"), (organizer, f"/admin/events/{slug}"),
                       (ben_phone, "/me")):
        response = http.get(url + path)
        assert response.status_code == 200, path
        nowhere(response.text, path)
    export = organizer.get(f"{url}/admin/events/{slug}/export.csv").content.decode("utf-8-sig")
    nowhere(export, "the CSV export")
    assert len(list(csv.reader(io.StringIO(export)))) > 1
    # Every room's replay from the beginning: screen, staff, and Ben's phone.
    cookie = "; ".join(f"{k}={v}" for k, v in organizer.cookies.items())
    staff = feeds(headers={"Cookie": cookie, "User-Agent": organizer.headers["User-Agent"]})
    joins = [(feeds(), ("screen", slug), {"token": rt_event["screen_token"]}), (staff, ("staff", slug), {}),
             (feeds(headers={"Cookie": f"session={ben_phone.cookies['session']}"}), ("attendee", slug), {})]
    for client, (role, event), extra in joins:
        joined = client.join(role, event, last_seq=0, **extra)
        assert joined["ok"] and joined["replayed"] > 0, (role, joined)
        nowhere(repr(client.raw), f"the {role} replay")


def check_in_token(app, rt_event) -> str:
    """A fresh personal token for Ben (already checked in): as his kiosk would show it again."""
    from kiosk.attendees.service import issue_personal_token
    with app.app_context():
        token = issue_personal_token(db.session.get(Attendee, rt_event["ben"]))
        db.session.commit()
    return token
