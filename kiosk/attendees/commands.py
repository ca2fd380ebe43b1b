"""`givetake import` and `givetake export`: attendee lists as CSV."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask import Flask
from tqdm import tqdm

from ..console import fail
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from .csv_export import export_csv
from .csv_import import FORMATS, import_attendees, parse


def init_app(app: Flask) -> None:
    """Register the CSV commands."""
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto",
              show_default=True)
@with_appcontext
def import_command(file: Path, slug: str, fmt: str) -> None:
    """Import attendees from a CSV file (all or nothing)."""
    session = db.session
    data = file.read_bytes()
    try:
        event = get_event(session, slug)
        _, rows, *_ = parse(data, None if fmt == "auto" else fmt)
        with tqdm(total=len(rows), desc=f"Importing {file.name}", unit="row", file=sys.stderr) as bar:
            report = import_attendees(session, event, data, None if fmt == "auto" else fmt,
                                      progress=lambda done: bar.update(done - bar.n))
        session.commit()
    except DomainError as exc:
        session.rollback()
        fail(exc)
    click.echo(f"Imported into {slug}: {report.summary()}.")


@click.command("export")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
def export_command(slug: str, out: Path | None) -> None:
    """Export attendees and their cards as CSV (safe against spreadsheet formulas)."""
    try:
        with db.database.reader() as session:
            payload = export_csv(session, get_event(session, slug))
    except DomainError as exc:
        fail(exc)
    if out:
        out.write_bytes(payload)
        click.echo(f"Wrote {out}.", err=True)
    else:
        sys.stdout.buffer.write(payload)
