"""`givetake mail`: each attendee's summary PDF by mail, with a progress bar; resumable, never twice."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from ..console import fail
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from .mail import MailRun, MailServerError, SmtpSettings, send_summaries


def init_app(app: Flask) -> None:
    """Register `givetake mail`."""
    app.cli.add_command(mail_command)


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
