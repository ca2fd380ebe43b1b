"""max_weight_pairs against networkx's exact matching, and rounds at a size that takes the candidate path."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from matcher import FusedEncoder, MatchEngine
from matcher.engine import DENSE_MAX
from matcher.rounds import matching, matching_weight, max_weight_pairs
from tests.matcher.conftest import WordVectors, person


def knn_graph(n: int, seed: int, k: int = 8):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    np.fill_diagonal(s, -1)
    nb = np.argpartition(-s, k, axis=1)[:, :k]
    u, v = np.repeat(np.arange(n), k), nb.ravel()
    key = np.unique(np.minimum(u, v) * n + np.maximum(u, v))
    u, v = key // n, key % n
    return u, v, np.round(np.clip(s[u, v], 0, 1) * 1000).astype(int)


def test_matching_is_valid_and_near_exact():
    ratios = []
    for seed in range(4):
        n = 300
        u, v, w = knn_graph(n, seed)
        mate = max_weight_pairs(n, u, v, w, seed=seed)
        matched = np.flatnonzero(mate >= 0)
        assert np.all(mate[mate[matched]] == matched)  # mates are mutual
        assert np.all(mate != np.arange(n))
        edges = set(zip(u.tolist(), v.tolist()))
        assert all((min(i, j), max(i, j)) in edges for i, j in enumerate(mate.tolist()) if j >= 0)
        graph = nx.Graph()
        graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
        exact = sum(graph[a][b]["weight"] for a, b in nx.max_weight_matching(graph))
        ratios.append(matching_weight(mate, u, v, w) / exact)
        # The double cover's bound is a true upper bound, and the weight reported is the matching's.
        result = matching(n, u, v, w, seed=seed)
        assert result.weight == pytest.approx(matching_weight(result.mate, u, v, w))
        assert result.weight <= exact <= result.bound
    # Random 12-dimensional neighbours are harder than real cards (0.9999 at 2,000 people, docs/matcher.md).
    assert min(ratios) >= 0.99 and np.mean(ratios) >= 0.995, ratios


@pytest.mark.parametrize("weights, expected", [
    # A triangle: the LP's half-integral optimum is the whole odd cycle at 1/2; the best single edge wins.
    ({(0, 1): 5, (1, 2): 4, (0, 2): 3}, {(0, 1)}),
    # A 5-cycle with a pendant: the cycle's leftover (node 4) takes the pendant edge to 5.
    ({(0, 1): 10, (1, 2): 10, (2, 3): 10, (3, 4): 10, (0, 4): 10, (4, 5): 9}, None),
    # A path where the heaviest edge is not in the optimum (greedy would take (1, 2) alone).
    ({(0, 1): 2, (1, 2): 3, (2, 3): 2}, {(0, 1), (2, 3)}),
    # Two pairings 0.0008 apart: with the LP's weights rounded to 1/1000 they tied, and nobody was left alone to
    # repair the choice (seeds 2, 3 and 5 took 1.5; found in review).
    ({(0, 1): 1.0, (2, 3): 0.5, (1, 2): 0.7504, (0, 3): 0.7504}, {(1, 2), (0, 3)}),
])
def test_odd_cycles_and_paths_reach_the_exact_optimum(weights, expected):
    u, v = np.array([a for a, _ in weights]), np.array([b for _, b in weights])
    w = np.array(list(weights.values()), dtype=float)
    n = int(max(u.max(), v.max())) + 1
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
    exact = sum(graph[a][b]["weight"] for a, b in nx.max_weight_matching(graph))
    for seed in range(8):
        result = matching(n, u, v, w, seed=seed)
        assert result.weight == pytest.approx(exact, abs=1e-12) and result.bound >= exact
        pairs = {(i, j) for i, j in enumerate(result.mate.tolist()) if j > i}
        if expected is not None:
            assert pairs == expected


def test_seeds_spread_ties_over_equally_good_matchings():
    # A 12-cycle of equal weights has two perfect matchings; seeds must not always pick the same one.
    n = 12
    u, v, w = np.arange(n), (np.arange(n) + 1) % n, np.ones(n)
    seen = {tuple(max_weight_pairs(n, u, v, w, seed=seed).tolist()) for seed in range(12)}
    assert len(seen) == 2


def test_matching_is_deterministic_per_seed_and_ignores_nonpositive_edges():
    u, v, w = knn_graph(200, 7)
    assert np.array_equal(max_weight_pairs(200, u, v, w, seed=3), max_weight_pairs(200, u, v, w, seed=3))
    mate = max_weight_pairs(3, np.array([0, 1]), np.array([1, 2]), np.array([0.0, -1.0]))
    assert mate.tolist() == [-1, -1, -1]


def test_large_round_uses_candidates_and_stays_valid():
    topics = ["grant writing", "Kubernetes clusters", "seed funding", "logo design", "GDPR privacy",
              "Airflow pipelines", "public speaking", "tax returns", "podcast editing", "hiring engineers"]
    rng = np.random.default_rng(0)
    n = DENSE_MAX + 101  # odd, and past the exact path
    people = [person(pid, [f"I can help with {topics[rng.integers(10)]} {pid % 7}"],
                     [f"looking for {topics[rng.integers(10)]}"]) for pid in range(n)]
    engine = MatchEngine(FusedEncoder(WordVectors()))
    engine.upsert_many(people)
    result = engine.pair_round(seed=1)
    placed = [p for g in result.groups for p in g]
    assert len(placed) == len(set(placed)) == n
    assert sum(len(g) == 3 for g in result.groups) == 1
    assert result.total_weight > 0.3 * n / 2
    again = engine.pair_round(seed=1)
    first = {(g[i], g[j]) for g in result.groups for i in range(len(g)) for j in range(i + 1, len(g))}
    second = {(g[i], g[j]) for g in again.groups for i in range(len(g)) for j in range(i + 1, len(g))}
    assert not first & second


@pytest.mark.parametrize("present", [[1], []])
def test_round_with_nobody_to_pair(present, lexical_engine):
    for pid in (1, 2):
        lexical_engine.upsert(person(pid, ["x"], ["y"]))
    result = lexical_engine.pair_round(present=present)
    assert result.groups == [] and result.unpaired == present


def test_a_large_lexical_round_without_any_candidate_pair_does_not_crash(lexical_engine):
    """Regression: past DENSE_MAX, a round whose people share no rare term (lexical only: no vectors) raised
    IndexError while ranking an empty candidate list; now everyone is still placed, in arbitrary groups."""
    n = DENSE_MAX + 1
    lexical_engine.upsert_many([person(pid, ["help"], ["help"]) for pid in range(n)])
    result = lexical_engine.pair_round(seed=1)
    placed = [p for g in result.groups for p in g] + list(result.unpaired)
    assert sorted(placed) == list(range(n))


def test_rounds_weigh_pairs_by_uncapped_evidence(lexical_engine):
    """Capped at 1.0, strong pairs tie and the round picks among them by chance; weighed by evidence (as suggestions
    rank), it takes the pairing whose matches are strongest. An event where the two objectives disagree:"""
    vocab = ["kubernetes", "helm", "grants", "funding", "design", "logos", "python", "airflow"]
    for seed in range(50):
        rng = np.random.default_rng(seed)
        engine = MatchEngine(lexical_engine.encoder)
        n = 10
        for pid in range(n):
            offer = " ".join(rng.choice(vocab, size=3, replace=False))
            need = " ".join(rng.choice(vocab, size=3, replace=False))
            engine.upsert(person(pid, [offer], [need], tags=[str(rng.choice(vocab[:3]))]))
        capped, uncapped = nx.Graph(), nx.Graph()
        for a in range(n):
            for b in range(a + 1, n):
                match = engine.explain(a, b)
                capped.add_edge(a, b, weight=match.score)
                uncapped.add_edge(a, b, weight=match.evidence)

        def evidence_of(pairs):
            return sum(uncapped[a][b]["weight"] for a, b in pairs)

        best = evidence_of(nx.max_weight_matching(uncapped))
        if evidence_of(nx.max_weight_matching(capped)) < best - 1e-6:
            break
    else:
        pytest.fail("no event where capping changes the best round")
    result = engine.pair_round(seed=0)
    assert all(len(g) == 2 for g in result.groups) and len(result.groups) == n // 2
    assert evidence_of(result.groups) == pytest.approx(best, abs=1e-5)
    assert result.total_weight == pytest.approx(best, abs=1e-5)
