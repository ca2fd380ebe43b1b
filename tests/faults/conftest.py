"""Fixtures for fault tests: a private PostgreSQL cluster a test may stop and start again, a disk to fill."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pgcluster import PgCluster, server_binaries
from tests.realparts import need


@pytest.fixture
def private_pg():
    """A running PostgreSQL cluster of this test's own (never the machine's shared server), removed afterwards."""
    binaries = server_binaries()
    need("PostgreSQL server binaries (initdb, pg_ctl)", binaries is not None,
         "install postgresql-15 (see .ci/run), or set GIVETAKE_TEST_PG_BIN")
    if os.geteuid() == 0:
        need("runuser", shutil.which("runuser") is not None, "PostgreSQL must run as the postgres user, not root")
    cluster = PgCluster(binaries)
    try:
        cluster.init().start()
        yield cluster
    finally:
        cluster.destroy()


class SmallDisk:
    """A tmpfs of its own, mounted for one test: `fill()` takes every free byte, `free()` gives them back."""

    def __init__(self, path: Path):
        self.path = path
        self.ballast = path / "ballast"

    def fill(self) -> None:
        """Write a file until the filesystem says ENOSPC, in ever smaller pieces: not one byte is left."""
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1):
                chunk = b"\0" * size
                while True:
                    try:
                        os.write(fd, chunk)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        assert self.free_bytes() == 0

    def free(self) -> None:
        """Delete the ballast."""
        self.ballast.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs for a database to run out of room on (a real ENOSPC: the kernel's, not a mock)."""
    need("root", os.geteuid() == 0, "mounting a tmpfs needs root")
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True, timeout=30)
    need("a tmpfs mount", mounted.returncode == 0, mounted.stderr.strip())
    try:
        yield SmallDisk(mountpoint)
    finally:
        if subprocess.run(["umount", str(mountpoint)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True, timeout=30)  # still open: detach
