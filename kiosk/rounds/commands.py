"""`givetake round --event SLUG`: start a networking round from the command line."""
from __future__ import annotations

import sys
import time

import click
from flask.cli import with_appcontext
from flask import Flask, current_app

from ..console import fail
from ..db import db
from ..errors import DomainError
from ..events.service import get_event
from ..matching.submit import runtime
from .service import latest_round, request_round

#: How long `givetake round` waits for the matcher to announce the round.
ROUND_WAIT_S = 60


def init_app(app: Flask) -> None:
    """Register `givetake round`."""
    app.cli.add_command(round_command)


@click.command("round")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the pairs and print them.")
@with_appcontext
def round_command(slug: str, wait: bool) -> None:
    """Start a networking round: pair everyone present, a meeting point each, a countdown on every screen."""
    loop = runtime().loop
    if current_app.config.get("MATCHER") == "off":
        fail("The matcher is off (GIVETAKE_MATCHER=off): nothing would pair the round.")
    if loop is not None and not loop.claim():
        # Single writer: the running `givetake serve` owns this database's matcher, and without Redis this command
        # cannot hand it the work. Never start a second loop next to it.
        fail("`givetake serve` is running the matcher for this database: start the round from the live dashboard "
             "(Admin > Live), or set GIVETAKE_REDIS_URL so this command can reach the matcher.")
    session = db.session
    try:
        event = get_event(session, slug)
        before = latest_round(session, event.id)
        request_round(session, event)
        session.commit()
    except DomainError as exc:
        session.rollback()
        fail(exc)
    if loop is not None:
        # No server runs (this process holds the matcher's lock): the round is paired here, and screens that open
        # later catch up from the event log.
        click.echo("No server is running: the round is paired in this process.", err=True)
    if not wait and loop is None:  # (a round paired in this process needs the process until it is done)
        click.echo("Round requested.")
        return
    deadline = time.monotonic() + ROUND_WAIT_S
    row = None
    while time.monotonic() < deadline:
        if loop is not None:
            loop.drain(timeout=1)
        with db.database.reader() as reader:
            row = latest_round(reader, event.id)
        if row is not None and (before is None or row.number > before.number):
            break
        row = None
        time.sleep(0.2)
    if row is None:
        click.secho(f"No round appeared within {ROUND_WAIT_S} s: is `givetake matcher` running?", fg="red",
                    err=True)
        sys.exit(1)
    click.echo(f"Round {row.number}: {len(row.pairs)} groups until {row.ends_at:%H:%M} UTC.")
    for group in row.pairs:
        click.echo(f"  {group['meeting_point']}: " + ", ".join(f"#{i}" for i in group["ids"]))
