"""`givetake report` (the organizer's PDF and every attendee's summary) and `givetake mail` (each attendee's
summary by mail: resumable, never twice), with progress bars."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from ..console import fail
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from . import render, service
from .mail import MailRun, MailServerError, SmtpSettings, send_summaries


def init_app(app: Flask) -> None:
    """Register `givetake report` and `givetake mail`."""
    app.cli.add_command(report_command)
    app.cli.add_command(mail_command)


@click.command("report")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the organizer's report here.")
@click.option("--attendees", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Write every attendee's summary into this folder (<slug>-summary-<badge>.pdf).")
@with_appcontext
def report_command(slug: str, out: Path | None, folder: Path | None) -> None:
    """The post-event reports: the organizer's (--out) and one per attendee who came (--attendees)."""
    if out is None and folder is None:
        raise click.UsageError("Say what to write: --out FILE.pdf, --attendees DIR, or both.")
    session = db.session
    try:
        event = get_event(session, slug)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    if out is not None:
        started = time.perf_counter()
        click.echo("Counting...", err=True)
        figures = service.event_figures(session, event)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(render.organizer_report(figures))
        click.echo(f"Wrote the organizer's report to {out} ({figures.checked_in} of {figures.registered} came, "
                   f"{figures.suggested} matches, {figures.contact_pairs} contacts) in "
                   f"{time.perf_counter() - started:.1f} s.")
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        count = service.present_count_for_summaries(session, event)
        written = 0
        with tqdm(total=count, desc="Attendee summaries", unit="pdf", file=sys.stderr) as bar:
            for summary in service.summaries(session, event):
                (folder / f"{event.slug}-summary-{summary.me.id}.pdf").write_bytes(render.attendee_pdf(summary))
                written += 1
                bar.update(1)
        click.echo(f"Wrote {written} attendee summaries to {folder}.")


@click.command("mail")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--retry-unknown", is_flag=True,
              help="Also resend the summaries whose earlier run died while sending them (they may have arrived).")
@click.option("--dry-run", is_flag=True, help="Render and count every message; send nothing, write nothing.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Send at most this many in this run.")
@with_appcontext
def mail_command(slug: str, retry_unknown: bool, dry_run: bool, limit: int | None) -> None:
    """Mail each attendee who came their summary PDF (GIVETAKE_SMTP_*). Run it again to resume: nobody gets it
    twice."""
    smtp = SmtpSettings.from_config(current_app.config)
    if smtp is None and not dry_run:
        fail("No mail server is configured: set GIVETAKE_SMTP_HOST and GIVETAKE_SMTP_FROM (and GIVETAKE_SMTP_USER, "
             "GIVETAKE_SMTP_PASSWORD, GIVETAKE_SMTP_SECURITY as your provider says), then run this again.")
    try:
        event = get_event(db.session, slug)
    except DomainError as exc:
        fail(exc)
    db.session.rollback()  # the run works on its own sessions
    if smtp is None:
        click.echo("No mail server is configured: this dry run only renders the messages.")
    bar = tqdm(desc="Rendering summaries" if dry_run else "Mailing summaries", unit="attendee", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        run = send_summaries(db.database, event, smtp=smtp, progress=progress, retry_unknown=retry_unknown,
                             limit=limit, dry_run=dry_run)
    except MailServerError as exc:
        fail(str(exc))
    finally:
        bar.close()
    _report(run, slug, limit)
    if run.stopped or run.failed:
        sys.exit(1)


def _report(run: MailRun, slug: str, limit: int | None) -> None:
    resume = f"givetake mail --event {slug}"
    if run.dry_run:
        click.echo(f"Dry run: {run.sent} summaries would be sent; nothing was sent or written.")
    else:
        click.echo(f"Sent {run.sent} summaries in this run ({run.total} attendees came).")
    if run.already_sent:
        click.echo(f"  {run.already_sent} had theirs already (not sent again).")
    if run.skipped:
        click.echo(f"  Skipped {run.skipped}: {run.skipped_no_email} without a usable email address, "
                   f"{run.skipped_erased} erased on request.")
    if run.failed:
        click.secho(f"  Failed {len(run.failed)}:", fg="red")
        for attendee_id, reason in list(run.failed.items())[:10]:
            click.echo(f"    badge #{attendee_id}: {reason}")
        if len(run.failed) > 10:
            click.echo(f"    ... and {len(run.failed) - 10} more (admin → the event's page counts them).")
    if run.unknown:
        ids = ", ".join(f"#{i}" for i in run.unknown[:20]) + (" ..." if len(run.unknown) > 20 else "")
        click.secho(f"  Unknown {len(run.unknown)} ({ids}): a run stopped while handing them to the mail server, so "
                    "they may have arrived. Check the mail server's log for their Message-ID, then resend them "
                    f"with: {resume} --retry-unknown", fg="yellow")
    if run.busy:
        click.echo(f"  {run.busy} were being sent by another run at the same time.")
    if run.left:
        click.echo(f"  {run.left} not tried yet" + (" (the limit)" if limit and not run.stopped else "") + ".")
    if run.stopped:
        click.secho(f"Stopped: {run.stopped}.", fg="red", err=True)
    if not run.dry_run and (run.stopped or run.failed or run.left):
        click.echo(f"To resume (sends only those not sent yet): {resume}")
