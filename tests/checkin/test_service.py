"""The check-in service itself (`kiosk.checkin.service`), called as every kiosk and the API call it."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from kiosk.checkin.service import CheckInConflict, check_in
from kiosk.db import db
from kiosk.models import Attendee, CardKind, Event, EventLog, PrintJob
from kiosk.tokens import hash_token
from tests.conftest import build_app
from tests.factories import make_attendee, make_event

#: How long the second kiosk must stay blocked behind the first one's uncommitted check-in. Showing that something
#: does not happen takes a duration; anything that finishes in this time did not wait.
BLOCKED_FOR = 0.5


@pytest.fixture(params=["sqlite", "postgres"])
def quiet_app(request, tmp_path):
    """The app on SQLite, then on PostgreSQL, with the matcher off: its queue only collects what was submitted."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    app = build_app(tmp_path / "instance", url, MATCHER="off")
    yield app
    app.extensions["givetake.db"].dispose()


def test_racing_check_ins_give_one_winner_and_a_conflict_that_changed_nothing(quiet_app):
    """Two sessions that both saw the attendee not checked in: one wins, the other waits, gets CheckInConflict
    and has written nothing (no consent, cards, print job, message or matcher work)."""
    app = quiet_app
    with app.app_context():
        s = db.session
        event = make_event(s)
        person = make_attendee(s, event, offers=["Python code reviews"])
        s.commit()
        event_id, attendee_id = event.id, person.id

    database = app.extensions["givetake.db"]
    first_kiosk, second_kiosk = database.Session(), database.Session()
    # Both kiosks have the attendee on screen, not checked in: the stale read a real race starts from.
    seen = [(kiosk.get(Event, event_id), kiosk.get(Attendee, attendee_id)) for kiosk in (first_kiosk, second_kiosk)]
    assert [attendee.checked_in_at for _, attendee in seen] == [None, None]

    outcome: dict = {}

    def second_check_in():
        with app.app_context():
            try:
                outcome["result"] = check_in(second_kiosk, *seen[1], print_badge=True,
                                             consent={"consent_screen": False, "consent_share": ["email"]},
                                             cards={"offers": ["Something else entirely"]})
            except CheckInConflict as exc:
                outcome["conflict"] = exc
            except Exception as exc:  # reported below, with what the winner did
                outcome["error"] = exc
            # Commit even after the conflict: the service promises the loser wrote nothing, so nothing may land.
            second_kiosk.commit()
            second_kiosk.close()

    with app.app_context():
        won = check_in(first_kiosk, *seen[0], consent={"consent_screen": True}, print_badge=True)
        second = threading.Thread(target=second_check_in)
        second.start()
        second.join(BLOCKED_FOR)
        assert second.is_alive(), f"the second check-in did not wait for the first to commit: {outcome}"
        first_kiosk.commit()
    second.join(30)
    assert not second.is_alive()
    first_kiosk.close()

    assert set(outcome) == {"conflict"}, f"the second kiosk did not get CheckInConflict: {outcome}"
    assert outcome["conflict"].details == {"checked_in_at": won.checked_in_at.isoformat()}
    with app.app_context():
        s = db.session
        attendee = s.get(Attendee, attendee_id)
        assert attendee.checked_in_at == won.checked_in_at
        assert attendee.personal_token_hash == hash_token(won.personal_token)
        assert (attendee.consent_screen, attendee.consent_share) == (True, [])
        assert [c.text for c in attendee.cards_of(CardKind.offer)] == ["Python code reviews"]
        assert s.scalars(select(PrintJob.id)).all() == [won.print_job.id]
        assert s.scalar(select(func.count()).select_from(EventLog).where(EventLog.type == "checkin")) == 1
    work = app.extensions["givetake.matcher"].queue.get_many(10)
    assert [{k: v for k, v in item.items() if k != "queued_at"} for item in work] == [
        {"kind": "checkin", "event_id": event_id, "attendee_id": attendee_id}]
