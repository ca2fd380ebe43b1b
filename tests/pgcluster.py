"""A private PostgreSQL cluster for tests that stop the server: initdb into a temporary folder, start, stop, start.

The machine's shared PostgreSQL (127.0.0.1:5432) is never stopped: other tests use it. A private cluster runs
Debian's server binaries (/usr/lib/postgresql/<version>/bin, or GIVETAKE_TEST_PG_BIN) on a free loopback port
with trust authentication and its socket in its own folder. PostgreSQL refuses to run as root, so as root its
programs run as the `postgres` OS user, in a folder under /tmp that user owns (a pytest tmp_path sits under a
root-only folder it could not enter).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.livesrv import free_port


def server_binaries() -> Path | None:
    """The folder with initdb and pg_ctl: GIVETAKE_TEST_PG_BIN, else the newest Debian version; None if none."""
    configured = os.environ.get("GIVETAKE_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True)
    return next((p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()), None)


class PgCluster:
    """One throwaway cluster: `init()`, `start()`, `stop(mode)`, `start()` again, `destroy()`."""

    def __init__(self, bin_dir: Path, port: int | None = None):
        self.bin = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="givetake-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for one of its databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*as_postgres, str(self.bin / program), *args], capture_output=True, text=True,
                                timeout=timeout, cwd=self.root, env={**os.environ, "LC_ALL": "C", "LANG": "C"})
        if result.returncode != 0:
            raise RuntimeError(f"{program} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}"
                               f"{result.stderr}\n{self.log_tail()}")
        return result

    def init(self) -> "PgCluster":
        """Create the cluster (no fsync while creating it: nothing of value is in it yet)."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> "PgCluster":
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c max_connections=60"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start",
                  timeout=90)
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: "fast" (what a restart does: sessions are told and cut) or "immediate" (a crash: no
        checkpoint, every backend killed mid-statement; the next start replays the WAL)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", timeout=90)

    def running(self) -> bool:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "status"],
                              capture_output=True, timeout=30).returncode == 0

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file of the cluster."""
        try:
            if self.data.exists() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
