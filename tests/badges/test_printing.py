"""Printing over IPP through a real CUPS with cups-pdf queues (fixture in conftest)."""
from __future__ import annotations

import http.server
import threading

import pytest
from pypdf import PdfReader

from kiosk.badges import ipp, printing
from kiosk.badges.layouts import LAYOUTS
from kiosk.badges.printing import (PrintError, cups_server, job_status, list_printers, print_with_failover,
                                   submit_job)
from kiosk.badges.render import render_badges
from tests.badges.conftest import _cmd, decode_qrs, make_badges, rasterize, wait_until
from tests.livesrv import free_port


def test_submit_refuses_what_is_not_a_pdf_or_a_queue_name():
    with pytest.raises(PrintError):
        submit_job(b"hello", "Front", title="x")
    for name in ("-o evil", "a b", "a/b", "", "x\x00y"):
        with pytest.raises(PrintError, match="not a CUPS queue name"):
            submit_job(b"%PDF-1.4", name, title="x")


@pytest.mark.parametrize("value, expected", [
    ("", ("localhost", 631, None)),
    ("print.example.org", ("print.example.org", 631, None)),
    ("127.0.0.1:8631", ("127.0.0.1", 8631, None)),
    ("[::1]:8631", ("::1", 8631, None)),
    ("localhost/version=1.1", ("localhost", 631, None)),
    ("/run/cups/cups.sock", ("localhost", 631, "/run/cups/cups.sock")),
])
def test_cups_server_is_read_as_cups_reads_it(value, expected):
    server = cups_server({"CUPS_SERVER": value})
    assert (server.host, server.port, server.socket_path) == expected


def test_titles_lose_control_characters_and_are_kept_short():
    assert printing._clean_title("badge\x1b[31m <Ana>\r\n\t\x7f") == "badge [31m <Ana>"
    assert printing._clean_title("\x00\x07") == "badge"
    long = printing._clean_title("山" * 500)
    assert len(long.encode()) <= 255 and set(long) == {"山"}


def test_no_scheduler_listening_is_a_clear_print_error(monkeypatch):
    port = free_port()
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{port}")
    for call in (list_printers, lambda: job_status("Front-1"), lambda: printing.cancel_job("Front-1"),
                 lambda: submit_job(b"%PDF-1.4", "Front", title="x")):
        with pytest.raises(PrintError, match=r"the CUPS scheduler \(cupsd\) is not running") as caught:
            call()
        assert f"127.0.0.1:{port}" in str(caught.value)
    with pytest.raises(PrintError) as caught:
        print_with_failover(b"%PDF-1.4", ["Front"], title="x")
    assert "cupsd) is not running" in str(caught.value)


def test_a_socket_path_with_nobody_behind_it_is_the_same_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CUPS_SERVER", str(tmp_path / "cups.sock"))
    with pytest.raises(PrintError, match=r"cupsd\) is not running"):
        list_printers()


class _NotCups(http.server.BaseHTTPRequestHandler):
    """Answers POST / with a 404 and POST /broken with half an IPP message."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/broken":
            body = ipp.encode_response(0, 1, [ipp.operation_attributes()])[:-9]
            self.send_response(200)
            self.send_header("Content-Type", "application/ipp")
        else:
            body = b"not here"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_cups(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotCups)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CUPS_SERVER", f"127.0.0.1:{server.server_port}")
    yield server
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_cups_is_a_print_error_not_a_trace(not_cups):
    with pytest.raises(PrintError, match="answered HTTP 404"):
        list_printers()
    with printing._Cups() as cups, pytest.raises(PrintError, match="sent a broken answer: IPP message truncated"):
        cups.call("/broken", ipp.CUPS_GET_PRINTERS)


@pytest.mark.cups
def test_list_printers_sees_the_queues_their_state_and_the_default(queues):
    first, second = queues.queues
    _cmd("lpadmin", "-d", second)
    _cmd("cupsdisable", "-r", "Out of labels", first)
    printers = {p.name: p for p in list_printers()}
    assert printers[first].state == "stopped" and not printers[first].usable
    assert printers[first].reason == "stopped: Out of labels"
    assert printers[first].accepting
    assert printers[second].state == "idle" and printers[second].usable and printers[second].reason == ""
    assert printers[second].is_default and not printers[first].is_default
    for queue in queues.queues:
        assert printers[queue].info.startswith("Give & Take test queue")


@pytest.mark.cups
def test_a_rejecting_queue_says_so(queues):
    first = queues.queues[0]
    _cmd("cupsreject", "-r", "Closed for the break", first)
    printer = {p.name: p for p in list_printers()}[first]
    assert printer.state == "idle" and not printer.accepting and not printer.usable
    assert printer.reason == "not accepting jobs: Closed for the break"


@pytest.mark.cups
def test_the_scheduler_is_reached_through_its_local_socket_too(queues, monkeypatch):
    monkeypatch.setenv("CUPS_SERVER", "/run/cups/cups.sock")
    assert set(queues.queues) <= {p.name for p in list_printers()}


@pytest.mark.cups
@pytest.mark.slow
@pytest.mark.parametrize("layout", ["label-4x3", "cr80"])
def test_a_badge_printed_through_cups_comes_out_right(layout, queues, tmp_path):
    badges = make_badges(2)
    preset = LAYOUTS[layout]
    job = submit_job(render_badges(badges, layout), queues.queues[0], title=f"badge <{layout}>",
                     media=preset.media)
    assert job.startswith(queues.queues[0] + "-")
    wait_until(lambda: job_status(job).state == "done", 60, f"{job} to finish")
    written = queues.output_of(job)
    reader = PdfReader(written)
    assert len(reader.pages) == 2
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(preset.page_size, abs=1.0)
    pages = rasterize(written.read_bytes(), tmp_path, dpi=150, name="cups")
    assert [decode_qrs(p) for p in pages] == [[b.qr_url] for b in badges]


@pytest.mark.cups
def test_a_job_is_followed_to_done_with_its_title_and_copies(queues):
    job = submit_job(render_badges(make_badges(1), "cr80"), queues.queues[1], title="Badge\x1b Zoë",
                     media="Custom.85.6x54mm", copies=2)
    states = set()
    wait_until(lambda: states.add(job_status(job).state) or "done" in states, 60, f"{job} to finish")
    assert states <= {"queued", "printing", "done"}
    assert queues.output_of(job).name.startswith("Badge")  # cups-pdf names the file after the job-name


@pytest.mark.cups
def test_a_missing_queue_is_a_print_error(queues):
    with pytest.raises(PrintError, match="NoSuchQueue: .*does not exist"):
        submit_job(render_badges(make_badges(1), "cr80"), "NoSuchQueue", title="x")


@pytest.mark.cups
@pytest.mark.slow
def test_a_stopped_queue_fails_over_to_the_next(queues):
    first, second = queues.queues
    _cmd("cupsdisable", "-r", "Out of labels", first)
    printer, job = print_with_failover(render_badges(make_badges(1), "label-4x3"), [first, second],
                                       title="failover", media="Custom.4x3in")
    assert (printer, job.rpartition("-")[0]) == (second, second)
    wait_until(lambda: job_status(job).state == "done", 60, f"{job} to finish")
    assert queues.output_of(job).stat().st_size > 0


@pytest.mark.cups
def test_a_rejecting_queue_is_skipped(queues):
    first, second = queues.queues
    _cmd("cupsreject", first)
    printer, job = print_with_failover(render_badges(make_badges(1), "cr80"), ["NoSuchQueue", first, second],
                                       title="failover", media="Custom.85.6x54mm")
    assert printer == second
    wait_until(lambda: job_status(job).state == "done", 60, f"{job} to finish")


@pytest.mark.cups
def test_all_queues_stopped_raises_with_every_reason(queues):
    first, second = queues.queues
    _cmd("cupsdisable", "-r", "Paper jam", first)
    _cmd("cupsdisable", "-r", "Out of labels", second)
    with pytest.raises(PrintError) as caught:
        print_with_failover(render_badges(make_badges(1), "label-4x3"), [first, second, "NoSuchQueue"],
                            title="nowhere")
    reasons = caught.value.reasons
    assert reasons[first] == "stopped: Paper jam"
    assert reasons[second] == "stopped: Out of labels"
    assert reasons["NoSuchQueue"] == "no such CUPS queue"
    assert "Paper jam" in str(caught.value) and "Out of labels" in str(caught.value)


@pytest.mark.cups
def test_a_job_on_a_stopped_queue_stays_queued_then_fails_when_cancelled(queues):
    first = queues.queues[0]
    _cmd("cupsdisable", "-r", "Lid open", first)
    job = submit_job(render_badges(make_badges(1), "cr80"), first, title="held")
    status = job_status(job)
    assert status.state == "queued" and "Lid open" in status.reason
    printing.cancel_job(job)
    wait_until(lambda: job_status(job).state == "failed", 30, f"{job} to be cancelled")
    assert "cancel" in job_status(job).reason
    assert job_status(job).details["ipp_state"] == "canceled"


@pytest.mark.cups
def test_unknown_job_is_failed_not_an_exception(queues):
    status = job_status(f"{queues.queues[0]}-999999")
    assert status.state == "failed" and "no job" in status.reason
    with pytest.raises(PrintError, match="not a CUPS job id"):
        job_status("no-number-here")


@pytest.mark.cups
def test_cancelling_an_unknown_job_is_a_print_error(queues):
    with pytest.raises(PrintError, match="cancel .*-999999"):
        printing.cancel_job(f"{queues.queues[0]}-999999")
