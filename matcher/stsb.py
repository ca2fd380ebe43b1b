"""STS Benchmark: how well an encoder's cosine similarities rank sentence pairs the way people do.

The standard check of a sentence encoder: Spearman correlation (x100) between the cosine of the two sentences'
embeddings and the human similarity score, over the 1,379 pairs of the test split. Used by tests and benchmarks.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: sentence-transformers' published STS-B test figure for all-MiniLM-L6-v2
PUBLISHED_MINILM_SPEARMAN = 82.03


@dataclass(frozen=True)
class StsPairs:
    """Sentence pairs with their gold similarity (0-5)."""

    first: list[str]
    second: list[str]
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.first)


def default_stsb_path() -> Path:
    """`GIVETAKE_STSB`, else the shared copy next to the repository (`<repo>/../shared/data/stsb/sts-test.csv`)."""
    configured = os.environ.get("GIVETAKE_STSB")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parent.parent
    return repo.parent / "shared" / "data" / "stsb" / "sts-test.csv"


def load_stsb(path: str | Path | None = None) -> StsPairs:
    """Read the tab-separated test split (genre, file, year, id, score, sentence 1, sentence 2[, sources])."""
    path = Path(path) if path is not None else default_stsb_path()
    if not path.is_file():
        raise FileNotFoundError(f"STS Benchmark file not found at {path} (set GIVETAKE_STSB to its location)")
    first, second, scores = [], [], []
    with path.open(encoding="utf-8", newline="") as f:
        # Several sentences contain quote characters: they are text, not CSV quoting.
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) < 7:
                continue
            scores.append(float(row[4]))
            first.append(row[5])
            second.append(row[6])
    return StsPairs(first, second, np.asarray(scores, dtype=np.float64))


def rank_average(values: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the average of their ranks (as scipy.stats.rankdata does)."""
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], len(values)]
    average = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = average[np.cumsum(starts_group) - 1]
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation: the Pearson correlation of the average ranks."""
    rx, ry = rank_average(x), rank_average(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denominator = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / denominator) if denominator else 0.0


def pair_cosines(encoder, pairs: StsPairs) -> np.ndarray:
    """Cosine of each pair under `encoder` (anything with `encode(texts)`); each distinct sentence encoded once."""
    unique = list(dict.fromkeys(pairs.first + pairs.second))
    index = {text: i for i, text in enumerate(unique)}
    vectors = np.asarray(encoder.encode(unique), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    # Rows should already be unit length; dividing anyway keeps encoders that are not normalized honest.
    vectors /= np.where(norms > 0, norms, 1.0)[:, None]
    a = vectors[[index[t] for t in pairs.first]]
    b = vectors[[index[t] for t in pairs.second]]
    return (a * b).sum(axis=1)


def stsb_spearman(encoder, path: str | Path | None = None) -> float:
    """Spearman x100 between `encoder`'s cosine similarities and the STS-B test scores."""
    pairs = load_stsb(path)
    return 100.0 * spearman(pair_cosines(encoder, pairs), pairs.scores)
