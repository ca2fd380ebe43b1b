"""On SQLite a request holds the database's write lock for its writes only: a request that only reads never waits
for it (not even a POST), a failed request writes nothing, and a badge is never drawn while the lock is held."""
from __future__ import annotations

import sqlite3
import time
from contextlib import contextmanager

from sqlalchemy import select

from kiosk.badges import service as badges
from kiosk.db import db
from kiosk.models import Attendee, Device, PrintJob
from tests.conftest import csrf_from
from tests.factories import card_form, choose_at_kiosk


def _database_file(app) -> str:
    return app.extensions["givetake.db"].engine.url.database


@contextmanager
def held_write_lock(app):
    """Another process's writer (a CLI import, say) holds SQLite's write lock meanwhile."""
    conn = sqlite3.connect(_database_file(app), isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_post_that_only_reads_does_not_wait_for_the_write_lock(app, kiosk_client):
    csrf = csrf_from(kiosk_client.get("/kiosk/walk-in").get_data(as_text=True))
    with held_write_lock(app):
        started = time.monotonic()
        # No first name: validation fails before anything is written, so nothing needs the lock.
        refused = kiosk_client.post("/kiosk/walk-in", data={"first_name": " ", "csrf_token": csrf})
        waited = time.monotonic() - started
    assert refused.status_code == 422 and "first name" in refused.get_data(as_text=True).lower()
    assert waited < 5  # a request that took the lock at its first SELECT waited 15 s for it, then failed


def test_a_failed_request_writes_nothing(app, kiosk_client, event_people):
    csrf = csrf_from(kiosk_client.get("/kiosk/").get_data(as_text=True))
    choose_at_kiosk(kiosk_client, "Ana García", csrf)
    # The first item is fine, the second has a tag the event does not have: the whole card is refused.
    refused = kiosk_client.post("/kiosk/offer", data={
        **card_form("offer", [("Intros to angels", ["Funding"]), ("Tax advice", ["Not a tag"])]), "csrf_token": csrf})
    assert refused.status_code == 422
    with app.app_context():
        ana = db.session.get(Attendee, event_people["ana"])
        assert [c.text for c in ana.cards_of("offer")] == ["I review pitch decks and term sheets"]


def _committed_check_in(path: str, attendee_id: int) -> bool:
    """True if another connection already sees the attendee checked in (the check-in's transaction committed)."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        return conn.execute("SELECT checked_in_at IS NOT NULL FROM attendees WHERE id = ?",
                            (attendee_id,)).fetchone()[0] == 1
    finally:
        conn.close()


def test_a_badge_is_drawn_after_the_check_in_committed(app, kiosk_client, event_people, monkeypatch):
    """Drawing inside the check-in's transaction would hold the write lock (every other kiosk waits) for as long
    as the drawing takes. Asked of another connection while drawing: is the check-in committed? (Not "is the lock
    free": the matcher, woken by this check-in, may be writing at that moment, which is fine; that made this flaky.)"""
    path = _database_file(app)
    drawn = []
    real_render = badges.render_badges

    def observed_render(*args, **kwargs):
        drawn.append(_committed_check_in(path, event_people["ben"]))
        return real_render(*args, **kwargs)

    monkeypatch.setattr(badges, "render_badges", observed_render)
    with app.app_context():
        device = db.session.scalars(select(Device)).one()
        device.printers = ["NoSuchQueue"]  # the job fails at CUPS; what matters is when it was drawn
        db.session.commit()
    csrf = csrf_from(kiosk_client.get("/kiosk/").get_data(as_text=True))
    choose_at_kiosk(kiosk_client, "Ben Okafor", csrf)
    done = kiosk_client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True)
    assert done.status_code == 200 and "You're in, Ben!" in done.get_data(as_text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not drawn:
        time.sleep(0.05)
    assert drawn == [True]  # drawn once, after the check-in committed
    with app.app_context():
        assert db.session.scalars(select(PrintJob.printer).where(PrintJob.attendee_id == event_people["ben"])
                                  ).all() == ["NoSuchQueue"]
