"""`python -m bench matcher`: suggest latency, pair_round weight and time against networkx, eval-set recall, and
the largest conference (100,000 present: suggest p99, memory, a round) in a process of its own.

People are built from the evaluation set's texts (1-2 offers and 1-2 needs each, drawn at random). Their semantic
vectors come from MiniLM, encoded once per distinct text and passed in as cached embeddings (as the app does after
a restart); without the model a cheap stand-in gives each text a random unit vector, which the rows say.
"""
from __future__ import annotations

import os

# As the matcher process should run (docs/matcher.md): OpenBLAS threads stall on a shared 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402 (after the thread setting, which must precede numpy)
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from collections.abc import Iterable

import numpy as np  # noqa: E402

from bench.common import percentiles, result
from matcher import Card, MatchEngine, Profile
from matcher.encoders import FusedEncoder
from matcher.evaluation import HELD_OUT, evaluate, load_eval_set, split
from matcher.rounds import matching

BENCH = "matcher"


class RandomVectors:
    """Stand-in semantic encoder: a random unit vector per text (seeded by the text), for engine-cost runs."""

    model_id = "random-unit-vectors"
    dim = 384

    def encode(self, texts):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
            v = rng.standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


def _semantic():
    """MiniLM if installed, else the stand-in; and the label that says which."""
    try:
        from matcher.minilm import load_minilm
        model = load_minilm()
    except ImportError:
        model = None
    return (model, "minilm") if model is not None else (RandomVectors(), "random-unit-vectors")


_VECTORS: dict[str, dict[str, np.ndarray]] = {}


def _vectors(semantic, texts: list[str]) -> dict[str, np.ndarray]:
    """Each distinct text encoded once per run (the app caches embeddings the same way)."""
    cache = _VECTORS.setdefault(semantic.model_id, {})
    todo = [t for t in dict.fromkeys(texts) if t not in cache]
    if todo:
        cache.update(zip(todo, np.asarray(semantic.encode(todo), dtype=np.float32)))
    return cache


def make_profiles(n: int, semantic, seed: int = 0) -> list[Profile]:
    """n people with cached embeddings, texts drawn from the evaluation set."""
    ev = load_eval_set()
    vectors = _vectors(semantic, ev.needs + ev.offers)
    rng = np.random.default_rng(seed)
    people = []
    for pid in range(1, n + 1):
        offers = [ev.offers[i] for i in rng.choice(len(ev.offers), size=rng.integers(1, 3), replace=False)]
        needs = [ev.needs[i] for i in rng.choice(len(ev.needs), size=rng.integers(1, 3), replace=False)]
        people.append(Profile(pid, [Card(t, embedding=vectors[t]) for t in offers],
                              [Card(t, embedding=vectors[t]) for t in needs], name=f"P{pid}"))
    return people


def bench_suggest(n: int, semantic, label: str, queries: int) -> dict:
    engine = MatchEngine(FusedEncoder(semantic))
    engine.upsert_many(make_profiles(n, semantic))
    rng = np.random.default_rng(1)
    samples = []
    for pid in rng.choice(engine.ids, size=queries).tolist():
        t0 = time.perf_counter()
        engine.suggest(pid, k=3)
        samples.append(time.perf_counter() - t0)
    p50, p99 = percentiles(samples, 50, 99)
    return result(BENCH, "suggest_p99_ms", p99, "ms", n, higher_is_better=False, p50_ms=round(p50, 3),
                  queries=queries, target_ms=25, vectors=label)


def bench_round(n: int, semantic, label: str, with_networkx: bool) -> list[dict]:
    engine = MatchEngine(FusedEncoder(semantic))
    engine.upsert_many(make_profiles(n, semantic))
    t0 = time.perf_counter()
    res = engine.pair_round(seed=0)
    ours_s = time.perf_counter() - t0
    rows = [result(BENCH, "pair_round_s", ours_s, "s", n, higher_is_better=False, groups=len(res.groups),
                   unpaired=len(res.unpaired), total_weight=res.total_weight, vectors=label)]
    if not with_networkx:
        return rows
    import networkx as nx
    # The same graph as the round's (built again, without this round's exclusions), integer weights.
    engine2 = MatchEngine(FusedEncoder(semantic))
    engine2.upsert_many(make_profiles(n, semantic))
    t0 = time.perf_counter()
    ids, u, v, w = engine2.round_graph(k=10)
    graph_s = time.perf_counter() - t0
    wi = np.round(w * 1000).astype(np.int64)
    t0 = time.perf_counter()
    ours = matching(len(ids), u, v, wi, seed=0)
    match_s = time.perf_counter() - t0
    ours_w = int(wi[ours.mate[u] == v].sum())
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), wi.tolist()))
    t0 = time.perf_counter()
    exact = nx.max_weight_matching(graph)
    nx_s = time.perf_counter() - t0
    nx_w = int(sum(graph[a][b]["weight"] for a, b in exact))
    rows.append(result(BENCH, "pair_round_weight", ours_w, "integer weight", n, peer="networkx.max_weight_matching",
                       peer_value=nx_w, edges=len(u), target_ratio=0.995, lp_bound=ours.bound))
    rows.append(result(BENCH, "pair_round_matching_s", match_s, "s", n, peer="networkx.max_weight_matching",
                       peer_value=nx_s, higher_is_better=False, graph_build_s=round(graph_s, 3), target_ratio=50,
                       note="matching step on the same graph; ratio = networkx time / ours"))
    rows.append(result(BENCH, "pair_round_total_vs_networkx_s", ours_s, "s", n, peer="networkx.max_weight_matching",
                       peer_value=nx_s, higher_is_better=False,
                       note="our whole pair_round (graph + matching + trio) vs networkx's matching alone"))
    return rows


def bench_bound(n: int, semantic, label: str) -> dict:
    """At sizes networkx cannot solve: our matching's weight against the LP's upper bound on the optimum."""
    engine = MatchEngine(FusedEncoder(semantic))
    engine.upsert_many(make_profiles(n, semantic))
    ids, u, v, w = engine.round_graph(k=10)
    # Integer weights as in the networkx rows: then the bound is the LP's own (no rounding slack in it).
    ours = matching(len(ids), u, v, np.round(w * 1000), seed=0)
    return result(BENCH, "pair_round_weight_vs_bound", ours.weight, "integer weight", n, peer="LP upper bound",
                  peer_value=ours.bound, edges=len(u), vectors=label,
                  note="ratio <= the true ratio to the exact optimum (the bound is above the optimum)")


def scale_child(n: int, queries: int) -> None:
    """The largest conference in this process alone (so its peak RSS is the matcher's): prints JSON rows."""
    semantic, label = _semantic()
    engine = MatchEngine(FusedEncoder(semantic))
    t0 = time.perf_counter()
    engine.upsert_many(make_profiles(n, semantic))
    index_s = time.perf_counter() - t0
    rng = np.random.default_rng(1)
    pids = rng.choice(engine.ids, size=queries).tolist()
    ours, got = [], {}
    for pid in pids:
        t0 = time.perf_counter()
        got[pid] = [(m.a, m.b, m.evidence) for m in engine.suggest(pid, k=3)]
        ours.append(time.perf_counter() - t0)
    # The peer: the same engine scanning every full vector (what it does below matcher.roster.COARSE_MIN_ROWS).
    projection, engine._roster.projection = engine._roster.projection, None  # bench only: the exact path
    exact, same = [], 0
    for pid in pids:
        t0 = time.perf_counter()
        evidence = [m.evidence for m in engine.suggest(pid, k=3)]
        exact.append(time.perf_counter() - t0)
        same += evidence == [e for _, _, e in got[pid]]
    engine._roster.projection = projection
    p50, p99 = percentiles(ours, 50, 99)
    peer50, peer99 = percentiles(exact, 50, 99)
    rows = [result(BENCH, "suggest_p99_ms", p99, "ms", n, peer="exact scan, same engine", peer_value=peer99,
                   higher_is_better=False, p50_ms=round(p50, 3), peer_p50_ms=round(peer50, 3), queries=queries,
                   target_ms=25, vectors=label, projected=projection is not None,
                   same_top3_as_exact=round(same / len(pids), 4))]
    t0 = time.perf_counter()
    res = engine.pair_round(seed=0)
    round_s = time.perf_counter() - t0
    rows.append(result(BENCH, "pair_round_s", round_s, "s", n, higher_is_better=False, groups=len(res.groups),
                       unpaired=len(res.unpaired), target_s=60, vectors=label))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(result(BENCH, "matcher_peak_rss_mb", peak_mb, "MB", n, higher_is_better=False, target_mb=2048,
                       index_s=round(index_s, 2), note="whole process: model, people, suggestions and a round"))
    for row in rows:
        print(json.dumps(row), flush=True)


def bench_scale(n: int, queries: int) -> list[dict]:
    """`scale_child` in a fresh interpreter; its rows."""
    code = f"from bench.matcher import scale_child; scale_child({n}, {queries})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def bench_eval(semantic, label: str) -> list[dict]:
    """Ranking quality on the eval set's held-out part (the weights were fitted on the other part)."""
    ev = load_eval_set()
    held = ev.subset(split(ev)[HELD_OUT])
    metrics = evaluate(semantic if label == "minilm" else None, held)
    rows = []
    for encoder, m in metrics.items():
        for name, value in m.items():
            rows.append(result(BENCH, f"eval_{name}", value, "fraction", len(held.needs), encoder=encoder,
                               offers=len(held.offers), part="held_out"))
    return rows


def run(quick: bool) -> Iterable[dict]:
    semantic, label = _semantic()
    for n in (1000, 5000, 20000):
        yield bench_suggest(n, semantic, label, queries=100 if quick else 400)
    yield from bench_round(500, semantic, label, with_networkx=True)
    yield from bench_round(2000, semantic, label, with_networkx=not quick)
    if not quick:
        yield from bench_round(20000, semantic, label, with_networkx=False)
        yield bench_bound(20000, semantic, label)
        yield from bench_scale(100000, queries=400)
    else:
        yield {"bench": BENCH, "metric": "pair_round_s", "n": 20000, "skipped": "quick mode; run without --quick"}
        yield {"bench": BENCH, "metric": "suggest_p99_ms", "n": 100000, "skipped": "quick mode; run without --quick"}
    yield from bench_eval(semantic, label)
