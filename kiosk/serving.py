"""How `givetake serve` runs the app: gevent's WSGI server (default) or werkzeug's threaded one.

Both carry websockets through simple-websocket; kiosk.launch decides which before anything is imported. On gevent
every greenlet shares one thread, so CPU-heavy work goes to native threads (`off_the_loop`,
`encode_on_native_threads`) and the garbage collector is tuned for a thousand sockets (`tune_gc`).
"""
from __future__ import annotations

import gc
import socket
from typing import Callable

from flask import Flask

#: gc thresholds while serving: young generations as Python's defaults, full passes 100 times rarer (see tune_gc).
GC_THRESHOLDS = (700, 10, 1000)


def run(app: Flask, host: str, port: int, async_mode: str) -> None:
    """Serve until stopped; Flask-SocketIO picks the server that matches the async mode it was set up with."""
    from .extensions import socketio
    options = {}
    if async_mode == "gevent" and not _has_gevent_websocket():
        # (With gevent-websocket installed, Flask-SocketIO brings that package's handler instead.)
        options["handler_class"] = _no_delay_handler()
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False,
                 **options)


def off_the_loop(fn: Callable, /, *args, **kwargs):
    """Call fn, in one of gevent's native threads when serving on gevent (so sockets and pages keep going).

    For CPU-bound work on plain data (a round's pairing, drawing badges), never the database or a session. Locks
    it takes are gevent's (the process is patched), which gevent lets native threads use since 20.12. On threads it
    is a plain call.
    """
    from .app import socket_async_mode
    if socket_async_mode() == "gevent":
        import gevent
        return gevent.get_hub().threadpool.apply(fn, args, kwargs)
    return fn(*args, **kwargs)


def encode_on_native_threads() -> None:
    """On gevent, give the MiniLM encoder a pool of native threads: its batches then run side by side on the cores
    while the event loop goes on (monkey-patched threads are greenlets taking turns on one core: 348 against 605
    texts/s measured). A no-op on threads."""
    from .app import socket_async_mode
    if socket_async_mode() != "gevent":
        return
    from gevent.threadpool import ThreadPoolExecutor

    from matcher import minilm
    minilm.use_executor(ThreadPoolExecutor(max_workers=minilm.MAX_WORKERS))


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
