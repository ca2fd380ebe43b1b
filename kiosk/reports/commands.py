"""`givetake report`: the organizer's PDF and every attendee's summary, with a progress bar."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from tqdm import tqdm

from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from . import render, service


def init_app(app: Flask) -> None:
    """Register `givetake report`."""
    app.cli.add_command(report_command)


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
