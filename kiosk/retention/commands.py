"""`givetake purge`: delete contacts and leads of events past their retention period (a daily systemd timer)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from ..console import fail
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from ..models import utcnow
from .service import expires_at, purge_expired


def init_app(app: Flask) -> None:
    """Register `givetake purge`."""
    app.cli.add_command(purge_command)


@click.command("purge")
@click.option("--event", "slug", help="Only this event (its short name).")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@with_appcontext
def purge_command(slug: str | None, dry_run: bool) -> None:
    """Delete the contacts and leads of events whose retention period (days after the event) is over."""
    session = db.session
    now = utcnow()
    try:
        event = get_event(session, slug) if slug else None
    except DomainError as exc:
        fail(exc)
    done = purge_expired(session, now, slug=slug, dry_run=dry_run)
    if dry_run:
        session.rollback()
    else:
        session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    for name, (contacts, leads) in done.items():
        click.echo(f"{name}: {verb.lower()} {contacts} contacts and {leads} leads.")
    if event is not None and not done:
        click.echo(f"{event.slug}: kept until {expires_at(event):%Y-%m-%d %H:%M} UTC "
                   f"({event.retention_days} days after the event).")
    contacts = sum(c for c, _ in done.values())
    leads = sum(n for _, n in done.values())
    click.echo(f"{verb} {contacts} contacts and {leads} leads from {len(done)} expired "
               f"event{'s' if len(done) != 1 else ''}.")
