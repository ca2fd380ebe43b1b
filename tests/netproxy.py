"""A TCP proxy in front of a test server whose connections a test can cut, as a venue's Wi-Fi drops them.

A phone going to sleep or a tablet losing the access point loses its sockets without a goodbye: neither the
browser nor python-socketio gets a close frame. Cutting the path between client and server does that to any
client, with no hooks into its library (and Chromium's offline emulation leaves open websockets alone).
"""
from __future__ import annotations

import socket
import threading

#: How often the accept loop looks up from a quiet listening socket to see whether it should stop.
_POLL_S = 0.1


class CuttableProxy:
    """Forwards a free port of 127.0.0.1 to a server; `cut()` drops every connection and refuses new ones until
    `restore()`."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(_POLL_S)
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._down = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "CuttableProxy":
        self._thread.start()
        return self

    def cut(self) -> None:
        """Drop every open connection; connections made until `restore()` are closed at once."""
        with self._lock:
            self._down = True
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """Let connections through again."""
        with self._lock:
            self._down = False

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)  # accepted sockets inherit the listener's timeout
            with self._lock:
                down = self._down
            if down:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.difference_update((source, sink))
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a pump blocked in recv on it
    except OSError:
        pass
    sock.close()
