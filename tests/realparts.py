"""Skip-or-fail for tests that need a real part (PostgreSQL, Redis, Chromium, poppler, CUPS...).

On a laptop without the part the test skips; in CI (`GIVETAKE_REQUIRE_ALL=1`) a missing part is a failure,
so a green run always means the real thing was exercised.
"""
from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ALL = os.environ.get("GIVETAKE_REQUIRE_ALL", "") not in ("", "0", "false", "no")


def need(part: str, available: bool, why: str = "") -> None:
    """Skip (or fail under GIVETAKE_REQUIRE_ALL) unless `available`."""
    if available:
        return
    message = f"{part} is not available{': ' + why if why else ''}"
    if REQUIRE_ALL:
        pytest.fail(f"GIVETAKE_REQUIRE_ALL is set and {message}", pytrace=False)
    pytest.skip(message)


def need_program(*names: str) -> None:
    """Skip or fail unless every named program is on PATH (or is an existing absolute path)."""
    missing = [n for n in names if not (os.path.isabs(n) and os.path.exists(n)) and shutil.which(n) is None]
    need(", ".join(missing) or "programs", not missing, "install it (see .ci/run)")
