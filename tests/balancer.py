"""The scale-out tier on loopback: app processes under gunicorn behind HAProxy, both run with the repo's configs.

`GunicornProcess` runs `gunicorn -c deploy/gunicorn.conf.py kiosk.wsgi:app` on a port of its own; `HAProxy`
runs Debian's haproxy with deploy/haproxy.cfg, its frontend port and server lines rewritten for the ports the
processes got (nothing else in the file changes). Used by tests/realtime/test_balancer.py and
`python -m bench realtime --scale-out`. Everything started is stopped by PID.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Process:
    """A child process whose output goes to a file (a pipe nobody reads would block it)."""

    name = "process"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+")

    def _spawn(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (gunicorn's arbiter and its worker): a crash, no clean shutdown."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class GunicornProcess(_Process):
    """One app process: gunicorn's arbiter with its single gevent worker."""

    name = "gunicorn"

    def __init__(self, env: dict[str, str], port: int | None = None):
        super().__init__()
        self.port = port or free_port()
        self.env = {**os.environ, **env, "GIVETAKE_BIND": f"127.0.0.1:{self.port}"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> "GunicornProcess":
        self._spawn([sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "kiosk.wsgi:app"], self.env)
        return self

    def wait_ready(self, timeout: float = 90) -> "GunicornProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer within {timeout} s:\n{self.output()[-4000:]}")

    def health(self) -> dict:
        return requests.get(self.url + "/healthz", timeout=5).json()


def haproxy_config(frontend_port: int, backend_ports: list[int], source: Path = HAPROXY_CFG) -> str:
    """deploy/haproxy.cfg with its frontend bound to `frontend_port` and one server line per backend port."""
    text = source.read_text()
    text, binds = re.subn(r"(?m)^(\s*bind\s+)127\.0\.0\.1:\d+", rf"\g<1>127.0.0.1:{frontend_port}", text)
    lines = text.splitlines()
    servers = [i for i, line in enumerate(lines) if re.match(r"\s*server\s+app\d+\s", line)]
    if binds != 1 or not servers:
        raise ValueError(f"{source} no longer has one loopback bind and `server appN` lines to rewrite")
    indent = re.match(r"\s*", lines[servers[0]]).group(0)
    ours = [f"{indent}server app{n} 127.0.0.1:{port} cookie app{n}" for n, port in enumerate(backend_ports, 1)]
    lines[servers[0]:servers[-1] + 1] = ours
    return "\n".join(lines) + "\n"


class HAProxy(_Process):
    """Debian's haproxy in the foreground (-db) with the repo's config rewritten for loopback ports."""

    name = "haproxy"

    def __init__(self, backend_ports: list[int], port: int | None = None, workdir: Path | None = None):
        super().__init__()
        self.port = port or free_port()
        self.backend_ports = backend_ports
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="givetake-haproxy-"))
        self.config_path = self.workdir / "haproxy.cfg"

    @staticmethod
    def available() -> bool:
        return shutil.which("haproxy") is not None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def launch(self) -> "HAProxy":
        self.config_path.write_text(haproxy_config(self.port, self.backend_ports))
        check = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"haproxy refused the config:\n{check.stdout}{check.stderr}")
        self._spawn(["haproxy", "-db", "-f", str(self.config_path)], dict(os.environ))
        return self

    def wait_ready(self, pids: int, timeout: float = 30) -> "HAProxy":
        """Until the balancer has handed /healthz to `pids` different app processes (all of them are up)."""
        deadline, seen = time.monotonic() + timeout, set()
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"haproxy exited:\n{self.output()}")
            try:
                answer = requests.get(self.url + "/healthz", timeout=1)
                if answer.ok:
                    seen.add(answer.json()["pid"])
                    if len(seen) >= pids:
                        return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"haproxy reached {len(seen)} of {pids} app processes within {timeout} s:\n"
                           f"{self.output()}")
