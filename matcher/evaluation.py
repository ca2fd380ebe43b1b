"""Recall@1, recall@5 and MRR of encoders on the labelled needs/offers set in matcher/data/eval_set.json.

Each need is ranked against every offer in the pool (its correct offers plus everyone else's offers and the
distractors); a hit is any of its correct offers. Run `python -m matcher.evaluation` for the table.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lexical import LexicalEncoder
from .scoring import FUSED

EVAL_SET = Path(__file__).with_name("data") / "eval_set.json"


@dataclass(frozen=True)
class EvalSet:
    """Needs, the pool of offers, and for each need the indices of its correct offers."""

    needs: list[str]
    offers: list[str]
    correct: list[frozenset[int]]


def load_eval_set(path: Path = EVAL_SET) -> EvalSet:
    """Read the set; offers keep their first-seen order so indices are stable."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    index: dict[str, int] = {}
    needs, correct = [], []
    for need, *offers in data["pairs"]:
        needs.append(need)
        correct.append(frozenset(index.setdefault(o, len(index)) for o in offers))
    for offer in data["distractors"]:
        index.setdefault(offer, len(index))
    return EvalSet(needs=needs, offers=list(index), correct=correct)


def rank_metrics(sims: np.ndarray, correct: list[frozenset[int]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR from a (needs x offers) similarity matrix; ties rank pessimistically."""
    r1 = r5 = rr = 0.0
    for i, gold in enumerate(correct):
        row = sims[i]
        best_gold = max(row[j] for j in gold)
        # Rank of the best correct offer: 1 + offers strictly better, + wrong offers tied with it.
        wrong = np.ones(len(row), dtype=bool)
        wrong[list(gold)] = False
        rank = 1 + int((row[wrong] >= best_gold).sum())
        r1 += rank <= 1
        r5 += rank <= 5
        rr += 1.0 / rank
    n = len(correct)
    return {"recall@1": r1 / n, "recall@5": r5 / n, "mrr": rr / n}


def lexical_similarities(ev: EvalSet) -> np.ndarray:
    """Lexical cosine of every need with every offer, IDF fitted on the needs and offers together."""
    vecs = LexicalEncoder().encode(ev.needs + ev.offers)
    return vecs[: len(ev.needs)] @ vecs[len(ev.needs):].T


def semantic_similarities(ev: EvalSet, semantic) -> np.ndarray:
    vecs = np.asarray(semantic.encode(ev.needs + ev.offers), dtype=np.float32)
    return vecs[: len(ev.needs)] @ vecs[len(ev.needs):].T


def fused_similarities(lexical: np.ndarray, semantic: np.ndarray | None, fusion=FUSED) -> np.ndarray:
    """The engine's card similarity (without tags: the set has none) from the two cosine matrices."""
    if semantic is None:
        return lexical
    return fusion.similarity(semantic, lexical, 0.0) + 1e-6 * fusion.raw(semantic, lexical, 0.0)


def evaluate(semantic=None, ev: EvalSet | None = None) -> dict[str, dict[str, float]]:
    """Metrics for lexical, and semantic and fused when a semantic encoder is given."""
    ev = ev or load_eval_set()
    lex = lexical_similarities(ev)
    out = {"lexical": rank_metrics(lex, ev.correct)}
    if semantic is not None:
        sem = semantic_similarities(ev, semantic)
        out["semantic"] = rank_metrics(sem, ev.correct)
        out["fused"] = rank_metrics(fused_similarities(lex, sem), ev.correct)
    return out


def calibration_stats(lexical: np.ndarray, semantic: np.ndarray | None, correct: list[frozenset[int]],
                      fusion=FUSED) -> dict[str, float]:
    """Percentiles of the raw fused score for correct and for unrelated pairs (to place zero and one)."""
    raw = fusion.raw(semantic if semantic is not None else 0.0, lexical, 0.0)
    gold = np.zeros_like(raw, dtype=bool)
    for i, g in enumerate(correct):
        gold[i, list(g)] = True
    pos, neg = raw[gold], raw[~gold]
    return {"correct_p10": float(np.percentile(pos, 10)), "correct_p50": float(np.percentile(pos, 50)),
            "unrelated_p50": float(np.percentile(neg, 50)), "unrelated_p90": float(np.percentile(neg, 90)),
            "unrelated_p99": float(np.percentile(neg, 99))}


def main() -> None:
    from .encoders import default_encoder, semantic_of
    semantic = semantic_of(default_encoder())
    ev = load_eval_set()
    print(f"{len(ev.needs)} needs, {len(ev.offers)} offers")
    for name, m in evaluate(semantic, ev).items():
        print(f"{name:9s} recall@1 {m['recall@1']:.3f}  recall@5 {m['recall@5']:.3f}  MRR {m['mrr']:.3f}")


if __name__ == "__main__":
    main()
