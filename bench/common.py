"""Shared helpers for benchmarks: timing, percentiles and the result row of DESIGN.md."""
from __future__ import annotations

import functools
import time
from typing import Callable

import numpy as np


def result(bench: str, metric: str, value: float, unit: str, n: int, peer: str | None = None,
           peer_value: float | None = None, higher_is_better: bool = True, **extra) -> dict:
    """One result row; `ratio` is ours over the peer's, oriented so that > 1 means we are better."""
    ratio = None
    if peer_value not in (None, 0) and value not in (None, 0):
        ratio = value / peer_value if higher_is_better else peer_value / value
    row = {"bench": bench, "metric": metric, "value": _round(value), "unit": unit, "n": n,
           "peer": peer, "peer_value": _round(peer_value), "ratio": _round(ratio)}
    row.update(extra)
    return row


def percentiles(samples_s: list[float], *qs: float) -> list[float]:
    """Percentiles of a list of durations in seconds, returned in milliseconds."""
    arr = np.asarray(samples_s, dtype=float) * 1000.0
    return [float(np.percentile(arr, q)) for q in qs]


def timed(fn: Callable[[], object], repeat: int = 1) -> list[float]:
    """Wall-clock durations in seconds of `repeat` calls of fn."""
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _round(x):
    return None if x is None else round(float(x), 4)


@functools.lru_cache(maxsize=4)
def _signer(secret_key: str):
    from flask import Flask
    app = Flask("bench")
    app.secret_key = secret_key
    return app


def kiosk_grants(secret_key: str, device_id: int, attendee_ids: list[int]) -> dict[int, str]:
    """The X-Kiosk-Grant a kiosk holds once it chose each of these people (signed with the server's key), so a
    benchmark times the check-in request itself, as before grants existed, not the lookup and choice before it.
    (A grant lasts 15 minutes: make them just before the run that uses them.)"""
    from types import SimpleNamespace

    from kiosk.checkin.service import serving_grant
    with _signer(secret_key).app_context():
        device = SimpleNamespace(id=device_id)
        return {a: serving_grant(device, SimpleNamespace(id=a), proof=False) for a in attendee_ids}
