"""`givetake backup`: copy the database while the server runs, once or every few minutes, e.g. to a USB stick."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from ..console import describe_db, fail
from ..db import db
from ..models import Event
from .service import (BackupError, backup_sqlite, destination, label_of, pg_dump_command, record, rotate,
                      sqlite_path)


def init_app(app: Flask) -> None:
    """Register `givetake backup`."""
    app.cli.add_command(backup_command)


@click.command("backup")
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option("--every", type=click.FloatRange(min=0, min_open=True), metavar="MINUTES",
              help="Keep going: another backup every MINUTES minutes until stopped (Ctrl-C).")
@click.option("--keep", type=click.IntRange(min=1), metavar="K",
              help="In a folder, keep only the K newest backups of this event (older ones are deleted).")
@click.option("--count", type=click.IntRange(min=1), metavar="N", help="With --every: stop after N backups.")
@click.option("--event", "slug", help="Name the files after this event (default: the newest event).")
@with_appcontext
def backup_command(target: Path | None, every: float | None, keep: int | None, count: int | None,
                   slug: str | None) -> None:
    """Copy the database to TARGET, a file or a folder (default: backups/ in the instance folder).

    Safe while `givetake serve` runs and writes. In a folder each backup is named after the event and the time,
    e.g. /media/usb/summit-20261203-085500.sqlite3; it is written under a temporary name and renamed when whole.
    """
    if count and not every:
        raise click.UsageError("--count goes with --every.")
    instance = current_app.instance_path
    if target is None:
        target = Path(instance) / "backups"
        target.mkdir(exist_ok=True)
    if keep and not target.is_dir():
        raise click.UsageError("--keep needs a folder as TARGET (each backup then gets its own file).")
    label = label_of(slug or _newest_event())
    url = current_app.config["DATABASE_URL"]
    source = sqlite_path(url)
    if source is None:
        click.secho(f"{describe_db()} is not a file this command can copy: back PostgreSQL up with pg_dump, e.g.",
                    fg="yellow", err=True)
        click.echo(f"  {pg_dump_command(url, target, label, datetime.now(timezone.utc))}")
        click.echo("(It asks for the password, or reads PGPASSWORD or ~/.pgpass; restore with pg_restore.)")
        sys.exit(1)
    made = 0
    next_at = time.monotonic()
    try:
        while True:
            try:
                _one_backup(source, target, label, keep, instance)
            except BackupError as exc:
                record(instance, error=str(exc))
                if not every or made == 0:
                    fail(exc)  # a target that does not work at the start is a mistake to fix now
                click.secho(f"Error: {exc} (trying again in {every:g} min)", fg="red", err=True)
            made += 1
            if not every or (count and made >= count):
                return
            next_at += every * 60
            wait = max(0.0, next_at - time.monotonic())
            at = (datetime.now() + timedelta(seconds=wait)).strftime("%H:%M:%S")
            click.echo(f"Next backup at {at} (Ctrl-C stops).")
            time.sleep(wait)
    except KeyboardInterrupt:
        click.echo("Stopped.")


def _newest_event() -> str | None:
    """The slug of the newest event, to name the files; None on an empty (or not yet created) database."""
    try:
        return db.session.scalar(select(Event.slug).order_by(Event.starts_at.desc().nulls_last(), Event.id.desc())
                                 .limit(1))
    except SQLAlchemyError:
        return None
    finally:
        db.session.close()


def _one_backup(source: str, target: Path, label: str, keep: int | None, instance: str) -> None:
    final, in_folder = destination(target, label, datetime.now(timezone.utc))
    # A bar on a terminal; nothing in a log file (disable=None).
    with tqdm(desc=f"Backing up to {final.name}", unit="B", unit_scale=True, file=sys.stderr, leave=False,
              disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)
        result = backup_sqlite(source, final, progress)
    removed = rotate(final.parent, label, keep) if keep and in_folder else []
    record(instance, result)
    kept = f"; removed {len(removed)} older" if removed else ""
    click.echo(f"Backup written: {result.path} ({result.bytes / 1_000_000:.1f} MB in {result.seconds:.1f} s{kept}).")
