"""Fixtures for fault tests: a private PostgreSQL cluster that a test may stop and start again."""
from __future__ import annotations

import os
import shutil

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
