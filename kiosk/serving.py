"""How `givetake serve` runs the app: gevent's WSGI server (default) or werkzeug's threaded one.

Both carry websockets through simple-websocket; kiosk.launch decides which before anything is imported (the facts
themselves live in kiosk.concurrency). The garbage collector is tuned for a thousand sockets (`tune_gc`).
"""
from __future__ import annotations

import gc
import logging
import os
import socket

import click
from flask.cli import with_appcontext
from flask import Flask, current_app
from sqlalchemy import select

from matcher.encoders import semantic_of
from threadpoolctl import threadpool_limits

from . import schema
from .badges.service import fail_abandoned_jobs
from .concurrency import ASYNC_MODES, async_mode, encode_on_native_threads, resolve_async_mode
from .console import describe_db, fail, migrate_database, print_urls
from .db import db
from .extensions import socketio
from .models import Event
from .realtime.bus import start_queue_heartbeat
from .watchdog import report_forks, start_watchdog

#: gc thresholds while serving: young generations as Python's defaults, full passes 100 times rarer (see tune_gc).
GC_THRESHOLDS = (700, 10, 1000)


def init_app(app: Flask) -> None:
    """Register `givetake serve`."""
    app.cli.add_command(serve_command)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 lets tablets and phones on the venue network connect.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--async-mode", "requested_mode", type=click.Choice(ASYNC_MODES), default="auto",
              show_default=True, envvar="GIVETAKE_ASYNC_MODE",
              help="gevent holds 1,000+ live phones in one process; threading is werkzeug's threaded server "
                   "(a few hundred sockets). auto: gevent when installed.")
@with_appcontext
def serve_command(host: str, port: int, requested_mode: str) -> None:
    """Run the app with real-time updates (one process; the laptop default)."""
    running = async_mode()
    if resolve_async_mode(requested_mode) != running:
        # gevent must patch the process before Flask is imported: only the `givetake` command does that.
        click.secho(f"--async-mode {requested_mode} needs the `givetake` command (and gevent installed); "
                    f"running in {running} mode.", fg="yellow", err=True)
    app = current_app._get_current_object()
    prepare(app)
    events = db.session.scalars(select(Event.slug).order_by(Event.id)).all()
    db.session.close()
    click.echo(f"Give & Take on http://{host}:{port} ({describe_db()}; {running})")
    for slug in events[:5]:
        print_urls(slug, base=f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}")
    # Flask refuses app.run() inside its own CLI; `serve` is our explicit way to run it, so lift that guard.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our banner says where to go; skip its dev-server notice
    tune_gc()
    run(app, host, port, running)


def prepare(app: Flask, echo=click.echo) -> None:
    """Everything a serving process does before it takes requests, under `givetake serve` or gunicorn.

    The schema must be current (SQLite is migrated here, PostgreSQL by `givetake init`); the in-process matcher,
    when this process runs it, claims the instance's writer lock, loads its model and catches up.
    """
    with app.app_context():
        url = app.config["DATABASE_URL"]
        if db.database.is_sqlite:
            migrate_database()
        elif schema.current_revision(url) != schema.head_revision():
            fail("The database schema is not current: run `givetake init` first.")
        loop = app.extensions["givetake.matcher"].loop
        if loop is not None and not loop.claim():
            fail("Another Give & Take process on this instance folder runs the matcher (a `givetake serve` or "
                 "`givetake round`): stop it first, or run several app processes with Redis (deploy/README.md).")
        if loop is not None:
            # The only server of this instance (it holds the matcher lock): print jobs an earlier run queued in
            # its memory and never sent are lost with it; say so, so they can be retried and count as not printed.
            abandoned = fail_abandoned_jobs(db.session)
            db.session.commit()
            if abandoned:
                echo(f"{abandoned} badge print(s) the last run did not send are marked failed: retry them under "
                     "Badges & printing.")
            # Load the model now, not inside the first check-in (seconds during which, on gevent, nothing else
            # runs).
            encode_on_native_threads()
            echo("Loading the matcher's model...")
            semantic = semantic_of(loop.encoder)
            if semantic is not None:
                semantic.encode(["warm-up"])  # the first call also sets up the tokenizer and numpy's kernels
            present = loop.warm_up()
            if present:
                echo(f"Matcher ready: {sum(present.values())} people present in {len(present)} event(s).")
                # Check-ins whose work was still queued when this laptop last stopped are matched now.
                caught = loop.catch_up()
                if caught:
                    echo(f"Matched {caught} people present who had no match yet.")
        db.session.close()


def prepare_worker(app: Flask) -> None:
    """What a gunicorn worker does before it serves (kiosk.wsgi): `prepare`, then the process settings `run` sets."""
    prepare(app, echo=lambda text: logging.getLogger("givetake").info(text))
    start_queue_heartbeat(socketio)
    threadpool_limits(1)
    report_forks()
    start_watchdog()
    tune_gc()


def run(app: Flask, host: str, port: int, mode: str) -> None:
    """Serve until stopped; Flask-SocketIO picks the server that matches the async mode it was set up with."""
    threadpool_limits(1)  # numpy's BLAS on one thread while serving, whoever started us (see kiosk.launch)
    start_queue_heartbeat(socketio)  # scale-out: clients catch up after a Redis outage
    report_forks()  # a fork with native threads running deadlocks the server (DESIGN.md, Processes)
    start_watchdog()
    options = {}
    if mode == "gevent" and not _has_gevent_websocket():
        # (With gevent-websocket installed, Flask-SocketIO brings that package's handler instead.)
        options["handler_class"] = _no_delay_handler()
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False,
                 **options)


def tune_gc() -> None:
    """Keep the garbage collector's full passes from pausing every socket at once.

    A full pass walks every object in the process: with 1,000 websockets connected that is ~70 ms during which no
    message goes out (one check-in in sixty waited for one). What was loaded at start-up (modules, the app, the
    model) lives as long as the process, so it is frozen out of the collector; young objects are still collected
    as often as by default, and the full pass, which only finds cycles that survived two young passes, runs
    100 times less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _has_gevent_websocket() -> bool:
    try:
        import geventwebsocket  # noqa: F401
    except ImportError:
        return False
    return True


def _no_delay_handler():
    from gevent import pywsgi

    class NoDelayHandler(pywsgi.WSGIHandler):
        """gevent's request handler with Nagle's algorithm off on the connection.

        It sends a response's headers and body in two writes; with Nagle on, the body waits for the client's
        delayed ACK, 40 ms a response on Linux (a kiosk's check-in took 48 ms instead of 5).
        """

        def __init__(self, sock, address, server, rfile=None):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().__init__(sock, address, server, rfile)

    return NoDelayHandler
