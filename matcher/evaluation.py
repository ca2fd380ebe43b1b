"""How well the matcher ranks: the labelled eval set split into a fit part and a held-out part, and a retrieval set.

- `matcher/data/eval_set.json`: each need is ranked against every offer in the pool (its correct offers plus
  everyone else's offers and the distractors); a hit is any of its correct offers. The needs are split by a hash of
  their text into a *fit* part, on which the fusion weights, the calibration and the live floor are fitted
  (`fit_fusion`), and a *held-out* part, on which they are reported.
- `matcher/data/retrieval_set.json`: need phrases, each with its right offer among a couple of thousand offers,
  generated from a facet grammar (tests/matcher/data/make_retrieval_set.py), not written like the eval set. It
  compares the engine's own `suggest` order (uncapped evidence) with plain MiniLM cosine and with the old order
  by capped score (ties broken by id).

Run `python -m matcher.evaluation` for the tables (docs/matcher.md, "Evaluation").
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .lexical import LexicalEncoder
from .scoring import BLEND, FUSED, Fusion

DATA = Path(__file__).with_name("data")
EVAL_SET = DATA / "eval_set.json"
RETRIEVAL_SET = DATA / "retrieval_set.json"
FIT, HELD_OUT = "fit", "held_out"
#: Lexical weights tried when fitting (the semantic weight is 1 minus it).
LEXICAL_WEIGHTS = tuple(round(0.05 * i, 2) for i in range(9))
#: Calibration points and floor as percentiles of the raw fused score on the fit part.
ZERO_UNRELATED_PCT, ONE_CORRECT_PCT, FLOOR_UNRELATED_PCT = 90, 95, 99


@dataclass(frozen=True)
class EvalSet:
    """Needs, the pool of offers, and for each need the indices of its correct offers."""

    needs: list[str]
    offers: list[str]
    correct: list[frozenset[int]]
    #: What kind of phrase each need is, when the set says (the retrieval set: "problem" or "direct").
    kinds: list[str] | None = None

    def subset(self, indices: list[int]) -> "EvalSet":
        """The same pool with only the needs at `indices`."""
        return EvalSet(needs=[self.needs[i] for i in indices], offers=self.offers,
                       correct=[self.correct[i] for i in indices],
                       kinds=[self.kinds[i] for i in indices] if self.kinds else None)


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


def load_retrieval_set(path: Path = RETRIEVAL_SET) -> EvalSet:
    """Read the retrieval set: {"offers": [...], "needs": [[text, [offer index, ...], kind], ...]}."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return EvalSet(needs=[n[0] for n in data["needs"]], offers=list(data["offers"]),
                   correct=[frozenset(n[1]) for n in data["needs"]], kinds=[n[2] for n in data["needs"]])


def part_of(need: str) -> str:
    """Which part a need is in, by a hash of its text: adding needs to the set never moves the others."""
    return FIT if zlib.crc32(need.encode("utf-8")) % 2 == 0 else HELD_OUT


def split(ev: EvalSet) -> dict[str, list[int]]:
    """Indices of the needs in each part."""
    parts: dict[str, list[int]] = {FIT: [], HELD_OUT: []}
    for i, need in enumerate(ev.needs):
        parts[part_of(need)].append(i)
    return parts


def rank_metrics(sims: np.ndarray, correct: list[frozenset[int]]) -> dict[str, float]:
    """recall@1, recall@5 and MRR from a (needs x offers) similarity matrix; ties rank pessimistically."""
    ranks = []
    for i, gold in enumerate(correct):
        row = sims[i]
        best_gold = max(row[j] for j in gold)
        # Rank of the best correct offer: 1 + offers strictly better, + wrong offers tied with it.
        wrong = np.ones(len(row), dtype=bool)
        wrong[list(gold)] = False
        ranks.append(1 + int((row[wrong] >= best_gold).sum()))
    return metrics_of_ranks(ranks)


def metrics_of_ranks(ranks: list[int]) -> dict[str, float]:
    """recall@1, recall@5 and MRR from the rank (1 = first) of each query's best correct answer."""
    r = np.asarray(ranks, dtype=np.float64)
    return {"recall@1": float(np.mean(r <= 1)), "recall@5": float(np.mean(r <= 5)), "mrr": float(np.mean(1 / r))}


def lexical_similarities(ev: EvalSet) -> np.ndarray:
    """Lexical cosine of every need with every offer, IDF fitted on the needs and offers together."""
    vecs = LexicalEncoder().encode(ev.needs + ev.offers)
    return vecs[: len(ev.needs)] @ vecs[len(ev.needs):].T


def semantic_similarities(ev: EvalSet, semantic) -> np.ndarray:
    vecs = np.asarray(semantic.encode(ev.needs + ev.offers), dtype=np.float32)
    return vecs[: len(ev.needs)] @ vecs[len(ev.needs):].T


def fused_similarities(lexical: np.ndarray, semantic: np.ndarray | None, fusion=FUSED) -> np.ndarray:
    """The engine's card evidence (uncapped, as suggestions rank; no tags: the set has none)."""
    if semantic is None:
        return lexical
    return fusion.evidence(semantic, lexical, 0.0)


def evaluate(semantic=None, ev: EvalSet | None = None, fusion=FUSED) -> dict[str, dict[str, float]]:
    """Metrics for lexical, and semantic and fused when a semantic encoder is given (on all of `ev`)."""
    ev = ev or load_eval_set()
    lex = lexical_similarities(ev)
    sem = semantic_similarities(ev, semantic) if semantic is not None else None
    return _metrics(lex, sem, ev.correct, fusion)


def _metrics(lex, sem, correct, fusion) -> dict[str, dict[str, float]]:
    out = {"lexical": rank_metrics(lex, correct)}
    if sem is not None:
        out["semantic"] = rank_metrics(sem, correct)
        out["fused"] = rank_metrics(fused_similarities(lex, sem, fusion), correct)
    return out


def calibration_stats(lexical: np.ndarray, semantic: np.ndarray | None, correct: list[frozenset[int]],
                      fusion=FUSED) -> dict[str, float]:
    """Percentiles of the raw fused score for correct and for unrelated pairs (to place zero, one and the floor)."""
    raw = fusion.raw(semantic if semantic is not None else 0.0, lexical, 0.0)
    gold = np.zeros_like(raw, dtype=bool)
    for i, g in enumerate(correct):
        gold[i, list(g)] = True
    pos, neg = raw[gold], raw[~gold]
    return {"correct_p10": float(np.percentile(pos, 10)), "correct_p50": float(np.percentile(pos, 50)),
            "correct_p90": float(np.percentile(pos, 90)), "correct_p95": float(np.percentile(pos, 95)),
            "unrelated_p50": float(np.percentile(neg, 50)), "unrelated_p90": float(np.percentile(neg, 90)),
            "unrelated_p95": float(np.percentile(neg, 95)), "unrelated_p99": float(np.percentile(neg, 99))}


def fit_fusion(lexical: np.ndarray, semantic: np.ndarray, correct: list[frozenset[int]],
               tags: float = FUSED.tags) -> tuple[Fusion, list[tuple[float, dict[str, float]]]]:
    """Fit the text weights, calibration and live floor on these needs only; also returns the weight grid's metrics.

    - the lexical weight (semantic = 1 - it) maximizes recall@5, then MRR; ranking needs no calibration;
    - `zero` = the unrelated pairs' p90 of the raw score, `one` = the correct pairs' p95;
    - `floor` = the reciprocal score of a one-way match whose card evidence is the unrelated pairs' p99: a live
      suggestion must beat what one unrelated pair in a hundred reaches. The tag weight is a judgement (no tags here).
    """
    grid = []
    for w in LEXICAL_WEIGHTS:
        trial = Fusion(semantic=round(1 - w, 2), lexical=w, tags=tags, zero=0.0, one=1.0)
        grid.append((w, rank_metrics(trial.raw(semantic, lexical, 0.0), correct)))
    best_w = max(grid, key=lambda g: (round(g[1]["recall@5"], 6), round(g[1]["mrr"], 6), -g[0]))[0]
    fusion = Fusion(semantic=round(1 - best_w, 2), lexical=best_w, tags=tags, zero=0.0, one=1.0)
    stats = calibration_stats(lexical, semantic, correct, fusion)
    fusion = replace(fusion, zero=round(stats[f"unrelated_p{ZERO_UNRELATED_PCT}"], 3),
                     one=round(stats[f"correct_p{ONE_CORRECT_PCT}"], 3))
    floor = BLEND * float(fusion.uncapped(stats[f"unrelated_p{FLOOR_UNRELATED_PCT}"]))
    return replace(fusion, floor=round(floor, 3)), grid


def floor_pass_rates(lexical: np.ndarray, semantic: np.ndarray, correct: list[frozenset[int]],
                     fusion=FUSED) -> dict[str, float]:
    """Share of correct and of unrelated one-way card pairs whose reciprocal score clears the floor."""
    r = BLEND * fusion.similarity(semantic, lexical, 0.0)
    gold = np.zeros_like(r, dtype=bool)
    for i, g in enumerate(correct):
        gold[i, list(g)] = True
    return {"correct": float(np.mean(r[gold] > fusion.floor)), "unrelated": float(np.mean(r[~gold] > fusion.floor))}


def split_report(semantic, ev: EvalSet | None = None, fusion=FUSED) -> dict:
    """Fit on the fit part, and report the shipped fusion on each part: {part: {"n", "metrics", ...}, "fitted"}."""
    ev = ev or load_eval_set()
    lex, sem = lexical_similarities(ev), semantic_similarities(ev, semantic)
    parts = split(ev)
    out: dict = {}
    for name, idx in parts.items():
        correct = [ev.correct[i] for i in idx]
        out[name] = {"n": len(idx), "metrics": _metrics(lex[idx], sem[idx], correct, fusion),
                     "calibration": calibration_stats(lex[idx], sem[idx], correct, fusion),
                     "floor": floor_pass_rates(lex[idx], sem[idx], correct, fusion)}
    fit_idx = parts[FIT]
    fitted, grid = fit_fusion(lex[fit_idx], sem[fit_idx], [ev.correct[i] for i in fit_idx])
    out["fitted"], out["grid"] = fitted, grid
    return out


def retrieval_report(encoder, ev: EvalSet | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics on the retrieval set, for all needs and each kind: suggest's order, the old capped order, cosines.

    Every offer and every need is a person with that one card, all in one engine (its lexical IDF is the event's).
    For each need the offers are ranked as `suggest` ranks them (uncapped evidence, then id) and as it used to
    (capped score, then id); ranks are exact positions, so ties cost what the id order makes them cost. The
    cosines rank with ties counted against them (`rank_metrics`).
    """
    from .encoders import semantic_of
    from .engine import MatchEngine
    from .profiles import Card, Profile

    ev = ev or load_retrieval_set()
    engine = MatchEngine(encoder, capacity=10 ** 9)
    n = len(ev.offers)
    people = [Profile(i, offers=[Card(text)], needs=[]) for i, text in enumerate(ev.offers)]
    people += [Profile(n + q, offers=[], needs=[Card(text)]) for q, text in enumerate(ev.needs)]
    engine.upsert_many(people)
    ranks: dict[str, list[int]] = {"suggest (uncapped evidence)": [], "old suggest (capped, ties by id)": []}
    ties = []
    for q, gold in enumerate(ev.correct):
        ids, evidence, scores = engine.ranked(n + q, min_score=-1.0)
        keep = ids < n
        ids, evidence, scores = ids[keep], evidence[keep], scores[keep]
        ranks["suggest (uncapped evidence)"].append(_first_position(ids, gold))
        ranks["old suggest (capped, ties by id)"].append(_first_position(ids[np.lexsort((ids, -scores))], gold))
        ties.append(int((evidence > scores).sum()))  # their score was capped
    cosines = {"lexical cosine": lexical_similarities(ev)}
    semantic = semantic_of(encoder)
    if semantic is not None:
        cosines["MiniLM cosine"] = semantic_similarities(ev, semantic)
    kinds = ev.kinds or ["all"] * len(ev.needs)
    out = {}
    for kind in ["all", *dict.fromkeys(k for k in kinds if k != "all")]:
        idx = [i for i, k in enumerate(kinds) if kind == "all" or k == kind]
        rows = {name: metrics_of_ranks([r[i] for i in idx]) for name, r in ranks.items()}
        rows.update({name: rank_metrics(sims[idx], [ev.correct[i] for i in idx]) for name, sims in cosines.items()})
        rows["capped"] = {"mean": float(np.mean([ties[i] for i in idx]))}
        out[kind] = rows
    return out


def _first_position(order: np.ndarray, gold: frozenset[int]) -> int:
    """1-based position of the first correct id in a ranking."""
    hits = np.flatnonzero(np.isin(order, list(gold)))
    return int(hits[0]) + 1 if hits.size else len(order) + 1


def _table(rows: dict[str, dict[str, float]]) -> list[str]:
    width = max(len(name) for name in rows)
    return [f"  {name:{width}s}  recall@1 {m['recall@1']:.3f}  recall@5 {m['recall@5']:.3f}  MRR {m['mrr']:.3f}"
            for name, m in rows.items()]


def main() -> None:
    from .encoders import default_encoder, semantic_of
    encoder = default_encoder()
    semantic = semantic_of(encoder)
    ev = load_eval_set()
    print(f"eval set: {len(ev.needs)} needs, {len(ev.offers)} offers")
    if semantic is None:
        print("no MiniLM model: lexical only")
        print("\n".join(_table(evaluate(None, ev))))
        return
    report = split_report(semantic, ev)
    for part, label in ((HELD_OUT, "held-out part (not used for fitting)"), (FIT, "fit part")):
        print(f"{label}: {report[part]['n']} needs")
        print("\n".join(_table(report[part]["metrics"])))
        floor = report[part]["floor"]
        print(f"  floor {FUSED.floor}: cleared by {floor['correct']:.1%} of correct one-way pairs, "
              f"{floor['unrelated']:.2%} of unrelated ones")
    fitted = report["fitted"]
    print(f"fitted on the fit part: {fitted}  (shipped: {FUSED})")
    print("lexical weight grid on the fit part: " + ", ".join(
        f"{w:.2f} -> recall@5 {m['recall@5']:.3f}" for w, m in report["grid"]))
    cal = report[FIT]["calibration"]
    print("fit part raw score percentiles: " + ", ".join(f"{k} {v:.3f}" for k, v in cal.items()))
    rs = load_retrieval_set()
    print(f"retrieval set: {len(rs.needs)} needs, {len(rs.offers)} offers")
    for kind, rows in retrieval_report(encoder, rs).items():
        capped = rows.pop("capped")["mean"]
        print(f"{kind} needs ({capped:.1f} offers per need above the old ceiling):")
        print("\n".join(_table(rows)))


if __name__ == "__main__":
    main()
