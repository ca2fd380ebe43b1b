"""`givetake matcher` (the scale-out matcher process) and `givetake round --event SLUG`."""
from __future__ import annotations

import signal
import sys
import time

import click
from flask import current_app

from ..cli import cli
from ..db import db
from ..errors import DomainError

#: How long `givetake round` waits for the matcher to announce the round.
ROUND_WAIT_S = 60


@cli.command("matcher")
def matcher_command() -> None:
    """Run the single matcher for every event, fed through Redis (scale-out: start exactly one)."""
    from ..matching import MatcherLoop, RedisQueue
    url = current_app.config.get("REDIS_URL")
    if not url:
        click.secho("Set GIVETAKE_REDIS_URL: the matcher process is fed through Redis.", fg="red", err=True)
        sys.exit(1)
    loop = MatcherLoop(db.database, RedisQueue(url))
    # SIGTERM (systemd, docker stop) finishes the current item instead of dying half-way through it.
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    present = loop.warm_up()
    if present:
        click.echo(f"Matcher ready: {sum(present.values())} people present in {len(present)} event(s).")
    click.echo(f"Matcher running, fed by {url}; its messages go out through the Socket.IO message queue.")
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    click.echo(f"Matcher stopped after {loop.processed} work items.")


@cli.command("round")
@click.option("--event", "slug", required=True, help="The event's short name.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the pairs and print them.")
def round_command(slug: str, wait: bool) -> None:
    """Start a networking round: pair everyone present, a meeting point each, a countdown on every screen."""
    from ..events.service import get_event
    from ..matching import runtime
    from ..rounds.service import latest_round, request_round
    session = db.session
    try:
        event = get_event(session, slug)
        before = latest_round(session, event.id)
        request_round(session, event)
        session.commit()
    except DomainError as exc:
        session.rollback()
        click.secho(f"Error: {exc.message}", fg="red", err=True)
        sys.exit(1)
    if current_app.config.get("MATCHER") != "redis":
        # Without Redis this command runs the round itself: screens connected to another process see it on
        # their next reconnect (or use the admin button, which runs in the serving process).
        click.echo("No Redis: the round runs in this process; open screens catch up when they reconnect.",
                   err=True)
    if not wait:
        click.echo("Round requested.")
        return
    loop = runtime().loop
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
