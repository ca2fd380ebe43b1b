"""Badges in the app: a kiosk check-in prints through CUPS (with failover), reprints revoke the old badge,
organizers download PDFs and run batches."""
from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from kiosk.db import db
from kiosk.models import Attendee, Device, PrintJob, PrintStatus, RevokedBadgeToken
from tests.badges.conftest import _cmd, decode_qrs, rasterize, wait_until
from tests.checkin.conftest import event_people, pair_kiosk  # noqa: F401  (fixture)
from tests.factories import choose_at_kiosk
from tests.conftest import csrf_from
from tests.realparts import need_program


def _assign(app, printers):
    with app.app_context():
        for device in db.session.scalars(select(Device)):
            device.printers = list(printers)
        db.session.commit()


def _check_in_at_kiosk(client, name):
    csrf = csrf_from(client.get("/kiosk/").get_data(as_text=True))
    choose_at_kiosk(client, name, csrf)
    return client.post("/kiosk/consent", data={"csrf_token": csrf}, follow_redirects=True), csrf


def _job_of(app, attendee_id, done=True):
    def finished():
        with app.app_context():
            job = db.session.scalars(select(PrintJob).where(PrintJob.attendee_id == attendee_id)
                                     .order_by(PrintJob.id.desc())).first()
            if job is not None and (not done or job.status in (PrintStatus.done, PrintStatus.failed)):
                return job
        return None
    return wait_until(finished, 60, "the print job to finish")


@pytest.mark.cups
def test_kiosk_check_in_prints_a_badge_whose_qr_opens_the_attendee(app, client, event_people, queues, tmp_path):
    pair_kiosk(app, client, event_people["event_id"])
    _assign(app, queues.queues)
    done, _ = _check_in_at_kiosk(client, "Ana García")
    assert "Your badge is printing on GiveTakeTest1" in done.get_data(as_text=True)
    job = _job_of(app, event_people["ana"])
    assert job.status == PrintStatus.done and job.printer == "GiveTakeTest1" and job.cups_job
    status = client.get(f"/badges/jobs/{job.id}").get_json()
    assert status["status"] == "done" and "ready" in status["message"]
    printed = queues.output_of(job.cups_job)
    with app.app_context():
        token = db.session.get(Attendee, event_people["ana"]).badge_token
    pages = rasterize(printed.read_bytes(), tmp_path)
    assert decode_qrs(pages[0]) == [f"https://give.example.org/b/{token}"]
    width, height = (float(v) for v in PdfReader(str(printed)).pages[0].mediabox[2:])
    assert (round(width), round(height)) == (288, 216)  # 4 x 3 in label


@pytest.mark.cups
def test_a_stopped_printer_fails_over_and_a_reprint_revokes_the_old_badge(app, client, event_people, queues):
    pair_kiosk(app, client, event_people["event_id"])
    _assign(app, queues.queues)
    _cmd("cupsdisable", queues.queues[0])
    _check_in_at_kiosk(client, "Ben Okafor")
    first = _job_of(app, event_people["ben"])
    assert first.status == PrintStatus.done and first.printer == "GiveTakeTest2"
    with app.app_context():
        old_token = db.session.get(Attendee, event_people["ben"]).badge_token
    csrf = csrf_from(client.get("/kiosk/").get_data(as_text=True))
    client.post("/kiosk/ticket", data={"code": "T-101", "csrf_token": csrf})  # his ticket: proof, so a reprint
    client.post("/kiosk/already", data={"action": "reprint", "csrf_token": csrf}, follow_redirects=True)
    second = wait_until(lambda: (lambda j: j if j.id != first.id and j.status == PrintStatus.done else None)(
        _job_of(app, event_people["ben"], done=False)), 60, "the reprint")
    with app.app_context():
        new_token = db.session.get(Attendee, event_people["ben"]).badge_token
        assert new_token != old_token
        assert db.session.get(RevokedBadgeToken, old_token).attendee_id == event_people["ben"]
    replaced = client.post("/kiosk/ticket", data={"code": f"https://give.example.org/b/{old_token}", "csrf_token": csrf})
    assert replaced.status_code == 404 and "replaced" in replaced.get_data(as_text=True)
    assert second.printer == "GiveTakeTest2"


@pytest.mark.cups
def test_every_printer_stopped_fails_with_reasons_and_admin_can_move_the_job(app, client, auth, event_people, queues):
    pair_kiosk(app, client, event_people["event_id"])
    _assign(app, queues.queues)
    for queue in queues.queues:
        _cmd("cupsreject", queue)
    _check_in_at_kiosk(client, "Chloé")
    job = _job_of(app, event_people["chloe"])
    assert job.status == PrintStatus.failed and "GiveTakeTest1" in job.error and "GiveTakeTest2" in job.error
    _cmd("cupsaccept", queues.queues[1])
    auth.login()
    page = client.get(f"/admin/events/kiosk-conf/printing")
    assert page.status_code == 200 and "GiveTakeTest2" in page.get_data(as_text=True)
    moved = auth.post("/admin/events/kiosk-conf/printing", {"action": "move", "job_id": job.id,
                                                            "printer": "GiveTakeTest2"})
    assert moved.status_code == 302
    retried = wait_until(lambda: (lambda j: j if j.id != job.id and j.status == PrintStatus.done else None)(
        _job_of(app, event_people["chloe"], done=False)), 60, "the moved job")
    assert retried.printer == "GiveTakeTest2"


def test_badge_pdf_download_is_for_organizers_and_the_kiosk_serving_the_person(app, client, auth, event_people,
                                                                                tmp_path):
    url = f"/badges/kiosk-conf/{event_people['chloe']}.pdf"
    assert client.get(url).status_code == 403
    pair_kiosk(app, client, event_people["event_id"])
    assert client.get(url).status_code == 403  # a kiosk downloads nobody's badge but its current person's
    csrf = csrf_from(client.get("/kiosk/").get_data(as_text=True))
    choose_at_kiosk(client, "Ben Okafor", csrf)
    assert client.get(url).status_code == 403  # serving Ben, not Chloé
    choose_at_kiosk(client, "Chloé", csrf)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    need_program("pdftotext")
    path = tmp_path / "b.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "Chloé" in text and "Datawell" in text


def test_cli_badges_only_not_printed(app, runner, event_people, tmp_path):
    with app.app_context():
        db.session.add(PrintJob(event_id=event_people["event_id"], attendee_id=event_people["ana"],
                                format="letter-6up", status=PrintStatus.done))
        db.session.commit()
    out = tmp_path / "sheet.pdf"
    result = runner.invoke(args=["badges", "--event", "kiosk-conf", "--layout", "letter-6up", "--only-not-printed",
                                 "--sort", "company", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 2 badges" in result.output
    assert len(PdfReader(str(out)).pages) == 1  # two badges fit on one 6-up sheet


@pytest.mark.cups
@pytest.mark.slow
def test_a_kiosk_on_givetake_serve_prints_through_cups(app, event_people, queues, tmp_path):
    """The same check-in on the real command (gevent): drawing off the event loop, IPP to CUPS cooperative."""
    import requests

    from tests.livesrv import ServerProcess
    token = pair_kiosk(app, app.test_client(), event_people["event_id"])
    _assign(app, queues.queues)
    env = {"GIVETAKE_DATABASE_URL": app.config["DATABASE_URL"], "GIVETAKE_INSTANCE_PATH": app.instance_path,
           "GIVETAKE_SECRET_KEY": app.config["SECRET_KEY"], "GIVETAKE_MATCHER": "off", "GIVETAKE_REDIS_URL": "",
           "GIVETAKE_PUBLIC_URL": "https://give.example.org", "GIVETAKE_ASYNC_MODE": "gevent"}
    app.extensions["givetake.db"].dispose()
    server = ServerProcess(env).launch()
    try:
        server.wait_ready(90)
        kiosk = requests.Session()
        kiosk.cookies.set("gt_device", token)
        csrf = csrf_from(kiosk.get(f"{server.url}/kiosk/").text)
        choose_at_kiosk(kiosk, "Ben Okafor", csrf, base=server.url)
        done = kiosk.post(f"{server.url}/kiosk/consent", data={"csrf_token": csrf})
        assert "Your badge is printing on GiveTakeTest1" in done.text, server.output()[-2000:]
        job = _job_of(app, event_people["ben"])
        assert job.status == PrintStatus.done and job.cups_job, (job.error, server.output()[-2000:])
        with app.app_context():
            badge = db.session.get(Attendee, event_people["ben"]).badge_token
        pages = rasterize(queues.output_of(job.cups_job).read_bytes(), tmp_path)
        assert decode_qrs(pages[0]) == [f"https://give.example.org/b/{badge}"]
    finally:
        server.stop()
