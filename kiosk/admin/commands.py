"""The organizer's set-up commands: `givetake init` (database and first account), `demo` and `doctor`."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask import Flask, current_app
from sqlalchemy import select, text
from tqdm import tqdm

from .. import schema
from ..auth.service import create_organizer
from ..badges.printing import PrintError, cups_reachable
from ..concurrency import configured_async_mode
from ..console import base_url, describe_db, fail, migrate_database, print_urls
from ..db import db
from ..demo import DEMO_SLUG, add_demo_networking, create_demo_event, ensure_demo_organizer, load_demo_login
from ..errors import DomainError
from ..models import Event, Organizer
from ..personal import lan_address, public_url_problem


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


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check the database, Redis, printers and the matcher model, and say what to fix."""
    ok = True

    def report(name: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok &= good
        click.echo(f"  [{'ok' if good else '!!'}] {name}: {detail}")

    url = current_app.config["DATABASE_URL"]
    try:
        with db.database.reader() as session:
            session.execute(text("SELECT 1"))
        rev = schema.current_revision(url)
        report("database", rev == schema.head_revision(),
               f"{describe_db()}, schema {rev or 'empty'}" + ("" if rev == schema.head_revision()
                                                              else " (run `givetake init`)"))
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        report("database", False, f"{describe_db()}: {exc}")
    redis_url = current_app.config.get("REDIS_URL")
    if redis_url:
        try:
            import redis
            redis.Redis.from_url(redis_url, socket_timeout=2).ping()
            report("redis", True, redis_url)
        except Exception as exc:
            report("redis", False, f"{redis_url}: {exc}")
    else:
        report("redis", True, "not configured (one process: fine on a laptop)")
    problem = public_url_problem()
    lan = lan_address()
    report("public URL", problem is None, current_app.config["PUBLIC_URL"] if problem is None else
           problem + (f" Probably: GIVETAKE_PUBLIC_URL=http://{lan}:5000" if lan else ""))
    report("server", True, "serve runs on gevent (1,000+ live sockets)" if configured_async_mode() == "gevent" else
           "serve runs on threads (a few hundred live sockets; install gevent or unset GIVETAKE_ASYNC_MODE)")
    try:
        report("printing", True, cups_reachable())
    except PrintError as exc:
        report("printing", False, f"{exc}: badges can be downloaded only")
    try:
        from matcher.minilm import load_minilm
        model = load_minilm()
        report("matcher model", model is not None,
               "all-MiniLM-L6-v2 loaded" if model else "not installed: matching is lexical only (make install)")
    except Exception as exc:
        report("matcher model", False, str(exc))
    sys.exit(0 if ok else 1)
