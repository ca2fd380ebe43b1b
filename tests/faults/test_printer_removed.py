"""A CUPS queue removed (`lpadmin -x`) or stopped (`cupsdisable`) in the middle of a batch of badges.

Through a real CUPS with cups-pdf queues: the badges still to print go to the failover printer, or, with none,
fail visibly (the job's reason on the admin printing page), and no badge comes out twice. Which badges came out
is read from cups-pdf's files themselves (each badge prints its number), not from our own bookkeeping.

The badge that is waiting on the queue when it goes is the interesting one, so the test makes sure there is one:
a long job of the test's own (held until the batch has printed a few badges) keeps the queue busy while the next
badge waits behind it.
"""
from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.badges import printing
from kiosk.badges.render import render_badges
from kiosk.db import db
from kiosk.models import PrintJob, PrintStatus
from tests.badges.conftest import CUPS_PDF_PPD, _cmd, cups, make_badges, wait_until  # noqa: F401  (fixture)
from tests.conftest import AuthActions, build_app
from tests.factories import make_attendee, make_event
from tests.livesrv import ROOT
from tests.realparts import need_program

#: cups-pdf instance and queues of these tests alone (other tests use GiveTakeTest1/2, and these get deleted).
INSTANCE = "givetakefault"
FIRST, FAILOVER = "GiveTakeFault1", "GiveTakeFault2"
OUT = Path(f"/var/spool/cups-pdf-{INSTANCE}")
BADGES = 6
#: Badges printed on the first queue before it goes.
PRINTED_FIRST = 2


def add_queue(name: str) -> None:
    _cmd("lpadmin", "-p", name, "-E", "-v", f"cups-pdf:/{INSTANCE}", "-m", CUPS_PDF_PPD, "-D", f"fault test {name}")
    _cmd("cupsenable", name)
    _cmd("cupsaccept", name)


@pytest.fixture
def fault_queues(cups):  # noqa: F811  (the session's cupsd)
    """Two fresh cups-pdf queues writing to an empty folder of their own; removed afterwards."""
    need_program("pdftotext")
    OUT.mkdir(parents=True, exist_ok=True)
    Path(f"/etc/cups/cups-pdf-{INSTANCE}.conf").write_text(f"Out {OUT}\nGrp lpadmin\nDecodeHexStrings 1\n")
    for old in OUT.iterdir():
        old.unlink()
    for queue in (FIRST, FAILOVER):
        add_queue(queue)
    yield
    for queue in (FIRST, FAILOVER):
        _cmd("cancel", "-a", queue, check=False)
        _cmd("lpadmin", "-x", queue, check=False)


@pytest.fixture(scope="module")
def long_job(tmp_path_factory) -> Path:
    """A PDF that keeps a cups-pdf queue busy for seconds (200 badges)."""
    path = tmp_path_factory.mktemp("long-job") / "long.pdf"
    path.write_bytes(render_badges(make_badges(200), "label-4x3"))
    return path


@pytest.fixture
def batch_app(tmp_path):
    """The app with an event of BADGES attendees, none printed yet."""
    app = build_app(tmp_path / "instance", MATCHER="off")
    with app.app_context():
        event = make_event(db.session, slug="print-conf")
        for i in range(BADGES):
            make_attendee(db.session, event, first_name=f"Badge{i}", last_name=f"Person{i:02d}")
        db.session.commit()
    yield app
    app.extensions["givetake.db"].dispose()


def jobs(app) -> list[PrintJob]:
    with app.app_context():
        return list(db.session.scalars(select(PrintJob).order_by(PrintJob.id)))


def printed() -> Counter:
    """How many times each attendee's badge came out of cups-pdf (by the number printed on it)."""
    seen = Counter()
    for pdf in OUT.glob("*.pdf"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60).stdout
        # (a file cups-pdf is still writing reads as nothing yet)
        seen.update(int(n) for n in re.findall(r"#(\d+)\b", text))
    return seen


def remove_mid_batch(app, removal: str, long_job: Path) -> tuple[int, str]:
    """Once PRINTED_FIRST badges are out, put the long job ahead of the batch on the first queue, wait until a
    badge waits behind it (never started), then take the queue away. Returns the waiting badge's job id and the
    long job's CUPS id."""
    held = _cmd("lp", "-d", FIRST, "-H", "indefinite", "-t", "long-job", str(long_job)).stdout
    long_id = re.search(r"request id is (\S+)", held).group(1)
    wait_until(lambda: sum(printed().values()) >= PRINTED_FIRST, 60, f"{PRINTED_FIRST} badges out of cups-pdf",
               interval=0.1)
    _cmd("lp", "-i", long_id, "-H", "resume")

    def waiting_badge():
        for job in jobs(app):
            if job.status == PrintStatus.sent and job.printer == FIRST and job.cups_job:
                waits = printing.job_status(job.cups_job).details.get("ipp_state") == "pending"
                if waits and printing.job_status(long_id).details.get("ipp_state") == "processing":
                    return job.id
        return None
    waiting = wait_until(waiting_badge, 60, "a badge waiting behind the long job", interval=0.02)
    _cmd(*removal.split(), FIRST)
    return waiting, long_id


def run_print_command(app, *printers: str) -> subprocess.Popen:
    """`givetake print` in its own process, as an organizer runs it before doors open."""
    env = {"GIVETAKE_DATABASE_URL": app.config["DATABASE_URL"], "GIVETAKE_INSTANCE_PATH": app.instance_path,
           "GIVETAKE_SECRET_KEY": app.config["SECRET_KEY"], "GIVETAKE_MATCHER": "off", "GIVETAKE_REDIS_URL": "",
           "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    args = [a for p in printers for a in ("--printer", p)]
    return subprocess.Popen([sys.executable, "-c", "from kiosk.launch import main; main()", "print",
                             "--event", "print-conf", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.mark.faults
@pytest.mark.cups
@pytest.mark.slow
@pytest.mark.parametrize("removal", ["lpadmin -x", "cupsdisable"])
def test_the_badges_left_when_a_queue_goes_mid_batch_print_on_the_failover_printer(batch_app, fault_queues,
                                                                                    long_job, removal):
    command = run_print_command(batch_app, FIRST, FAILOVER)
    try:
        waiting, _ = remove_mid_batch(batch_app, removal, long_job)
        output, _ = command.communicate(timeout=120)
    finally:
        command.kill()
    rows = jobs(batch_app)
    assert printed() == Counter({j.attendee_id: 1 for j in rows}), output  # every badge out, none twice
    assert command.returncode == 0, output
    assert_moved_on(rows, waiting)


def assert_moved_on(rows: list[PrintJob], waiting: int) -> None:
    """Every job done: the first ones on the first queue, the waiting one and the rest on the failover queue."""
    assert [j.status for j in rows] == [PrintStatus.done] * BADGES, [(j.id, j.status, j.error) for j in rows]
    assert [j.printer for j in rows[:PRINTED_FIRST]] == [FIRST] * PRINTED_FIRST
    moved = next(j for j in rows if j.id == waiting)
    assert moved.printer == FAILOVER and moved.error.startswith(f"{FIRST}: "), moved.error  # says why it moved
    assert all(j.printer == FAILOVER for j in rows if j.id > waiting)


@pytest.mark.faults
@pytest.mark.cups
@pytest.mark.slow
def test_a_batch_from_the_printing_page_moves_on_to_the_next_printer_of_its_list(batch_app, fault_queues, long_job):
    """The same through the app's print worker (what kiosks use too), from the organizer's batch form."""
    client = batch_app.test_client()
    auth = AuthActions(client)
    auth.login()
    queued = auth.post("/admin/events/print-conf/printing", {"action": "batch", "printer": f"{FIRST}, {FAILOVER}",
                                                             "sort": "last_name"})
    assert queued.status_code == 302
    waiting, _ = remove_mid_batch(batch_app, "lpadmin -x", long_job)
    wait_until(lambda: all(j.status in (PrintStatus.done, PrintStatus.failed) for j in jobs(batch_app)), 60,
               "every badge of the batch to finish")
    rows = jobs(batch_app)
    assert printed() == Counter({j.attendee_id: 1 for j in rows})
    assert_moved_on(rows, waiting)


@pytest.mark.faults
@pytest.mark.cups
@pytest.mark.slow
@pytest.mark.parametrize("removal", ["lpadmin -x", "cupsdisable"])
def test_without_a_failover_printer_the_badges_left_fail_visibly_and_print_once_when_moved(batch_app, fault_queues,
                                                                                          long_job, removal):
    command = run_print_command(batch_app, FIRST)
    try:
        waiting, long_id = remove_mid_batch(batch_app, removal, long_job)
        output, _ = command.communicate(timeout=120)
    finally:
        command.kill()
    rows = jobs(batch_app)
    done, failed = [j for j in rows if j.id < waiting], [j for j in rows if j.id >= waiting]
    assert len(done) >= PRINTED_FIRST and command.returncode == 1 and f"{len(failed)} failed" in output, output
    assert all(j.status == PrintStatus.done for j in done), [(j.id, j.status, j.error) for j in done]
    assert all(j.status == PrintStatus.failed and FIRST in j.error for j in failed), [(j.id, j.error) for j in failed]
    assert "no other printer" in next(j for j in failed if j.id == waiting).error
    if removal == "cupsdisable":
        # The queue comes back: the long job prints, but no badge that was marked failed comes out behind it.
        _cmd("cupsenable", FIRST)
        wait_until(lambda: printing.job_status(long_id).state == "done", 60, "the long job")
    assert printed() == Counter({j.attendee_id: 1 for j in done})

    # The admin printing page shows each failed badge and why; moving them to the other printer prints each once.
    client = batch_app.test_client()
    auth = AuthActions(client)
    auth.login()
    page = client.get("/admin/events/print-conf/printing").get_data(as_text=True)
    for job in failed:
        assert f"<td>{job.id}</td>" in page and job.error.split(";")[0] in page
    for job in failed:
        assert auth.post("/admin/events/print-conf/printing",
                         {"action": "move", "job_id": job.id, "printer": FAILOVER}).status_code == 302
    wait_until(lambda: sum(j.status == PrintStatus.done for j in jobs(batch_app)) == BADGES, 60, "the moved badges")
    assert printed() == Counter({j.attendee_id: 1 for j in rows})

