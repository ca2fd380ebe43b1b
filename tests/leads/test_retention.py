"""Retention: only events past their retention period lose their contacts and leads; `givetake purge` does it."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kiosk.db import db
from kiosk.leads.service import capture_lead
from kiosk.models import Attendee, Contact, Event, EventLog, Lead, utcnow
from kiosk.retention.service import purge_expired
from kiosk.scanning.service import connect
from kiosk.devices.service import device_from_token
from tests.leads.conftest import make_booth


def _scans(app, booth, *, ended_days_ago: int | None, retention_days: int = 30) -> None:
    """A contact between two attendees and a lead of Acme's, at an event that ended that many days ago."""
    with app.app_context():
        s = db.session
        event = s.get(Event, booth["event_id"])
        event.retention_days = retention_days
        if ended_days_ago is not None:
            event.starts_at = utcnow() - timedelta(days=ended_days_ago, hours=8)
            event.ends_at = utcnow() - timedelta(days=ended_days_ago)
        connect(s, s.get(Attendee, booth["Ana"]), s.get(Attendee, booth["Ben"]))
        capture_lead(s, device_from_token(s, booth["acme_token"]), booth["codes"]["Ana"])
        s.commit()


def _left(app, event_id: int) -> tuple[int, int, int]:
    with app.app_context():
        s = db.session
        return tuple(s.scalar(select(func.count(m.id)).where(m.event_id == event_id, *extra)) or 0
                     for m, extra in ((Contact, ()), (Lead, ()), (EventLog, (EventLog.type == "contact",))))


def test_only_expired_events_lose_contacts_and_leads(any_app):
    old = make_booth(any_app, slug="last-year")
    recent = make_booth(any_app, slug="last-week")
    undated = make_booth(any_app, slug="undated")  # no dates: counted from when it was created (now)
    _scans(any_app, old, ended_days_ago=31)
    _scans(any_app, recent, ended_days_ago=7)
    _scans(any_app, undated, ended_days_ago=None)
    assert _left(any_app, old["event_id"])[2] > 0
    with any_app.app_context():
        dry = purge_expired(db.session, utcnow(), dry_run=True)
        db.session.rollback()
    assert dry == {"last-year": (1, 1)} and _left(any_app, old["event_id"]) != (0, 0, 0)
    with any_app.app_context():
        done = purge_expired(db.session, utcnow())
        db.session.commit()
    assert done == {"last-year": (1, 1)}
    assert _left(any_app, old["event_id"]) == (0, 0, 0)
    assert _left(any_app, recent["event_id"])[:2] == (1, 1) and _left(any_app, undated["event_id"])[:2] == (1, 1)
    with any_app.app_context():  # the people stay, for the organizer's counts
        assert db.session.get(Attendee, old["Ana"]).first_name == "Ana"
        later = purge_expired(db.session, utcnow() + timedelta(days=61))  # 60 days after "undated" was made
        db.session.commit()
    assert later == {"last-week": (1, 1), "last-year": (0, 0), "undated": (1, 1)}


def test_the_purge_command_with_dry_run_and_one_event(app, runner):
    old = make_booth(app, slug="last-year")
    recent = make_booth(app, slug="last-week")
    _scans(app, old, ended_days_ago=90)
    _scans(app, recent, ended_days_ago=2)
    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "last-year: would delete 1 contacts and 1 leads." in dry.output
    assert "Would delete 1 contacts and 1 leads from 1 expired event." in dry.output
    assert _left(app, old["event_id"])[:2] == (1, 1)
    kept = runner.invoke(args=["purge", "--event", "last-week"])
    assert kept.exit_code == 0 and "last-week: kept until" in kept.output and "(30 days after the event)" in kept.output
    assert _left(app, recent["event_id"])[:2] == (1, 1)
    done = runner.invoke(args=["purge"])
    assert done.exit_code == 0 and "Deleted 1 contacts and 1 leads from 1 expired event." in done.output
    assert _left(app, old["event_id"]) == (0, 0, 0) and _left(app, recent["event_id"])[:2] == (1, 1)
    unknown = runner.invoke(args=["purge", "--event", "nope"])
    assert unknown.exit_code == 1 and "There is no event 'nope'" in unknown.output


def test_organizers_set_the_retention_on_the_event_form(app, client, auth, booth):
    auth.login()
    url = f"/admin/events/{booth['slug']}/edit"
    form = client.get(url).get_data(as_text=True)
    assert 'name="retention_days"' in form and 'value="60"' in form
    base = {"name": "Expo", "timezone": "UTC", "round_minutes": "10", "tags": "Design"}
    for bad in ("0", "3651", "soon"):
        refused = auth.post(url, {**base, "retention_days": bad})
        assert refused.status_code == 422, bad
    assert auth.post(url, {**base, "retention_days": "14"}).status_code == 302
    with app.app_context():
        assert db.session.get(Event, booth["event_id"]).retention_days == 14
