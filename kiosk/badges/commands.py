"""`givetake badges` (a PDF of many badges) and `givetake print` (send them to a CUPS queue), with progress bars."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask import Flask, current_app
from tqdm import tqdm

from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from ..models import PrintStatus
from . import service
from .layouts import LAYOUTS

def init_app(app: Flask) -> None:
    """Register `givetake badges` and `givetake print`."""
    app.cli.add_command(badges_command)
    app.cli.add_command(print_command)


#: Badges rendered per PDF chunk: keeps memory flat and the progress bar moving on a 1,000-badge run.
CHUNK = 60


def _batch_options(command):
    command = click.option("--event", "slug", required=True, help="The event's short name.")(command)
    command = click.option("--layout", type=click.Choice(sorted(LAYOUTS)), default=None,
                           help="Badge stock (default: the event's layout).")(command)
    command = click.option("--only-not-printed", is_flag=True, help="Skip badges that reached a printer.")(command)
    command = click.option("--sort", type=click.Choice(sorted(service.SORTS)), default="last_name",
                           show_default=True)(command)
    return command


def _people(slug: str, only_not_printed: bool, sort: str):
    session = db.session
    event = get_event(session, slug)
    people = service.attendees_for_batch(session, event, only_not_printed=only_not_printed, sort=sort)
    if not people:
        raise click.ClickException("No badges to make (everyone printed already?).")
    return session, event, people


@click.command("badges")
@_batch_options
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="PDF file to write.")
@click.option("--crop-marks", is_flag=True, help="Crop marks on sheet layouts.")
@with_appcontext
def badges_command(slug, layout, only_not_printed, sort, out: Path, crop_marks: bool):
    """Render badges into one PDF, e.g. to print on sheets before doors open."""
    try:
        session, event, people = _people(slug, only_not_printed, sort)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    chunks = []
    with tqdm(total=len(people), desc="Rendering badges", unit="badge", file=sys.stderr) as bar:
        for start in range(0, len(people), CHUNK):
            part = people[start:start + CHUNK]
            chunks.append(service.render_attendees(part, event, layout, crop_marks=crop_marks))
            bar.update(len(part))
    out.write_bytes(_merge(chunks))
    click.echo(f"Wrote {len(people)} badges to {out}.")


def _merge(chunks: list[bytes]) -> bytes:
    if len(chunks) == 1:
        return chunks[0]
    import io
    from pypdf import PdfWriter
    writer = PdfWriter()
    for chunk in chunks:
        writer.append(io.BytesIO(chunk))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@click.command("print")
@_batch_options
@click.option("--printer", "printers", multiple=True, required=True,
              help="CUPS queue; repeat for failover (the next is used when one is stopped or removed).")
@with_appcontext
def print_command(slug, layout, only_not_printed, sort, printers):
    """Send badges to a printer one job each (so a jam costs one badge), following each until it is printed."""
    try:
        session, event, people = _people(slug, only_not_printed, sort)
    except DomainError as exc:
        raise click.ClickException(exc.message)
    chosen = LAYOUTS[layout] if layout else LAYOUTS[event.badge_layout]
    # The print worker's own path, run here in turn: a badge is sent after the one before it is out, so a queue
    # that goes away mid-batch strands one badge at most, and that one moves on or fails saying why.
    worker = current_app.extensions["givetake.printing"]
    failed = 0
    with tqdm(total=len(people), desc=f"Printing on {printers[0]}", unit="badge", file=sys.stderr) as bar:
        for attendee in people:
            _, task = service.print_task(session, attendee, event, chosen, list(printers))
            session.commit()
            failed += worker.send(task) == PrintStatus.failed
            bar.update(1)
    click.echo(f"Sent {len(people) - failed} badges; {failed} failed (see admin → Printing to retry).")
    if failed:
        sys.exit(1)
