"""How `givetake serve` runs the app: gevent's WSGI server (default) or werkzeug's threaded one.

Both carry websockets through simple-websocket; kiosk.launch decides which before anything is imported.
"""
from __future__ import annotations

import socket

from flask import Flask


def run(app: Flask, host: str, port: int, async_mode: str) -> None:
    """Serve until stopped; Flask-SocketIO picks the server that matches the async mode it was set up with."""
    from .extensions import socketio
    options = {}
    if async_mode == "gevent":
        options["handler_class"] = _no_delay_handler()
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False, log_output=False,
                 **options)


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
