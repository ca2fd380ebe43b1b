"""The desk: staff check people in and print, reprint or download one badge from the attendee list; the print-jobs
list's print / retry / download; and "only not printed yet", which used to let a second batch print badges twice."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kiosk.badges.service import PrintTask, badge_style, fail_abandoned_jobs
from kiosk.db import db
from kiosk.models import Attendee, PrintJob, PrintStatus, RevokedBadgeToken, utcnow
from tests.badges.conftest import cups, decode_qrs, queues, rasterize, wait_until  # noqa: F401  (fixtures)
from tests.checkin.conftest import pair_kiosk
from tests.conftest import build_app, csrf_from
from tests.factories import make_attendee, make_event
from tests.livesrv import free_port


@pytest.fixture
def app(tmp_path):
    app = build_app(tmp_path / "instance", MATCHER="off")
    yield app
    app.extensions["givetake.db"].dispose()


@pytest.fixture
def people(app):
    """Four pre-registered people of the event `desk-conf`."""
    with app.app_context():
        s = db.session
        event = make_event(s, slug="desk-conf", name="Desk Conf")
        ids = {"event_id": event.id}
        for key, first, last in (("ana", "Ana", "García"), ("ben", "Ben", "Okafor"), ("chloe", "Chloé", "Lefèvre"),
                                 ("dan", "Dan", "Novak")):
            ids[key] = make_attendee(s, event, first_name=first, last_name=last, company=f"{first} Co").id
        s.commit()
    return ids


def _job(app, people, who, status, printer="Front", error=""):
    with app.app_context():
        job = PrintJob(event_id=people["event_id"], attendee_id=people[who], format="label-4x3", printer=printer,
                       status=status, error=error)
        db.session.add(job)
        db.session.commit()
        return job.id


def _jobs_of(app, attendee_id) -> list[PrintJob]:
    with app.app_context():
        return list(db.session.scalars(select(PrintJob).where(PrintJob.attendee_id == attendee_id)
                                       .order_by(PrintJob.id)))


def _names_in(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _flashes(html: str) -> list[str]:
    return re.findall(r'<div class="flash flash-\w+" role="\w+">([^<]*)</div>', html)


# --------------------------------------------------------------------------------- only not printed yet

def test_only_not_printed_leaves_out_badges_already_on_their_way_to_a_printer(app, client, auth, people):
    """The reproduction: Ben's badge waits for the print worker (queued, with a printer); "only not printed yet"
    took him again, so a second batch (or a download) while the first was still printing printed him twice."""
    _job(app, people, "ana", PrintStatus.done)
    _job(app, people, "ben", PrintStatus.queued)  # the worker has not reached it yet
    _job(app, people, "chloe", PrintStatus.queued, printer=None, error="no printer assigned")  # waits for staff
    _job(app, people, "dan", PrintStatus.failed, error="paper jam")
    auth.login()
    pdf = client.get("/admin/events/desk-conf/badges.pdf?only_not_printed=1")
    assert pdf.status_code == 200
    text = _names_in(pdf.data)
    assert "Chloé" in text and "Dan" in text and "Ben" not in text and "Ana" not in text
    before = {who: len(_jobs_of(app, people[who])) for who in ("ana", "ben", "chloe", "dan")}
    batch = auth.post("/admin/events/desk-conf/printing", {"action": "batch", "printer": "Front",
                                                           "sort": "last_name", "only_not_printed": "1"})
    assert batch.status_code == 302
    added = {who: len(_jobs_of(app, people[who])) - before[who] for who in before}
    assert added == {"ana": 0, "ben": 0, "chloe": 1, "dan": 1}


@pytest.mark.cups
def test_a_second_batch_while_the_first_still_prints_prints_nobody_twice(app, client, auth, people, queues):
    auth.login()
    with app.app_context():
        tokens = {a.id: a.badge_token for a in db.session.scalars(select(Attendee))}
    for _ in range(2):  # the organizer clicks Print again: nothing seemed to happen
        assert auth.post("/admin/events/desk-conf/printing", {
            "action": "batch", "printer": queues.queues[0], "sort": "last_name",
            "only_not_printed": "1"}).status_code == 302
    for who in ("ana", "ben", "chloe", "dan"):
        wait_until(lambda: all(j.status == PrintStatus.done for j in _jobs_of(app, people[who])), 60,
                   f"{who}'s badge to print")
        assert len(_jobs_of(app, people[who])) == 1
    with app.app_context():
        assert {a.id: a.badge_token for a in db.session.scalars(select(Attendee))} == tokens  # none revoked
        assert db.session.scalar(select(RevokedBadgeToken)) is None


def test_a_job_retried_before_the_worker_reached_it_is_not_sent_as_well(app, people):
    job_id = _job(app, people, "ana", PrintStatus.failed, error="retried as a new job")
    worker = app.extensions["givetake.printing"]
    with app.app_context():
        event = db.session.get(Attendee, people["ana"]).event
        task = PrintTask(job_id, [], "label-4x3", badge_style(event), "t", ["Front"], None, "badge")
    worker.send(task)  # (it would fail loudly on "Front", which no CUPS here has)
    (job,) = _jobs_of(app, people["ana"])
    assert job.status == PrintStatus.failed and job.error == "retried as a new job"


def test_jobs_a_stopped_server_never_sent_are_failed_to_retry(app, people):
    _job(app, people, "ana", PrintStatus.queued)
    _job(app, people, "ben", PrintStatus.queued, printer=None)
    _job(app, people, "chloe", PrintStatus.done)
    with app.app_context():
        assert fail_abandoned_jobs(db.session) == 1
        db.session.commit()
    (ana,) = _jobs_of(app, people["ana"])
    assert ana.status == PrintStatus.failed and "retry it" in ana.error
    assert _jobs_of(app, people["ben"])[0].status == PrintStatus.queued  # waits for staff, as before
    assert _jobs_of(app, people["chloe"])[0].status == PrintStatus.done


# ---------------------------------------------------------------------------------------- the desk list

def test_who_has_not_arrived_with_search_and_counts(app, client, auth, people):
    with app.app_context():
        db.session.get(Attendee, people["ben"]).checked_in_at = utcnow()
        db.session.commit()
    auth.login()
    page = client.get("/admin/events/desk-conf/attendees?arrived=no").get_data(as_text=True)
    assert "Ana García" in page and "Dan Novak" in page and "Ben Okafor" not in page
    assert re.search(r'aria-current="page">Not arrived <span class="tab-count">3</span>', page)
    here = client.get("/admin/events/desk-conf/attendees?arrived=yes").get_data(as_text=True)
    assert "Ben Okafor" in here and "Ana García" not in here
    both = client.get("/admin/events/desk-conf/attendees?arrived=no&q=dan").get_data(as_text=True)
    assert "Dan Novak" in both and "Ana García" not in both
    assert 'name="arrived" value="no"' in both  # a new search keeps the filter


def test_desk_check_in_without_a_printer_checks_in_shows_the_phone_code_and_offers_the_pdf(app, client, auth,
                                                                                          people, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{free_port()}")  # no CUPS at this desk
    auth.login()
    page = client.get("/admin/events/desk-conf/attendees?q=ana").get_data(as_text=True)
    assert "Printing is not available" in page and ">Check in</button>" in page
    done = auth.post(f"/admin/events/desk-conf/attendees/{people['ana']}/desk?q=ana", {"action": "checkin"})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "Ana García is checked in." in html and "No desk printer" in html
    assert "<svg" in html and "/m/" not in html.replace('xmlns', '')  # the phone link is only in the QR
    with app.app_context():
        ana = db.session.get(Attendee, people["ana"])
        assert ana.checked_in_at is not None and ana.personal_token_hash
    assert _jobs_of(app, people["ana"]) == []
    pdf = client.get(f"/badges/desk-conf/{people['ana']}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and "Ana" in _names_in(pdf.data)
    # The search box is the next person's: its form goes to the list, not to this POST's address.
    assert 'action="/admin/events/desk-conf/attendees"' in html


def test_a_check_in_a_kiosk_made_meanwhile_is_a_clear_conflict(app, client, auth, people):
    auth.login()
    client.get("/admin/events/desk-conf/attendees")
    with app.app_context():
        db.session.get(Attendee, people["ben"]).checked_in_at = at = utcnow()
        db.session.commit()
    answer = auth.post(f"/admin/events/desk-conf/attendees/{people['ben']}/desk", {"action": "checkin"},
                       follow_redirects=True)
    assert "Ben is already checked in." in _flashes(answer.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Attendee, people["ben"]).checked_in_at == at


def test_desk_actions_need_an_organizer_and_the_csrf_token(app, client, auth, people):
    url = f"/admin/events/desk-conf/attendees/{people['ana']}/desk"
    pair_kiosk(app, client, people["event_id"])  # a kiosk's browser: not an organizer
    refused = client.post(url, data={"action": "checkin", "csrf_token": csrf_from(
        client.get("/kiosk/").get_data(as_text=True))})
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    auth.login()
    forged = client.post(url, data={"action": "checkin"})  # no token: a page elsewhere posting here
    assert forged.status_code == 400
    with app.app_context():
        assert db.session.get(Attendee, people["ana"]).checked_in_at is None
    assert client.post("/admin/events/desk-conf/desk-printer", data={"printer": "X"}).status_code == 400


@pytest.mark.cups
def test_the_desk_checks_in_prints_refuses_a_double_print_and_reprints_with_a_new_badge(app, client, auth,
                                                                                       people, queues, tmp_path):
    desk = queues.queues[1]
    auth.login()
    chosen = auth.post("/admin/events/desk-conf/desk-printer?arrived=no", {"printer": desk})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/attendees?arrived=no")
    page = client.get("/admin/events/desk-conf/attendees?arrived=no").get_data(as_text=True)
    assert f'<option value="{desk}" selected>' in page and ">Check in & print</button>" in page
    done = auth.post(f"/admin/events/desk-conf/attendees/{people['ana']}/desk?arrived=no", {"action": "checkin"})
    assert done.status_code == 200 and f"Badge: on its way to {desk}" in done.get_data(as_text=True)
    wait_until(lambda: _jobs_of(app, people["ana"])[0].status == PrintStatus.done, 60, "the desk badge")
    (job,) = _jobs_of(app, people["ana"])
    with app.app_context():
        token = db.session.get(Attendee, people["ana"]).badge_token
    pages = rasterize(queues.output_of(job.cups_job).read_bytes(), tmp_path)
    assert decode_qrs(pages[0]) == [f"https://give.example.org/b/{token}"]

    again = auth.post(f"/admin/events/desk-conf/attendees/{people['ana']}/desk", {"action": "print"},
                      follow_redirects=True)  # a stale page's Print, or a double tap
    assert any("printed already: Reprint replaces it" in f for f in _flashes(again.get_data(as_text=True)))
    assert len(_jobs_of(app, people["ana"])) == 1
    listed = client.get("/admin/events/desk-conf/attendees?q=ana").get_data(as_text=True)
    assert 'value="reprint"' in listed and f"printed · {desk}" in listed

    reprint = auth.post(f"/admin/events/desk-conf/attendees/{people['ana']}/desk", {"action": "reprint"})
    assert reprint.status_code == 302
    wait_until(lambda: len(_jobs_of(app, people["ana"])) == 2 and _jobs_of(app, people["ana"])[1].status ==
               PrintStatus.done, 60, "the reprint")
    with app.app_context():
        assert db.session.get(Attendee, people["ana"]).badge_token != token
        assert db.session.get(RevokedBadgeToken, token) is not None  # the lost badge stops working


@pytest.mark.cups
def test_checking_in_someone_whose_badge_was_batch_printed_prints_no_second_one(app, client, auth, people, queues):
    _job(app, people, "dan", PrintStatus.done, printer=queues.queues[0])
    auth.login()
    auth.post("/admin/events/desk-conf/desk-printer", {"printer": queues.queues[0]})
    listed = client.get("/admin/events/desk-conf/attendees?q=dan").get_data(as_text=True)
    assert ">Check in</button>" in listed
    done = auth.post(f"/admin/events/desk-conf/attendees/{people['dan']}/desk", {"action": "checkin"})
    assert "it waits in the box" in done.get_data(as_text=True)
    assert len(_jobs_of(app, people["dan"])) == 1


# ------------------------------------------------------------------------------------- the print jobs list

def test_print_jobs_offer_print_retry_and_download_on_each_attendees_newest_job(app, client, auth, people):
    old = _job(app, people, "ana", PrintStatus.failed, error="paper jam; retried as a new job")
    new = _job(app, people, "ana", PrintStatus.queued, printer=None, error="no printer assigned")
    done = _job(app, people, "ben", PrintStatus.done)
    failed = _job(app, people, "dan", PrintStatus.failed, error="paper jam")
    auth.login()
    page = client.get("/admin/events/desk-conf/printing").get_data(as_text=True)
    rows = {int(m[0]): m[1] for m in re.findall(r'<tr data-job="(\d+)">(.*?)</tr>', page, re.S)}
    assert 'value="print"' in rows[new] and 'value="retry"' not in rows[new]
    assert "<form" not in rows[old] and "<form" not in rows[done]  # superseded, or printed: reprint is per person
    assert 'value="retry"' in rows[failed] and 'value="move"' in rows[failed]
    for job_id, who in ((old, "ana"), (new, "ana"), (done, "ben"), (failed, "dan")):
        assert f'href="/badges/desk-conf/{people[who]}.pdf"' in rows[job_id]
    printed = auth.post("/admin/events/desk-conf/printing", {"action": "print", "job_id": new, "printer": "Desk"})
    assert printed.status_code == 302
    jobs = _jobs_of(app, people["ana"])
    assert len(jobs) == 3 and jobs[-1].printer == "Desk" and jobs[1].status == PrintStatus.failed
    refused = auth.post("/admin/events/desk-conf/printing", {"action": "retry", "job_id": done},
                        follow_redirects=True)
    assert any("reached its printer" in f for f in _flashes(refused.get_data(as_text=True)))
    assert len(_jobs_of(app, people["ben"])) == 1
