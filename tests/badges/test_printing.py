"""Printing through a real CUPS with cups-pdf queues (fixture in conftest), plus lpstat parsing on canned output."""
from __future__ import annotations

import subprocess

import pytest
from pypdf import PdfReader

from kiosk.badges import printing
from kiosk.badges.layouts import LAYOUTS
from kiosk.badges.printing import (PrintError, Printer, job_status, list_printers, parse_lpstat,
                                   print_with_failover, submit_job)
from kiosk.badges.render import render_badges
from tests.badges.conftest import _cmd, decode_qrs, make_badges, rasterize, wait_until

LPSTAT = """\
printer Front is idle.  enabled since Thu Nov 26 03:41:16 2026
\tForm mounted:
\tContent types: any
\tDescription: Front desk Zebra
\tAlerts: none
\tBanner required
printer Back now printing Back-7.  enabled since Thu Nov 26 03:41:16 2026
\tDescription: Back office
printer Jammed disabled since Thu Nov 26 03:41:22 2026 -
\tPaper jam in tray 2
\tForm mounted:
\tDescription: Hall B
printer Full is idle.  enabled since Thu Nov 26 03:41:16 2026
Front accepting requests since Thu Nov 26 03:41:16 2026
Back accepting requests since Thu Nov 26 03:41:16 2026
Jammed accepting requests since Thu Nov 26 03:41:16 2026
Full not accepting requests since Thu Nov 26 03:41:22 2026 -
\tRejecting Jobs
system default destination: Back
"""


def test_parse_lpstat_reads_state_acceptance_default_and_reasons():
    printers = {p.name: p for p in parse_lpstat(LPSTAT)}
    assert printers["Front"] == Printer("Front", "idle", True, False, "Front desk Zebra", "")
    assert printers["Back"].state == "printing" and printers["Back"].is_default
    assert printers["Jammed"].state == "stopped" and printers["Jammed"].reason == "stopped: Paper jam in tray 2"
    assert not printers["Jammed"].usable
    assert printers["Full"].accepting is False and printers["Full"].reason == "not accepting jobs: Rejecting Jobs"
    assert [p.name for p in parse_lpstat("no system default destination\n")] == []


def test_missing_cups_client_is_a_print_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PrintError, match="not found"):
        list_printers()


def test_submit_refuses_what_is_not_a_pdf_or_a_queue_name():
    with pytest.raises(PrintError):
        submit_job(b"hello", "Front", title="x")
    with pytest.raises(PrintError):
        submit_job(b"%PDF-1.4", "-o evil", title="x")


@pytest.mark.cups
def test_list_printers_sees_the_test_queues(queues):
    printers = {p.name: p for p in list_printers()}
    for queue in queues.queues:
        assert printers[queue].usable
        assert printers[queue].info.startswith("Give & Take test queue")


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


@pytest.mark.cups
def test_unknown_job_is_failed_not_an_exception(queues):
    assert job_status(f"{queues.queues[0]}-999999").state == "failed"


@pytest.mark.cups
def test_lpstat_fallback_without_ipptool(queues, monkeypatch):
    monkeypatch.setattr(printing, "_ipp_job_state", lambda job_id: None)
    job = submit_job(render_badges(make_badges(1), "cr80"), queues.queues[0], title="fallback")
    wait_until(lambda: job_status(job).state == "done", 60, f"{job} to finish")
    assert subprocess.run(["lpstat", "-W", "completed", "-o"], capture_output=True, text=True).stdout.count(job)
