"""Serve an app over real HTTP for tests: in a thread of this process, or as a `givetake serve` process.

The Flask test client calls the app in the caller's thread, so it never shows what concurrent kiosks do to a real
server (its threads, its connection pool, its locks). `LiveServer` runs werkzeug's threaded server in this process
(what `givetake serve --async-mode threading` runs); `ServerProcess` runs `givetake serve` itself (gevent by
default), for tests that kill the process or need the real thing.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without the access log line per request (thousands under load); errors still log."""

    def log_request(self, *args, **kwargs) -> None:
        pass


class LiveServer:
    """An app served by werkzeug's threaded server (a thread per connection) on a free port of 127.0.0.1."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:41234."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> "LiveServer":
        """Bind, then serve in a daemon thread; connections are accepted from the moment this returns."""
        # Binding happens here, before serve_forever, so a client that connects at once waits in the backlog.
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"livesrv-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Stop accepting, close the socket and wait for the serving thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (another process could take it before we do; rare enough for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ServerProcess:
    """`givetake serve` in its own process, configured by GIVETAKE_* variables; can be killed like a power cut."""

    def __init__(self, env: dict[str, str], host: str = "127.0.0.1", port: int | None = None):
        self.env = {**os.environ, **env}
        self.host = host
        self.port = port or free_port(host)
        self.process: subprocess.Popen | None = None
        # A file, not a pipe: a pipe nobody reads fills up and blocks the server mid-request.
        self._log = tempfile.TemporaryFile(mode="w+")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60) -> "ServerProcess":
        """Start the server and wait until it answers HTTP."""
        return self.launch().wait_ready(timeout)

    def launch(self) -> "ServerProcess":
        """Start the process without waiting for it (start several, then `wait_ready` on each)."""
        command = [sys.executable, "-c", "from kiosk.launch import main; main()", "serve",
                   "--host", self.host, "--port", str(self.port)]
        self.process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 30) -> "ServerProcess":
        """Poll (with a deadline) until the launched server answers HTTP."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"givetake serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                requests.get(self.url + "/api/openapi.json", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"givetake serve did not answer within {timeout} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no atexit, no flush, no clean shutdown of the database (what a crash does to the process)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL if it does not go."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        """What the server has printed so far."""
        self._log.seek(0)
        return self._log.read()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MatcherProcess:
    """`givetake matcher` in its own process (scale-out's single matcher, fed through Redis)."""

    def __init__(self, env: dict[str, str]):
        self.env = {**os.environ, **env}
        self._log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen([sys.executable, "-c", "from kiosk.launch import main; main()", "matcher"],
                                        env=self.env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def kill(self) -> None:
        """SIGKILL: mid-batch, without acknowledging anything (what the OOM killer or a power cut does)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
