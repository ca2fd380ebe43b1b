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


NGINX_SITE = ROOT / "deploy" / "nginx.conf"


def nginx_config(workdir: Path, http_port: int, https_port: int, backend_ports: list[int], cert: Path, key: Path,
                 source: Path = NGINX_SITE) -> str:
    """A main nginx.conf for a private nginx that includes deploy/nginx.conf with its listen ports, upstream
    servers and certificate paths rewritten for loopback (nothing else in the site file changes)."""
    site = source.read_text()
    site, plain = re.subn(r"(?m)^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{http_port};", site)
    site, tls = re.subn(r"(?m)^(\s*)listen 443 ssl;", rf"\g<1>listen 127.0.0.1:{https_port} ssl;", site)
    site, certs = re.subn(r"(?m)^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};", site)
    site, keys = re.subn(r"(?m)^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};", site)
    lines = site.splitlines()
    servers = [i for i, line in enumerate(lines) if re.match(r"\s*server\s+127\.0\.0\.1:\d+", line)]
    if (plain, tls, certs, keys) != (1, 1, 1, 1) or not servers:
        raise ValueError(f"{source} no longer has the listen, certificate and upstream server lines to rewrite")
    indent = re.match(r"\s*", lines[servers[0]]).group(0)
    lines[servers[0]:servers[-1] + 1] = [f"{indent}server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;"
                                         for p in backend_ports]
    (workdir / "givetake.conf").write_text("\n".join(lines) + "\n")
    temp = {name: workdir / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for folder in temp.values():
        folder.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, workers would be `nobody`, locked out of tmp_path
    return (f"{user}daemon off;\nworker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log;\n"
            "events { worker_connections 512; }\n"
            "http {\n  access_log off;\n"
            + "".join(f"  {name}_temp_path {path};\n" for name, path in temp.items())
            + f"  include {workdir}/givetake.conf;\n}}\n")


def self_signed_certificate(workdir: Path, host: str = "event.example.org") -> tuple[Path, Path]:
    """A certificate for `host` and 127.0.0.1, its own authority: clients verify against it, not with verify=False."""
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={host}",
                    "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class Nginx(_Process):
    """Debian's nginx in the foreground with deploy/nginx.conf (TLS and websocket upgrade) rewritten for loopback."""

    name = "nginx"

    def __init__(self, backend_ports: list[int], workdir: Path):
        super().__init__()
        self.http_port, self.https_port = free_port(), free_port()
        self.backend_ports = backend_ports
        self.workdir = Path(workdir)
        self.config_path = self.workdir / "nginx.conf"
        self.cert: Path | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("nginx") is not None and shutil.which("openssl") is not None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def launch(self) -> "Nginx":
        self.cert, key = self_signed_certificate(self.workdir)
        self.config_path.write_text(nginx_config(self.workdir, self.http_port, self.https_port, self.backend_ports,
                                                 self.cert, key))
        check = subprocess.run(["nginx", "-t", "-q", "-c", str(self.config_path)], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx refused the config:\n{check.stdout}{check.stderr}")
        self._spawn(["nginx", "-c", str(self.config_path)], dict(os.environ))
        return self

    def wait_ready(self, timeout: float = 30) -> "Nginx":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"nginx exited:\n{self.output()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1, verify=str(self.cert)).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not pass /healthz through within {timeout} s:\n{self.output()}")
