"""The `givetake` command: set up, seed, serve, import and export."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy import select, text
from tqdm import tqdm

from .db import db
from .errors import DomainError
from .launch import ASYNC_MODES


def _create_app(*_args, **_kwargs):
    from . import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, help="Give & Take: event networking kiosk and matchmaker.")
def cli():
    """The command group; every subcommand runs inside the app (config from GIVETAKE_* variables)."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="givetake")


def register_cli(app) -> None:
    """Expose the same commands under `flask --app kiosk` for people used to Flask."""
    for name, command in cli.commands.items():
        app.cli.add_command(command, name)


def _fail(exc: DomainError) -> None:
    click.secho(f"Error: {exc.message}", fg="red", err=True)
    sys.exit(1)


def migrate_database() -> str:
    """Upgrade the configured database to the newest schema; returns the revision."""
    from . import schema
    url = current_app.config["DATABASE_URL"]
    schema.upgrade(url)
    return schema.current_revision(url)


@cli.command("init")
@click.option("--email", help="Email of the first organizer account.")
@click.option("--password", help="Its password (prompted for when omitted on a terminal).")
@click.option("--name", default="", help="The organizer's name.")
def init_command(email: str | None, password: str | None, name: str) -> None:
    """Create or upgrade the database, and the first organizer account."""
    from .auth.service import create_organizer
    from .models import Organizer
    revision = migrate_database()
    click.echo(f"Database ready at revision {revision} ({_describe_db()}).")
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
        _fail(exc)
    click.echo(f"Organizer {email.strip().lower()} created. Log in at {_base_url()}/login")


@cli.command("demo")
@click.option("--attendees", default=300, show_default=True, help="How many demo attendees.")
@click.option("--if-missing", is_flag=True, help="Do nothing (but print the URLs) when the demo event exists.")
def demo_command(attendees: int, if_missing: bool) -> None:
    """Create the demo event (initializing the database if needed) and print where to open it."""
    from .demo import DEMO_SLUG, create_demo_event, ensure_demo_organizer, load_demo_login
    from .models import Event
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
            create_demo_event(session, attendees=attendees, progress=bar.update)
        login = ensure_demo_organizer(session, current_app.instance_path)
        session.commit()
        click.echo(f"Demo event created with {attendees} attendees.")
    _print_urls(DEMO_SLUG)
    click.echo(f"  Demo login:  {login[0]}  /  {login[1]}")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets tablets and phones on the venue network connect.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--async-mode", type=click.Choice(ASYNC_MODES), default="auto",
              show_default=True, envvar="GIVETAKE_ASYNC_MODE",
              help="gevent holds 1,000+ live phones in one process; threading is werkzeug's threaded server "
                   "(a few hundred sockets). auto: gevent when installed.")
def serve_command(host: str, port: int, async_mode: str) -> None:
    """Run the app with real-time updates (one process; the laptop default)."""
    from . import schema, serving
    from .app import socket_async_mode
    from .launch import resolve_async_mode
    from .models import Event
    running = socket_async_mode()
    if resolve_async_mode(async_mode) != running:
        # gevent must patch the process before Flask is imported: only the `givetake` command does that.
        click.secho(f"--async-mode {async_mode} needs the `givetake` command (and gevent installed); "
                    f"running in {running} mode.", fg="yellow", err=True)
    url = current_app.config["DATABASE_URL"]
    if db.database.is_sqlite:
        migrate_database()
    elif schema.current_revision(url) != schema.head_revision():
        click.secho("The database schema is not current: run `givetake init` first.", fg="red", err=True)
        sys.exit(1)
    events = db.session.scalars(select(Event.slug).order_by(Event.id)).all()
    db.session.close()
    app = current_app._get_current_object()
    loop = app.extensions["givetake.matcher"].loop
    if loop is not None:
        # Load the model now, not inside the first check-in (seconds during which, on gevent, nothing else runs).
        from matcher.encoders import semantic_of
        serving.encode_on_native_threads()
        click.echo("Loading the matcher's model...")
        semantic = semantic_of(loop.encoder)
        if semantic is not None:
            semantic.encode(["warm-up"])  # the first call also sets up the tokenizer and numpy's kernels
        present = loop.warm_up()
        if present:
            click.echo(f"Matcher ready: {sum(present.values())} people present in {len(present)} event(s).")
    click.echo(f"Give & Take on http://{host}:{port} ({_describe_db()}; {running})")
    for slug in events[:5]:
        _print_urls(slug, base=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}")
    # Flask refuses app.run() inside its own CLI; `serve` is our explicit way to run it, so lift that guard.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our banner says where to go; skip its dev-server notice
    serving.tune_gc()
    serving.run(app, host, port, running)


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--format", "fmt", type=click.Choice(["auto", "generic", "eventbrite", "pretix"]), default="auto",
              show_default=True)
def import_command(file: Path, slug: str, fmt: str) -> None:
    """Import attendees from a CSV file (all or nothing)."""
    from .attendees.csv_import import import_attendees, parse
    from .events.service import get_event
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
        _fail(exc)
    click.echo(f"Imported into {slug}: {report.summary()}.")


@cli.command("export")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
def export_command(slug: str, out: Path | None) -> None:
    """Export attendees and their cards as CSV (safe against spreadsheet formulas)."""
    from .attendees.csv_export import export_csv
    from .events.service import get_event
    try:
        with db.database.reader() as session:
            payload = export_csv(session, get_event(session, slug))
    except DomainError as exc:
        _fail(exc)
    if out:
        out.write_bytes(payload)
        click.echo(f"Wrote {out}.", err=True)
    else:
        sys.stdout.buffer.write(payload)


@cli.command("doctor")
def doctor_command() -> None:
    """Check the database, Redis, printers and the matcher model, and say what to fix."""
    from . import schema
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
               f"{_describe_db()}, schema {rev or 'empty'}" + ("" if rev == schema.head_revision()
                                                              else " (run `givetake init`)"))
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        report("database", False, f"{_describe_db()}: {exc}")
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
    from .launch import configured_async_mode
    report("server", True, "serve runs on gevent (1,000+ live sockets)" if configured_async_mode() == "gevent" else
           "serve runs on threads (a few hundred live sockets; install gevent or unset GIVETAKE_ASYNC_MODE)")
    import shutil
    report("printing", shutil.which("lp") is not None,
           "CUPS `lp` found" if shutil.which("lp") else "CUPS client missing: badges can be downloaded only")
    try:
        from matcher.minilm import load_minilm
        model = load_minilm()
        report("matcher model", model is not None,
               "all-MiniLM-L6-v2 loaded" if model else "not installed: matching is lexical only (make install)")
    except Exception as exc:
        report("matcher model", False, str(exc))
    sys.exit(0 if ok else 1)


def _describe_db() -> str:
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        return f"SQLite {url.split(':///', 1)[-1]}"
    from sqlalchemy.engine import make_url
    return make_url(url).render_as_string(hide_password=True)


def _base_url() -> str:
    return current_app.config.get("PUBLIC_URL") or "http://127.0.0.1:5000"


def _print_urls(slug: str, base: str | None = None) -> None:
    base = base or _base_url()
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


def _load_capability_commands() -> None:
    """Capabilities add their own commands (`badges`, `print`, `round`, `matcher`, `report`) to the group."""
    import importlib
    for module in ("kiosk.badges.commands", "kiosk.realtime.commands", "kiosk.reports.commands"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not exc.name or not module.startswith(exc.name):  # a missing capability, not a broken import
                raise


_load_capability_commands()
