"""The `givetake` console entry point: chooses how `serve` runs before Flask or SQLAlchemy is imported.

`givetake serve` runs on gevent when it is installed (the default, `--async-mode auto`): one process holds a
thousand phones' websockets as greenlets, where threading mode needs three OS threads per socket and stalls its
broadcasts well before that. gevent works by replacing the standard library's sockets, locks and threads with
cooperative ones, which must happen before anything else creates them; so this module imports nothing of ours
but the leaf kiosk.concurrency until it has decided. `--async-mode threading` (or GIVETAKE_ASYNC_MODE=threading)
keeps werkzeug's threaded server. Every other command runs plain.

The commands themselves are registered by each capability's `init_app` on the app's `cli` group (as flaskr
does), so `flask --app kiosk <command>` and `givetake <command>` are the same commands.
"""
from __future__ import annotations

import os
import sys

from .concurrency import ASYNC_MODES, requested_async_mode, resolve_async_mode

HELP = "Give & Take: event networking kiosk and matchmaker."


def main() -> None:
    """Patch for gevent when `serve` will run on it, then hand over to the app's commands."""
    argv = sys.argv[1:]
    # Before numpy loads: OpenBLAS then starts no thread pool of its own (the MiniLM encoder runs its own workers),
    # so a round's matrix work leaves no BLAS thread behind to hold a lock (serving.run pins it again).
    for blas_threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(blas_threads, "1")
    if argv[:1] == ["serve"]:
        requested = requested_async_mode(argv, os.environ)
        if requested in ASYNC_MODES and resolve_async_mode(requested) == "gevent":
            from gevent import monkey
            monkey.patch_all()
    import click
    from flask.cli import FlaskGroup

    from .app import create_app
    from .config import ConfigError

    def load_app():
        try:
            return create_app()
        except ConfigError as exc:  # a setting to fix: say which, without a traceback
            raise click.ClickException(str(exc)) from None

    group = FlaskGroup(name="givetake", help=HELP, create_app=load_app, add_default_commands=False,
                       add_version_option=False, load_dotenv=False)
    group.main(prog_name="givetake")
