"""What every `givetake` command shares: failing with a clear message, and saying where things are."""
from __future__ import annotations

import sys

import click
from flask import current_app

from .errors import DomainError


def fail(exc: DomainError | str) -> None:
    """Print the error in red on stderr and exit 1."""
    click.secho(f"Error: {getattr(exc, 'message', exc)}", fg="red", err=True)
    sys.exit(1)


def migrate_database() -> str:
    """Upgrade the configured database to the newest schema; returns the revision."""
    from . import schema
    url = current_app.config["DATABASE_URL"]
    schema.upgrade(url)
    return schema.current_revision(url)


def describe_db() -> str:
    """The database as a person reads it (no password)."""
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        return f"SQLite {url.split(':///', 1)[-1]}"
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def base_url() -> str:
    """The address printed in QR codes (or the laptop default)."""
    return current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"


def print_urls(slug: str, base: str | None = None) -> None:
    """Where an event's kiosk, screen and admin are."""
    base = base or base_url()
    rules = {rule.endpoint for rule in current_app.url_map.iter_rules()}
    click.echo(f"  Event '{slug}':")
    if "kiosk.start" in rules:
        click.echo(f"    Kiosk:   {base}/kiosk")
    if "screen.show" in rules:
        click.echo(f"    Screen:  {base}/screen/{slug}")
    click.echo(f"    Admin:   {base}/admin/events/{slug}")
    if "devices.devices" in rules:
        click.echo(f"    A tablet or TV shows a pairing screen first: pair it in {base}/admin/events/{slug}/devices "
                   "(or click 'Use this browser' there).")
