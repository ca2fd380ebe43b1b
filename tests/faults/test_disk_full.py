"""The laptop's disk full under its SQLite database: walk-ins and check-ins say so, and nothing is half-written.

The database sits on a small tmpfs of its own, filled to the last byte: the kernel's own ENOSPC, which SQLite turns
into SQLITE_FULL when the commit cannot write its WAL. (Mounting works here, as root. SQLite's `max_page_count`
raises the same SQLITE_FULL without a mount, but at the INSERT that needs a page, before the view has answered;
a real full disk fails later, at the commit, after the view has put the new walk-in in the kiosk's session.) The
answer is a 507 `storage_full` telling the organizer to free disk space (a page for people at the kiosk), the
transaction is rolled back (no attendee, no check-in, no seq), and once there is room the same request works.
"""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import func, select

from kiosk.db import db
from kiosk.devices.service import create_device, pair
from kiosk.models import Attendee, Event, EventLog, IdempotentResponse
from tests.checkin.conftest import pair_kiosk
from tests.conftest import build_app, csrf_from
from tests.factories import choose_at_kiosk, kiosk_grant, make_attendee, make_event

WALK_IN = {"first_name": "Wanda", "last_name": "Walker", "email": "wanda@example.org", "company": "Late & Co"}


def snapshot(app, event_id: int) -> dict:
    """What a half-written request would change: people, check-ins, the log and its seqs, stored answers."""
    with app.app_context():
        s = db.session
        return {"attendees": s.scalar(select(func.count(Attendee.id))),
                "checked_in": sorted(s.scalars(select(Attendee.id).where(Attendee.checked_in_at.is_not(None)))),
                "tokens": sorted(filter(None, s.scalars(select(Attendee.personal_token_hash)))),
                "log": s.scalar(select(func.count(EventLog.id))),
                "last_seq": s.get(Event, event_id).last_seq,
                "answers": s.scalar(select(func.count(IdempotentResponse.id)))}


def assert_storage_full(response) -> None:
    """A 507 storage_full that tells the organizer what to do."""
    assert response.status_code == 507, (response.status_code, response.get_data(as_text=True)[:500])
    if response.is_json:
        body = response.get_json()
        assert body["code"] == "storage_full" and "free some disk space" in body["message"], body
    else:
        page = response.get_data(as_text=True)
        assert "The disk is full" in page and "free some disk space" in page and "Traceback" not in page


@pytest.fixture
def venue(small_disk, tmp_path):
    """The app with its database on the small disk: an event, two people, a kiosk for the API and two kiosk
    tablets (browsers), each having made a request already (a device's last-seen time is written once a minute)."""
    database = small_disk.path / "givetake.db"
    app = build_app(tmp_path / "instance", f"sqlite:///{database}", MATCHER="off")
    with app.app_context():
        s = db.session
        event = make_event(s, slug="full-conf")
        ana = make_attendee(s, event, first_name="Ana", last_name="García")
        ben = make_attendee(s, event, first_name="Ben", last_name="Okafor")
        device, token = pair(s, create_device(s, event, "kiosk", "API kiosk").pairing_code)
        s.commit()
        ids = {"event": event.id, "ana": ana.id, "ben": ben.id, "device": device.id}
    api = app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert api.get("/api/events/full-conf/stats").status_code == 200
    tablets = []
    for name in ("Door", "Hall"):
        tablet = app.test_client()
        pair_kiosk(app, tablet, ids["event"], name)
        tablet.csrf = csrf_from(tablet.get("/kiosk/").get_data(as_text=True))
        tablets.append(tablet)
    yield app, ids, api, tablets, database
    app.extensions["givetake.db"].dispose()


def checkpoint(database) -> None:
    """Move the WAL into the database file and empty it: every later commit needs new room for its WAL frames."""
    with sqlite3.connect(database) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    assert busy == 0


@pytest.mark.faults
def test_a_full_disk_refuses_walk_ins_and_check_ins_whole_and_they_work_once_there_is_room(venue, small_disk):
    app, ids, api, (door, hall), database = venue
    ana = {"X-Kiosk-Grant": kiosk_grant(app, ids["device"], ids["ana"])}
    choose_at_kiosk(hall, "Ben Okafor", hall.csrf)  # Ben is at the Hall tablet, about to check in
    before = snapshot(app, ids["event"])
    checkpoint(database)
    small_disk.fill()

    # A walk-in at the Door tablet, a walk-in and a check-in through the API, Ben's check-in at the Hall tablet.
    assert_storage_full(door.post("/kiosk/walk-in", data={**WALK_IN, "csrf_token": door.csrf}))
    walkin = api.post("/api/events/full-conf/attendees", json=WALK_IN, headers={"Idempotency-Key": "walk-in-1"})
    assert_storage_full(walkin)
    checkin = api.post(f"/api/events/full-conf/attendees/{ids['ana']}/checkin", json={},
                       headers={"Idempotency-Key": "check-in-1", **ana})
    assert_storage_full(checkin)
    assert_storage_full(hall.post("/kiosk/consent", data={"consent_screen": "y", "csrf_token": hall.csrf}))
    assert snapshot(app, ids["event"]) == before  # nothing half-written: no person, no check-in, no seq, no answer

    small_disk.free()
    walkin = api.post("/api/events/full-conf/attendees", json=WALK_IN, headers={"Idempotency-Key": "walk-in-1"})
    assert walkin.status_code == 201, walkin.get_json()
    checkin = api.post(f"/api/events/full-conf/attendees/{ids['ana']}/checkin", json={},
                       headers={"Idempotency-Key": "check-in-1", **ana})
    assert checkin.status_code == 200 and checkin.get_json()["checked_in"] is True
    done = hall.post("/kiosk/consent", data={"consent_screen": "y", "csrf_token": hall.csrf}, follow_redirects=True)
    assert done.status_code == 200 and "Ben" in done.get_data(as_text=True)

    # On SQLite the API's walk-in took the id the Door tablet's walk-in would have had. The Door tablet serves
    # nobody: it must not show Wanda's details to whoever stands at it now.
    door_page = door.get("/kiosk/details")
    assert door_page.status_code == 302 and "Wanda" not in door_page.get_data(as_text=True), door_page.status_code
    assert door.post("/kiosk/walk-in", data={**WALK_IN, "first_name": "Walt", "csrf_token": door.csrf}
                     ).status_code == 302

    with app.app_context():
        s = db.session
        assert sorted(s.scalars(select(Attendee.first_name))) == ["Ana", "Ben", "Walt", "Wanda"]
        assert sorted(s.scalars(select(Attendee.id).where(Attendee.checked_in_at.is_not(None)))) == \
            sorted([ids["ana"], ids["ben"]])
        logged = [row.payload["attendee_id"] for row in s.scalars(select(EventLog).where(EventLog.type == "checkin"))]
        assert sorted(logged) == sorted([ids["ana"], ids["ben"]])
        seqs = sorted(s.scalars(select(EventLog.seq)))
        assert seqs == list(range(1, len(seqs) + 1)) and s.get(Event, ids["event"]).last_seq == len(seqs)
