"""Form posts replayed by their `idem` key (kiosk.idempotency): a retry after a lost answer gets the first answer
and changes nothing again, only for the device or phone that sent it, until the answer expires."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from kiosk.db import db
from kiosk.models import Attendee, EventLog, IdempotentResponse, Match, MatchStatus, PrintJob, utcnow
from tests.checkin.conftest import pair_kiosk
from tests.conftest import csrf_from
from tests.factories import choose_at_kiosk, form_values


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _with(form, values: dict):
    """The form as the browser would send it with these fields typed in (replacing, not adding, values)."""
    form = form.copy()
    for name, value in values.items():
        form[name] = value
    return form


def _to_consent(client, name: str = "Ana García") -> dict:
    """Choose `name` at the kiosk and walk to the consent step; returns the consent form as the page has it."""
    csrf = csrf_from(client.get("/kiosk/").get_data(as_text=True))
    assert choose_at_kiosk(client, name, csrf).status_code == 302
    for step in ("details", "offer", "need"):
        page = client.get(f"/kiosk/{step}").get_data(as_text=True)
        assert client.post(f"/kiosk/{step}", data=form_values(page, "idem")).status_code == 302
    return form_values(client.get("/kiosk/consent").get_data(as_text=True), "idem")


def test_a_retried_consent_checks_in_and_prints_once_and_gets_the_same_done_screen(app, kiosk_client, event_people):
    form = _to_consent(kiosk_client)
    assert form["idem"]  # rendered with the page
    first = kiosk_client.post("/kiosk/consent", data=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("/kiosk/done")
    # The answer was lost on the way back: the browser still has the session from before and sends again.
    retry = kiosk_client.post("/kiosk/consent", data=form)
    assert retry.status_code == 302 and retry.headers["Location"] == first.headers["Location"]
    done = kiosk_client.get(retry.headers["Location"]).get_data(as_text=True)
    assert "You're in, Ana!" in done and "<svg" in done  # the personal QR, restored from the sealed answer
    ana = event_people["ana"]
    assert _count(app, PrintJob, PrintJob.attendee_id == ana) == 1
    assert _count(app, EventLog, EventLog.type == "checkin") == 1
    with app.app_context():
        assert db.session.get(Attendee, ana).checked_in_at is not None
    # A new key is a new request: the checked-in person gets "already checked in", not a second check-in.
    again = kiosk_client.post("/kiosk/consent", data={**form, "idem": "another-key"})
    assert again.status_code == 302 and "/kiosk/done" not in again.headers["Location"]
    assert _count(app, PrintJob, PrintJob.attendee_id == ana) == 1


def test_the_done_screen_a_replay_restores_shows_the_personal_qr_even_when_the_session_was_lost(
        app, client, event_people):
    pair_kiosk(app, client, event_people["event_id"])
    form = _to_consent(client)
    consent_step = client.get_cookie("session").value
    assert client.post("/kiosk/consent", data=form).status_code == 302
    # The first answer (and its Set-Cookie) never arrived: the tablet still holds the session of the consent step.
    client.set_cookie("session", consent_step)
    retry = client.post("/kiosk/consent", data=form, follow_redirects=True)
    html = retry.get_data(as_text=True)
    assert retry.status_code == 200 and "You're in, Ana!" in html and "<svg" in html
    assert _count(app, PrintJob, PrintJob.attendee_id == event_people["ana"]) == 1


def test_a_retried_walk_in_registers_one_person_and_keeps_serving_them(app, kiosk_client, event_people):
    page = kiosk_client.get("/kiosk/walk-in").get_data(as_text=True)
    form = form_values(page, "idem")
    form = _with(form, {"first_name": "Dora", "last_name": "Weiss", "email": "dora@example.org", "company": "Kiln"})
    lost_session = kiosk_client.get_cookie("session").value
    first = kiosk_client.post("/kiosk/walk-in", data=form)
    assert first.status_code == 302 and first.headers["Location"].endswith("/kiosk/details")
    kiosk_client.set_cookie("session", lost_session)  # the answer that said whom this kiosk serves was lost
    retry = kiosk_client.post("/kiosk/walk-in", data=form)
    assert retry.headers["Location"] == first.headers["Location"]
    assert "Hi Dora!" in kiosk_client.get("/kiosk/details").get_data(as_text=True)  # still serving her
    assert _count(app, Attendee, Attendee.email == "dora@example.org") == 1


def test_another_kiosk_with_the_same_key_gets_its_own_answer_not_the_first_ones(app, event_people):
    first_kiosk, second_kiosk = app.test_client(), app.test_client()
    pair_kiosk(app, first_kiosk, event_people["event_id"], "Left")
    pair_kiosk(app, second_kiosk, event_people["event_id"], "Right")
    form = _to_consent(first_kiosk, "Ana García")
    assert first_kiosk.post("/kiosk/consent", data=form).headers["Location"].endswith("/kiosk/done")
    other = _to_consent(second_kiosk, "Ben Okafor")
    other["idem"] = form["idem"]  # the same key, from another device
    answer = second_kiosk.post("/kiosk/consent", data=other, follow_redirects=True).get_data(as_text=True)
    assert "You're in, Ben!" in answer and "Ana" not in answer
    with app.app_context():
        assert db.session.get(Attendee, event_people["ben"]).checked_in_at is not None
    assert _count(app, PrintJob) == 2


def test_an_expired_answer_is_not_replayed(app, kiosk_client, event_people):
    page = kiosk_client.get("/kiosk/walk-in").get_data(as_text=True)
    form = form_values(page, "idem")
    form = _with(form, {"first_name": "Eli", "last_name": "Moss", "email": "eli@example.org"})
    kiosk_client.post("/kiosk/walk-in", data=form)
    with app.app_context():
        db.session.execute(update(IdempotentResponse).values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    form = _with(form, {"first_name": "Fay", "email": "fay@example.org"})
    again = kiosk_client.post("/kiosk/walk-in", data=form)
    assert again.status_code == 302
    assert "Hi Fay!" in kiosk_client.get("/kiosk/details").get_data(as_text=True)  # ran again, not replayed
    assert _count(app, Attendee, Attendee.email.in_(["eli@example.org", "fay@example.org"])) == 2
    assert _count(app, IdempotentResponse) == 1  # the expired answer was purged when the new one was stored


def test_a_bad_key_is_a_clear_400_and_changes_nothing(app, kiosk_client, event_people):
    page = kiosk_client.get("/kiosk/walk-in").get_data(as_text=True)
    form = form_values(page, "idem")
    form = _with(form, {"first_name": "Gus", "last_name": "Pike", "email": "gus@example.org"})
    for bad in ("x" * 101, "tab\there", "line\nbreak"):
        answer = kiosk_client.post("/kiosk/walk-in", data={**form, "idem": bad})
        assert answer.status_code == 400 and "idempotency key" in answer.get_data(as_text=True)
    assert _count(app, Attendee, Attendee.email == "gus@example.org") == 0
    # Nothing lost: the same form with its own key goes through.
    assert kiosk_client.post("/kiosk/walk-in", data=form).headers["Location"].endswith("/kiosk/details")
    assert _count(app, Attendee, Attendee.email == "gus@example.org") == 1


def test_a_wrong_pairing_code_retried_with_its_key_counts_once_toward_the_limit(app, client, event_people):
    page = client.get("/pair").get_data(as_text=True)
    form = form_values(page, "idem")
    form["code"] = "ZZZZZZ"
    codes = [client.post("/pair", data=form).status_code for _ in range(2)]  # one guess, its answer lost once
    for i in range(8):
        codes.append(client.post("/pair", data={**form, "idem": f"key-{i}"}).status_code)
    assert codes == [404] * 10  # nine guesses counted of ten allowed a minute
    assert client.post("/pair", data={**form, "idem": "key-8"}).status_code == 404  # the tenth guess
    assert client.post("/pair", data={**form, "idem": "key-9"}).status_code == 429
    # The same key with another code is another guess, not a retry.
    assert client.post("/pair", data={**form, "code": "YYYYYY"}).status_code == 429


def test_a_pairing_whose_answer_was_lost_is_replayed_to_that_browser_only(app, client, event_people):
    from kiosk.devices.service import create_device
    from kiosk.models import Event
    with app.app_context():
        device = create_device(db.session, db.session.get(Event, event_people["event_id"]), "kiosk", "Door")
        db.session.commit()
        code = device.pairing_code
    form = form_values(client.get("/pair").get_data(as_text=True), "idem")
    form["code"] = code
    cookies_before = client.get_cookie("session").value
    first = client.post("/pair", data=form)
    assert first.status_code == 302
    client.delete_cookie("gt_device")
    client.set_cookie("session", cookies_before)
    retry = client.post("/pair", data=form)
    assert retry.status_code == 302 and any(c.startswith("gt_device=") for c in retry.headers.getlist("Set-Cookie"))
    assert client.get("/kiosk/").status_code == 200  # paired after all, with the code used once
    stranger = app.test_client()
    stranger_form = form_values(stranger.get("/pair").get_data(as_text=True), "idem")
    stolen = stranger.post("/pair", data={**stranger_form, "code": code, "idem": form["idem"]})
    assert stolen.status_code == 404 and not any(c.startswith("gt_device=")
                                                 for c in stolen.headers.getlist("Set-Cookie"))


def test_a_retried_accept_on_the_phone_answers_once_and_only_for_that_attendee(app, client, event_people,
                                                                              monkeypatch):
    from kiosk.attendees.service import issue_personal_token
    from kiosk.me import service as me_service
    ana, ben = event_people["ana"], event_people["ben"]
    with app.app_context():
        s = db.session
        match = Match(event_id=event_people["event_id"], a_id=min(ana, ben), b_id=max(ana, ben), score=0.8,
                      direction="both", status=MatchStatus.suggested, reasons=[])
        s.add(match)
        tokens = {who: issue_personal_token(s.get(Attendee, who)) for who in (ana, ben)}
        s.commit()
        match_id = match.id
    calls = []
    real = me_service.answer_match
    monkeypatch.setattr(me_service, "answer_match", lambda *a, **k: calls.append(a[1].id) or real(*a, **k))
    client.get(f"/m/{tokens[ana]}")
    form = form_values(client.get("/me").get_data(as_text=True), "idem")
    form["action"] = "accept"
    as_json = {"Accept": "application/json"}
    first = client.post(f"/me/matches/{match_id}", data=form, headers=as_json)
    retry = client.post(f"/me/matches/{match_id}", data=form, headers=as_json)
    assert first.get_json() == retry.get_json() == {"match_id": match_id, "status": "accepted"}
    assert calls == [ana]
    # Ben's phone with Ana's key declines for himself: the key does not carry Ana's answer over.
    bens_phone = app.test_client()
    bens_phone.get(f"/m/{tokens[ben]}")
    declined = bens_phone.post(f"/me/matches/{match_id}", data={**form_values(
        bens_phone.get("/me").get_data(as_text=True), "idem"), "idem": form["idem"], "action": "decline"},
        headers=as_json)
    assert declined.get_json()["status"] == "declined" and calls == [ana, ben]
