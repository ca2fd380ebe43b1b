"""The `givetake` console entry point: chooses how `serve` runs before Flask or SQLAlchemy is imported.

`givetake serve` runs on gevent when it is installed (the default, `--async-mode auto`): one process holds a
thousand phones' websockets as greenlets, where threading mode needs three OS threads per socket and stalls its
broadcasts well before that. gevent works by replacing the standard library's sockets, locks and threads with
cooperative ones, which must happen before anything else creates them; so this module imports nothing of ours
until it has decided. `--async-mode threading` (or GIVETAKE_ASYNC_MODE=threading) keeps werkzeug's threaded
server. Every other command runs plain.
"""
from __future__ import annotations

import os
import sys

ASYNC_MODES = ("auto", "gevent", "threading")


def requested_async_mode(argv: list[str], environ: dict[str, str]) -> str:
    """The `--async-mode` of a `serve` command line (or GIVETAKE_ASYNC_MODE), as given: auto, gevent, threading."""
    mode = environ.get("GIVETAKE_ASYNC_MODE") or "auto"
    for i, arg in enumerate(argv):
        if arg == "--async-mode" and i + 1 < len(argv):
            mode = argv[i + 1]
        elif arg.startswith("--async-mode="):
            mode = arg.split("=", 1)[1]
    return mode


def resolve_async_mode(requested: str) -> str:
    """What `requested` means here: auto is gevent when it is installed, else threading."""
    if requested == "auto":
        try:
            import gevent  # noqa: F401
        except ImportError:
            return "threading"
        return "gevent"
    return requested


def configured_async_mode(environ=os.environ) -> str:
    """How `givetake serve` without `--async-mode` would run here: gevent or threading."""
    return resolve_async_mode(requested_async_mode([], environ))


def main() -> None:
    """Patch for gevent when `serve` will run on it, then hand over to the click commands."""
    argv = sys.argv[1:]
    if argv[:1] == ["serve"]:
        requested = requested_async_mode(argv, os.environ)
        if requested in ASYNC_MODES and resolve_async_mode(requested) == "gevent":
            from gevent import monkey
            monkey.patch_all()
    from .cli import main as cli_main
    cli_main()
