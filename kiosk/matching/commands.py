"""`givetake matcher`: the scale-out matcher process (start exactly one), fed through Redis."""
from __future__ import annotations

import signal
import sys

import click
from flask.cli import with_appcontext
from flask import Flask, current_app

from ..console import fail
from ..db import db
from .loop import MatcherLoop
from .queue import RedisQueue


def init_app(app: Flask) -> None:
    """Register `givetake matcher`."""
    app.cli.add_command(matcher_command)


@click.command("matcher")
@with_appcontext
def matcher_command() -> None:
    """Run the single matcher for every event, fed through Redis (scale-out: start exactly one)."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        click.secho("Set GIVETAKE_REDIS_URL: the matcher process is fed through Redis.", fg="red", err=True)
        sys.exit(1)
    work = RedisQueue(url)
    click.echo("Taking the matcher's lease (a matcher stopped a moment ago may hold it for a few seconds)...")
    holder = work.acquire_lease()
    if holder is not None:
        fail(f"Another matcher runs ({holder}): start exactly one `givetake matcher` per deployment.")
    loop = MatcherLoop(db.database, work)
    # SIGTERM (systemd, docker stop) finishes the current batch instead of dying half-way through it.
    signal.signal(signal.SIGTERM, lambda *_: loop.stop())
    try:
        reclaimed = work.reclaim()
        if reclaimed:
            click.echo(f"{reclaimed} work item(s) a previous matcher took but did not finish: handling them first.")
        present = loop.warm_up()
        if present:
            click.echo(f"Matcher ready: {sum(present.values())} people present in {len(present)} event(s).")
        caught = loop.catch_up()
        if caught:
            click.echo(f"{caught} people present had no match yet (their work was lost or is new): matched them.")
        click.echo(f"Matcher running, fed by {url}; its messages go out through the Socket.IO message queue.")
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        work.release_lease()
    click.echo(f"Matcher stopped after {loop.processed} work items.")
