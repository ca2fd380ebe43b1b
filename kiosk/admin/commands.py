"""The organizer's set-up commands: `givetake init` (database and first account), `demo` and `doctor` (the
ready-for-doors check, kiosk.admin.readiness)."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask import Flask, current_app
from sqlalchemy import select
from tqdm import tqdm

from ..auth.service import create_organizer
from ..console import base_url, describe_db, fail, migrate_database, print_urls
from ..db import db
from ..demo import DEMO_SLUG, add_demo_networking, create_demo_event, ensure_demo_organizer, load_demo_login
from ..errors import DomainError
from ..events.service import get_event
from ..models import Event, Organizer
from .readiness import check_readiness


def init_app(app: Flask) -> None:
    """Register the set-up commands."""
    for command in (init_command, demo_command, doctor_command):
        app.cli.add_command(command)


@click.command("init")
@click.option("--email", help="Email of the first organizer account.")
@click.option("--password", help="Its password (prompted for when omitted on a terminal).")
@click.option("--name", default="", help="The organizer's name.")
@with_appcontext
def init_command(email: str | None, password: str | None, name: str) -> None:
    """Create or upgrade the database, and the first organizer account."""
    revision = migrate_database()
    click.echo(f"Database ready at revision {revision} ({describe_db()}).")
    session = db.session
    if session.scalar(select(Organizer.id).limit(1)) is not None and not email:
        click.echo("Organizer accounts exist already; add another with --email.")
        return
    if not email:
        if not sys.stdin.isatty():
            click.echo("No organizer account yet: run `givetake init --email you@example.org` to create one.")
            return
        email = click.prompt("Organizer email")
    if not password:
        password = click.prompt("Password (10 characters or more)", hide_input=True, confirmation_prompt=True)
    try:
        create_organizer(session, email, password, name=name)
        session.commit()
    except DomainError as exc:
        session.rollback()
        fail(exc)
    click.echo(f"Organizer {email.strip().lower()} created. Log in at {base_url()}/login")


@click.command("demo")
@click.option("--attendees", default=300, show_default=True, help="How many demo attendees.")
@click.option("--if-missing", is_flag=True, help="Do nothing (but print the URLs) when the demo event exists.")
@click.option("--networking", is_flag=True,
              help="Also what a finished event leaves: matches, contacts, a round, sponsor leads (to try reports).")
@with_appcontext
def demo_command(attendees: int, if_missing: bool, networking: bool) -> None:
    """Create the demo event (initializing the database if needed) and print where to open it."""
    migrate_database()
    session = db.session
    existing = session.scalar(select(Event).where(Event.slug == DEMO_SLUG))
    login = load_demo_login(current_app.instance_path)
    if existing is not None and if_missing and login:
        click.echo(f"The demo event exists already ({len(existing.attendees)} attendees).")
    else:
        if existing is not None:
            click.echo("Replacing the existing demo event.")
            session.delete(existing)
            session.flush()
        with tqdm(total=attendees, desc="Creating demo attendees", unit="person", file=sys.stderr) as bar:
            event = create_demo_event(session, attendees=attendees, progress=bar.update)
        if networking:
            made = add_demo_networking(session, event)
            click.echo(f"Added {made['matches']} matches, {made['contacts']} badge scans and {made['leads']} "
                       "sponsor leads.")
        login = ensure_demo_organizer(session, current_app.instance_path)
        session.commit()
        click.echo(f"Demo event created with {attendees} attendees.")
    print_urls(DEMO_SLUG)
    click.echo(f"  Demo login:  {login[0]}  /  {login[1]}")


#: How doctor marks each check: fine, to look at, to fix (a fix makes it exit 1).
MARKS = {"ok": "ok", "warn": "??", "fail": "!!"}


@click.command("doctor")
@click.option("--event", "slug", help="Check this event's kiosks, screens and printers (default: the events on now).")
@with_appcontext
def doctor_command(slug: str | None) -> None:
    """Ready for doors? Check the database, the public URL and LAN, kiosks, printers, the matcher model, disk
    space and backups, and say what to fix (exit 1 when something must be fixed)."""
    session = db.session
    try:
        event = get_event(session, slug) if slug else None
    except DomainError as exc:
        fail(exc)
    result = check_readiness(session, event)
    for check in result.checks:
        click.echo(f"  [{MARKS[check.status]}] {check.name}: {check.detail}")
        if check.todo and check.status != "ok":
            click.echo(f"       -> {check.todo}")
    warned, failed = result.count("warn"), result.count("fail")
    click.echo(f"{failed} to fix (!!), {warned} to look at (??)." if failed or warned else "Ready for doors.")
    sys.exit(1 if failed else 0)
