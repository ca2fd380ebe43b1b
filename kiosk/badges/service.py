"""Badges for attendees: what goes on them, PDFs, and print jobs sent to CUPS in the background.

A print is a `PrintJob` row first (queued), rendered in the request (tens of milliseconds), then handed after
commit to a worker thread that sends it to the first usable printer of the kiosk's list and follows it to done
or failed. A failed job keeps its reason and can be retried or moved to another printer from admin.

Jobs go one at a time, each followed until CUPS is done with it, so a queue that is removed or stopped mid-batch
strands one badge at most. That one moves to the next printer of the list if it never began printing; one that
had begun (some of it may have come out) is taken off the queue and marked failed, for staff to look and retry:
nothing waits unseen on a dead queue, and nothing prints twice on its own.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, selectinload

from ..attendees.service import rotate_badge_token
from ..cards.service import badge_lines
from ..db import Database, after_commit
from ..errors import Conflict
from ..concurrency import off_the_loop
from ..models import Attendee, CardKind, Device, Event, PrintJob, PrintStatus, utcnow
from ..personal import badge_url
from ..tokens import short_code
from .layouts import LAYOUTS, BadgeStyle, get_layout
from .printing import PrintError, cancel_job, job_status, print_with_failover
from .render import BadgeData, render_badges

log = logging.getLogger(__name__)

#: How long the worker follows a job in CUPS before leaving it as "sent".
FOLLOW_SECONDS = 120
SORTS = {"last_name": lambda a: (a.last_name.casefold(), a.first_name.casefold()),
         "first_name": lambda a: (a.first_name.casefold(), a.last_name.casefold()),
         "company": lambda a: (a.company.casefold(), a.last_name.casefold()),
         "ticket_type": lambda a: (a.ticket_type.casefold(), a.last_name.casefold())}


def badge_style(event: Event) -> BadgeStyle:
    """The event's badge look (colours per ticket type, accent, which fields show) over the defaults."""
    settings = dict(event.badge_style or {})
    style = BadgeStyle()
    if settings.get("band_colors"):
        style.band_colors = {**style.band_colors, **settings["band_colors"]}
    for key in ("default_band", "accent", "logo_path"):
        if settings.get(key):
            setattr(style, key, settings[key])
    if "show" in settings:
        style.show = frozenset(settings["show"])
    return style


def badge_data(attendee: Attendee, event: Event) -> BadgeData:
    """What the attendee's badge says; the QR holds `<public URL>/b/<badge token>` only."""
    offers, needs = badge_lines(attendee, CardKind.offer), badge_lines(attendee, CardKind.need)
    return BadgeData(first_name=attendee.first_name, full_name=attendee.full_name, company=attendee.company,
                     title=attendee.title, pronouns=attendee.pronouns, offer=offers[0] if offers else "",
                     need=needs[0] if needs else "", ticket_type=attendee.ticket_type,
                     qr_url=badge_url(attendee.badge_token, event), event_name=event.name,
                     offers=offers, needs=needs,
                     code=f"#{attendee.id} \u00b7 {short_code(attendee.badge_token)}")


def render_attendees(attendees: list[Attendee], event: Event, layout: str | None = None, *,
                     crop_marks: bool = False) -> bytes:
    """One PDF with these attendees' badges on the event's (or the given) layout.

    The drawing (15-20 ms a badge, 10 s for a batch of 1,000) runs off the event loop when serving on gevent, so
    kiosks and screens go on meanwhile; what it needs from the database is read here first.
    """
    badges = [badge_data(a, event) for a in attendees]
    return off_the_loop(render_badges, badges, layout or event.badge_layout, style=badge_style(event),
                        crop_marks=crop_marks, title=f"Badges · {event.name}")


def printers_for(device: Device | None) -> list[str]:
    """The CUPS queues to try for a device, in failover order (the kiosk's own, else the configured default)."""
    chosen = list(device.printers or []) if device is not None else []
    default = current_app.config.get("PRINTER")
    if default and default not in chosen:
        chosen.append(default)
    return chosen


def was_printed(session: Session, attendee: Attendee) -> bool:
    """True once a badge of this attendee reached a printer."""
    return session.scalar(select(PrintJob.id).where(
        PrintJob.attendee_id == attendee.id, PrintJob.status.in_([PrintStatus.sent, PrintStatus.done])).limit(1)) \
        is not None


def printed_or_on_its_way():
    """Print jobs that mean "this badge is taken care of": it reached a printer, or it waits for the print worker
    with a printer to go to. (A job queued without a printer waits for staff: its badge is not printed.)

    "Not printed yet" is the opposite. Counting only jobs that reached a printer made a second batch run, or a
    desk print while the first batch was still going out, queue the same badges again.
    """
    return or_(PrintJob.status.in_([PrintStatus.sent, PrintStatus.done]),
               and_(PrintJob.status == PrintStatus.queued, PrintJob.printer.is_not(None)))


class BadgeOnItsWay(Conflict):
    """A badge of this attendee waits for (or is at) a printer already: a second would be printed twice."""

    code = "badge_on_its_way"


class BadgePrintedAlready(Conflict):
    """Print was asked for a badge that was printed: a reprint (which replaces the old badge) must say so."""

    code = "badge_printed"


@dataclass
class BadgeState:
    """Where an attendee's badge stands, for the desk: printed, on its way (the job), and the newest job."""

    printed: bool = False
    pending: PrintJob | None = None
    last: PrintJob | None = None


def badge_states(session: Session, attendee_ids: list[int]) -> dict[int, BadgeState]:
    """The badge state of each of these attendees (one query), for a page of the attendee list."""
    states = {i: BadgeState() for i in attendee_ids}
    if not attendee_ids:
        return states
    for job in session.scalars(select(PrintJob).where(PrintJob.attendee_id.in_(attendee_ids)).order_by(PrintJob.id)):
        state = states[job.attendee_id]
        state.last = job
        state.printed |= job.status in (PrintStatus.sent, PrintStatus.done)
        if job.status == PrintStatus.queued and job.printer:
            state.pending = job
    return states


def print_badge(session: Session, attendee: Attendee, printers: list[str], *, reprint: bool = False) -> PrintJob:
    """Staff print one attendee's badge (at the desk): refused while one is on its way, and a badge that was
    printed needs `reprint`, which replaces it (the old badge stops working)."""
    pending = session.scalar(select(PrintJob).where(
        PrintJob.attendee_id == attendee.id, PrintJob.status == PrintStatus.queued, PrintJob.printer.is_not(None))
        .order_by(PrintJob.id.desc()).limit(1))
    if pending is not None:
        raise BadgeOnItsWay(f"{attendee.full_name}'s badge is on its way to {pending.printer} already "
                            f"(job {pending.id}).", details={"job_id": pending.id})
    if not reprint and was_printed(session, attendee):
        raise BadgePrintedAlready(f"{attendee.full_name}'s badge was printed already: Reprint replaces it.")
    return queue_badge_print(session, attendee, printers=printers)


def fail_abandoned_jobs(session: Session) -> int:
    """Mark as failed the jobs a previous server process queued and never sent (its print queue was in memory),
    so they show up to retry and count as not printed. For `givetake serve`, the one process of its instance."""
    return session.execute(update(PrintJob).where(PrintJob.status == PrintStatus.queued,
                                                  PrintJob.printer.is_not(None))
                           .values(status=PrintStatus.failed, updated_at=utcnow(),
                                   error="not sent: the server stopped before it got to it; retry it")).rowcount


def queue_badge_print(session: Session, attendee: Attendee, device: Device | None = None,
                      printers: list[str] | None = None) -> PrintJob:
    """Create a print job for the attendee's badge and send it once the transaction commits.

    A reprint of a badge that already reached a printer rotates the badge token: the old badge stops working.
    """
    event = session.get(Event, attendee.event_id)
    if was_printed(session, attendee):
        rotate_badge_token(session, attendee)
    targets = printers if printers is not None else printers_for(device)
    job, task = print_task(session, attendee, event, get_layout(event.badge_layout), targets)
    if targets:
        # What the badge says is read now; it is drawn after commit in the print worker, so the request never
        # holds the database's write lock while a badge is drawn.
        _after_commit(session, task)
    return job


def print_task(session: Session, attendee: Attendee, event: Event, layout, printers: list[str]
               ) -> tuple[PrintJob, "PrintTask"]:
    """A queued PrintJob row for the attendee's badge and the task that prints it (for `PrintWorker.send`)."""
    job = PrintJob(event_id=event.id, attendee_id=attendee.id, format=layout.name,
                   printer=printers[0] if printers else None, status=PrintStatus.queued,
                   error="" if printers else "no printer assigned: print it from admin or download the PDF")
    session.add(job)
    session.flush()
    return job, PrintTask(job.id, [badge_data(attendee, event)], layout.name, badge_style(event),
                          f"Badges · {event.name}", list(printers), layout.media, f"badge-{attendee.id}")


@dataclass
class PrintTask:
    """One badge on its way to CUPS: what it says (plain data), drawn by the worker."""

    job_id: int
    badges: list[BadgeData]
    layout: str
    style: BadgeStyle
    document_title: str
    printers: list[str]
    media: str | None
    title: str

    def render(self) -> bytes:
        """The PDF, drawn off the event loop when serving on gevent."""
        return off_the_loop(render_badges, self.badges, self.layout, style=self.style, title=self.document_title)


def _after_commit(session: Session, task: PrintTask) -> None:
    worker = current_app.extensions["givetake.printing"]
    after_commit(session, lambda: worker.submit(task))


class PrintWorker:
    """A background thread that sends print tasks to CUPS and records what became of them."""

    def __init__(self, database: Database):
        self.database = database
        self._queue: queue.Queue[PrintTask] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, task: PrintTask) -> None:
        self._queue.put(task)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="givetake-print", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                task = self._queue.get(timeout=30)
            except queue.Empty:
                return  # idle: the next submit starts a fresh thread
            try:
                self.send(task)
            except Exception:
                log.exception("print job %s crashed", task.job_id)
                self._record(task.job_id, status=PrintStatus.failed, error="internal error while printing")

    def send(self, task: PrintTask) -> PrintStatus:
        """Submit with failover and follow the job until CUPS is done with it; returns where it ended.

        A job its queue can no longer print (removed or stopped) goes on to the next printer of the task if it never
        began printing; if it had begun, it is taken off that queue and fails, saying so (see the module's doc).
        """
        if not self._still_queued(task.job_id):
            return PrintStatus.queued  # retried or moved while it waited: its new job prints it
        pdf = task.render()
        printers = list(task.printers)
        left: list[str] = []  # the printers this job was taken off, and why
        while True:
            try:
                printer, cups_job = print_with_failover(pdf, printers, title=task.title, media=task.media)
            except PrintError as exc:
                if left and not printers:
                    reasons = "no other printer to send it to: retry or move it"
                else:
                    reasons = "; ".join(f"{name}: {why}" for name, why in exc.reasons.items()) or str(exc)
                return self._record(task.job_id, status=PrintStatus.failed, error="; ".join([*left, reasons]))
            self._record(task.job_id, status=PrintStatus.sent, printer=printer, cups_job=cups_job,
                         error="; ".join(left))
            status, stranded = self._follow(task.job_id, cups_job, left)
            if not stranded:
                return status
            left.append(f"{printer}: {stranded} before this badge printed")
            printers.remove(printer)

    def _follow(self, job_id: int, cups_job: str, left: list[str]) -> tuple[PrintStatus, str]:
        """Poll CUPS until the job is done or failed (or FOLLOW_SECONDS pass): (status, why its queue can no
        longer print it when it never began printing and may go elsewhere, else "")."""
        deadline = time.monotonic() + FOLLOW_SECONDS
        began = False  # seen printing: CUPS may forget a job, we do not
        while time.monotonic() < deadline:
            try:
                state = job_status(cups_job)
            except PrintError as exc:
                self._record(job_id, error=str(exc))
                return PrintStatus.sent, ""
            began = began or state.started or state.state == "printing"
            if state.state == "done":
                return self._record(job_id, status=PrintStatus.done, error="; ".join(left)), ""
            if state.stranded and state.state in ("queued", "failed"):
                if state.state == "queued" and not _take_off(cups_job):
                    time.sleep(0.3)  # it finished or started meanwhile: look again
                    continue
                if not began:
                    return PrintStatus.queued, state.stranded
                why = (f"{cups_job.rpartition('-')[0]}: {state.stranded} while this badge was printing (taken off "
                       "the queue): check whether it came out, then retry or move it")
                return self._record(job_id, status=PrintStatus.failed, error="; ".join([*left, why])), ""
            if state.state == "failed":
                error = "; ".join([*left, state.reason or "failed in CUPS"])
                return self._record(job_id, status=PrintStatus.failed, error=error), ""
            if state.reason:
                self._record(job_id, error=state.reason)  # e.g. "not accepting jobs": staff should look
            time.sleep(0.3)
        return PrintStatus.sent, ""

    def _still_queued(self, job_id: int) -> bool:
        with self.database.transaction() as session:
            return session.scalar(select(PrintJob.status).where(PrintJob.id == job_id)) == PrintStatus.queued

    def _record(self, job_id: int, **changes) -> PrintStatus:
        with self.database.transaction() as session:
            job = session.get(PrintJob, job_id)
            for key, value in changes.items():
                setattr(job, key, value)
            job.updated_at = utcnow()
            return job.status


def _take_off(cups_job: str) -> bool:
    """Cancel a job waiting on a queue that cannot print it; True once CUPS says it is cancelled, not printing."""
    try:
        cancel_job(cups_job)
        return job_status(cups_job).state == "failed"
    except PrintError:
        return False  # CUPS finished it meanwhile, or does not answer


def init_app(app) -> None:
    """One print worker per process."""
    app.extensions["givetake.printing"] = PrintWorker(app.extensions["givetake.db"])


def retry_job(session: Session, job: PrintJob, printers: list[str]) -> PrintJob:
    """Send a failed or stuck job again (to the same or other printers), as a new job with the same badge."""
    attendee = session.scalar(select(Attendee).where(Attendee.id == job.attendee_id)
                              .options(selectinload(Attendee.cards)))
    job.status = PrintStatus.failed
    job.error = (job.error + "; " if job.error else "") + "retried as a new job"
    return queue_badge_print(session, attendee, printers=printers)


def job_message(job: PrintJob) -> str:
    """What the kiosk tells the attendee about their badge."""
    if job.status == PrintStatus.done:
        return f"Your badge is ready at {job.printer}."
    if job.status == PrintStatus.failed:
        return "The printer has a problem: staff will print your badge at the desk."
    if job.status == PrintStatus.sent:
        return f"Your badge is printing on {job.printer}."
    return "Your badge will be printed at the desk." if not job.printer else f"Sending your badge to {job.printer}…"


def attendees_for_batch(session: Session, event: Event, *, only_not_printed: bool = False,
                        sort: str = "last_name", checked_in_only: bool = False) -> list[Attendee]:
    """Who goes into a batch run before doors open, in the organizer's order."""
    stmt = (select(Attendee).where(Attendee.event_id == event.id, Attendee.erased_at.is_(None))
            .options(selectinload(Attendee.cards)))
    if checked_in_only:
        stmt = stmt.where(Attendee.checked_in_at.is_not(None))
    people = list(session.scalars(stmt))
    if only_not_printed:
        taken_care_of = set(session.scalars(select(PrintJob.attendee_id).where(
            PrintJob.event_id == event.id, printed_or_on_its_way())))
        people = [a for a in people if a.id not in taken_care_of]
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    return sorted(people, key=SORTS[sort])


def layout_choices() -> list[tuple[str, str]]:
    """(name, title) of every layout preset, for forms."""
    return [(name, layout.title) for name, layout in LAYOUTS.items()]
