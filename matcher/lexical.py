"""Lexical similarity: BM25-style weights over stemmed terms, so rare exact words ("Kubernetes", "GDPR") count.

Two users of the same term weights:

- `LexicalEncoder.encode(texts)` is standalone: IDF fitted on the batch (plus any `fit` corpus), terms hashed into
  a fixed number of signed buckets, rows L2-normalized. STS-B and the evaluation compare encoders through it.
- `LexicalIndex` is the engine's incremental index: document frequencies updated on every add/remove, postings per
  term, so scoring one card against every stored card costs its own terms' postings, never a rebuild.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import snowballstemmer

#: BM25 term-frequency saturation; cards are short, so length normalization (b) is left to the cosine.
K1 = 1.2

# Filler that every card shares ("I can help with", "looking for someone who"), plus the usual English stopwords.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further get getting got had has have having he her
here hers herself him himself his how i if in into is it its itself just let like me more most my myself no nor not
now of off on once only or other our ours ourselves out over own really same she should so some someone somebody
something such than that the their theirs them themselves then there these they this those through to too under
until up very want wanted was we were what when where which while who whom why will with would you your yours
yourself yourselves i'm im i've ive we're we've we'd you're anyone anybody looking look need needs needed needing
help helping helps offer offering happy glad love keen interested able thing things stuff lot lots bit kind sort
us etc via per maybe
""".split())

_WORD = re.compile(r"[\w][\w'’\-+#.]*[\w+#]|[\w]", re.UNICODE)
_stemmer = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=1 << 16)
def _stem(word: str) -> str:
    """Snowball in pure Python costs ~0.2 ms a word; event vocabularies are small, so cache."""
    return _stemmer.stemWord(word)


def _is_cjk(ch: str) -> bool:
    """Han, kana and Hangul have no spaces between words: they are matched on character bigrams."""
    cp = ord(ch)
    return (0x3040 <= cp <= 0x30FF or 0x3400 <= cp <= 0x4DBF or 0x4E00 <= cp <= 0x9FFF or 0xAC00 <= cp <= 0xD7AF
            or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F)


def _is_latin(word: str) -> bool:
    return all(ord(ch) < 0x250 for ch in word)


def terms(text: str) -> list[str]:
    """The index terms of a text: stemmed English words, other scripts as words, CJK as character bigrams."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group().strip("'’-.").replace("’", "'")
        if not word:
            continue
        if any(_is_cjk(ch) for ch in word):
            out.extend(_cjk_terms(word))
            continue
        if word in STOPWORDS or word.isdigit() and len(word) < 2:
            continue
        if _is_latin(word):
            # "series-a" and "series a" should meet: split hyphenated words, keep the joined form too.
            parts = [p for p in re.split(r"[-']", word) if p and p not in STOPWORDS]
            if len(parts) > 1 or "-" in word and parts:
                out.extend(_stem(p) for p in parts)
            word = _stem(word.replace("'", ""))
        out.append(word)
    return out


def _cjk_terms(word: str) -> list[str]:
    """Character bigrams of the CJK runs in a word, single characters for runs of one; other runs as words."""
    out, run, rest = [], [], []
    for ch in word + " ":
        if _is_cjk(ch):
            if rest:
                out.append("".join(rest))
                rest = []
            run.append(ch)
            continue
        if run:
            out.extend(run if len(run) == 1 else ["".join(run[i:i + 2]) for i in range(len(run) - 1)])
            run = []
        if ch != " ":
            rest.append(ch)
    if rest:
        out.append("".join(rest))
    return out


@functools.lru_cache(maxsize=1 << 14)
def term_weights(text: str) -> dict[str, float]:
    """BM25-saturated term frequencies of one text (before IDF); cached, so callers must not modify it."""
    counts = Counter(terms(text))
    return {t: tf * (K1 + 1.0) / (tf + K1) for t, tf in counts.items()}


def idf(df: float | np.ndarray, n_docs: float) -> float | np.ndarray:
    """BM25's inverse document frequency, kept positive (the '1 +' of Lucene) so common terms still count a little."""
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


class LexicalEncoder:
    """Standalone lexical vectors: hashed, IDF-weighted, L2-normalized (sparse terms as a dense row)."""

    model_id = "lexical"
    semantic = None

    def __init__(self, dim: int = 1 << 13):
        self.dim = dim
        self._df: Counter[str] = Counter()
        self._n_docs = 0

    def fit(self, corpus: Iterable[str]) -> "LexicalEncoder":
        """Add a background corpus to the document frequencies used by `encode`."""
        for text in corpus:
            self._df.update(set(terms(text)))
            self._n_docs += 1
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32 rows; IDF from the fitted corpus plus the batch itself. Empty texts give zero rows."""
        weights = [term_weights(t) for t in texts]
        df = Counter(self._df)
        for w in weights:
            df.update(w.keys())
        n_docs = self._n_docs + len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, w in enumerate(weights):
            for term, tf in w.items():
                bucket, sign = _hash(term, self.dim)
                out[i, bucket] += sign * tf * float(idf(df[term], n_docs))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def _hash(term: str, dim: int) -> tuple[int, float]:
    """A stable bucket and sign for a term (crc32, not hash(): the same across processes)."""
    h = zlib.crc32(term.encode("utf-8"))
    return h % dim, 1.0 if (h >> 31) & 1 else -1.0


class LexicalIndex:
    """Incremental postings of two kinds of cards (offers, needs) with shared document frequencies.

    Rows are the engine's card rows (stable while a card lives, reused after removal). Norms use the IDF of the
    time they were last refreshed; `add` refreshes all of them when the corpus has grown or shrunk by a quarter,
    so a cosine stays within a few percent of exact without a rebuild per card.
    """

    KINDS = ("offer", "need")

    def __init__(self):
        self.df: Counter[str] = Counter()
        self.n_docs = 0
        self._postings: dict[str, dict[str, _Posting]] = {kind: {} for kind in self.KINDS}
        self._rows = {kind: {} for kind in self.KINDS}       # kind -> row -> {term: weight}
        self.norms = {kind: np.zeros(0, dtype=np.float64) for kind in self.KINDS}
        self._norm_docs = 0
        # The same terms as numbers, for bulk scoring (snapshot): a term id per term, per-row id/weight arrays.
        self._term_ids: dict[str, int] = {}
        self._df_by_id = np.zeros(1024, dtype=np.float64)
        self._row_arrays = {kind: {} for kind in self.KINDS}   # kind -> row -> (term ids, tf weights)

    def add(self, kind: str, row: int, text: str) -> None:
        """Index one card's text under its row."""
        weights = term_weights(text)
        self._rows[kind][row] = weights
        postings = self._postings[kind]
        for term, w in weights.items():
            posting = postings.get(term)
            if posting is None:
                posting = postings[term] = _Posting()
            posting.add(row, w)
        self.df.update(weights.keys())
        self.n_docs += 1
        tids = np.array([self._term_id(t) for t in weights], dtype=np.int64)
        self._row_arrays[kind][row] = (tids, np.fromiter(weights.values(), dtype=np.float64, count=len(weights)))
        self._df_by_id[tids] += 1.0
        self._ensure_norm_room(kind, row)
        self.norms[kind][row] = self._norm(weights)
        if self._norm_docs == 0 or abs(self.n_docs - self._norm_docs) > 0.25 * self._norm_docs:
            self.refresh_norms()

    def discard(self, kind: str, row: int) -> None:
        """Forget a card's row (no-op if the row holds nothing)."""
        weights = self._rows[kind].pop(row, None)
        if weights is None:
            return
        postings = self._postings[kind]
        for term in weights:
            postings[term].remove(row)
            if not postings[term].size:
                del postings[term]
            self.df[term] -= 1
            if self.df[term] <= 0:
                del self.df[term]
        self.n_docs -= 1
        self.norms[kind][row] = 0.0
        tids, _ = self._row_arrays[kind].pop(row)
        self._df_by_id[tids] -= 1.0

    def _term_id(self, term: str) -> int:
        tid = self._term_ids.get(term)
        if tid is None:
            tid = self._term_ids[term] = len(self._term_ids)
            if tid >= len(self._df_by_id):
                self._df_by_id = np.concatenate([self._df_by_id, np.zeros(len(self._df_by_id))])
        return tid

    def refresh_norms(self) -> None:
        """Recompute every stored norm with the current IDF."""
        self._norm_docs = max(self.n_docs, 1)
        for kind in self.KINDS:
            for row, weights in self._rows[kind].items():
                self.norms[kind][row] = self._norm(weights)

    def query_weights(self, text_or_weights: str | dict[str, float]) -> tuple[dict[str, float], float]:
        """IDF-weighted terms of a query and its norm under the current IDF."""
        weights = term_weights(text_or_weights) if isinstance(text_or_weights, str) else text_or_weights
        q = {t: w * float(idf(self.df.get(t, 0), max(self.n_docs, 1))) for t, w in weights.items()}
        return q, math.sqrt(sum(v * v for v in q.values()))

    def row_scores(self, kind: str, row: int, target: str, size: int) -> np.ndarray:
        """Cosine of a stored row against every row of `target`, with stored norms (as `pair_scores`)."""
        return self.scores(target, self._rows[kind].get(row, {}), size, query_norm=float(self.norms[kind][row]))

    def scores(self, kind: str, query: str | dict[str, float], size: int,
               query_norm: float | None = None) -> np.ndarray:
        """Cosine of the query against every row of `kind`, as a dense array of length `size`."""
        q, qnorm = self.query_weights(query)
        if query_norm is not None:
            qnorm = query_norm
        out = np.zeros(size, dtype=np.float64)
        if qnorm == 0:
            return out
        rows_parts, val_parts = [], []
        for term, qw in q.items():
            arrays = self._posting_arrays(kind, term)
            if arrays is None:
                continue
            rows, w = arrays
            rows_parts.append(rows)
            # A stored row's weight is tf * idf; the query side already carries idf.
            val_parts.append(w * (qw * float(idf(self.df[term], max(self.n_docs, 1)))))
        if not rows_parts:
            return out
        rows = np.concatenate(rows_parts)
        vals = np.concatenate(val_parts)
        out[: size] = np.bincount(rows, weights=vals, minlength=size)[:size]
        norms = self.norms[kind][:size]
        np.divide(out, norms * qnorm, out=out, where=norms > 0)
        return np.minimum(out, 1.0, out=out)

    def pair_scores(self, offer_rows: np.ndarray, need_rows: np.ndarray) -> np.ndarray:
        """Cosine of (offer row, need row) pairs, vectorized over the pairs."""
        out = np.zeros(len(offer_rows), dtype=np.float64)
        offers, needs = self._rows["offer"], self._rows["need"]
        n_docs = max(self.n_docs, 1)
        idf_cache: dict[str, float] = {}
        for i, (o, n) in enumerate(zip(offer_rows.tolist(), need_rows.tolist())):
            wo, wn = offers.get(o), needs.get(n)
            if not wo or not wn:
                continue
            if len(wo) > len(wn):
                small, big = wn, wo
            else:
                small, big = wo, wn
            dot = 0.0
            for term, w in small.items():
                other = big.get(term)
                if other is not None:
                    f = idf_cache.get(term)
                    if f is None:
                        f = idf_cache[term] = float(idf(self.df[term], n_docs))
                    dot += w * other * f * f
            if dot:
                denom = self.norms["offer"][o] * self.norms["need"][n]
                out[i] = min(dot / denom, 1.0) if denom > 0 else 0.0
        return out

    def snapshot(self, kind: str, rows: np.ndarray) -> "SparseRows":
        """The given rows' IDF-weighted terms as sorted (row, term id) keys, for scoring many pairs at once."""
        arrays = self._row_arrays[kind]
        empty = (np.zeros(0, np.int64), np.zeros(0))
        parts = [arrays.get(row, empty) for row in rows.tolist()]
        counts = np.fromiter((len(p[0]) for p in parts), dtype=np.int64, count=len(parts))
        if counts.sum() == 0:
            return SparseRows(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), self.norms[kind])
        tids = np.concatenate([p[0] for p in parts])
        tf = np.concatenate([p[1] for p in parts])
        weights = tf * idf(self._df_by_id[tids], max(self.n_docs, 1))
        return SparseRows(np.repeat(rows, counts), tids, weights, self.norms[kind])

    def row_terms(self, kind: str, row: int) -> dict[str, float]:
        return self._rows[kind].get(row, {})

    def _posting_arrays(self, kind: str, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        posting = self._postings[kind].get(term)
        return posting.arrays() if posting is not None else None

    def _norm(self, weights: dict[str, float]) -> float:
        n_docs = max(self.n_docs, 1)
        return math.sqrt(sum((w * float(idf(self.df.get(t, 0), n_docs))) ** 2 for t, w in weights.items()))

    def _ensure_norm_room(self, kind: str, row: int) -> None:
        norms = self.norms[kind]
        if row >= len(norms):
            grown = np.zeros(max(2 * len(norms), row + 1, 64), dtype=np.float64)
            grown[: len(norms)] = norms
            self.norms[kind] = grown


class _Posting:
    """The rows holding one term, as arrays kept current on every add/remove (swap-remove, grown by doubling)."""

    __slots__ = ("rows", "weights", "size", "where")

    def __init__(self):
        self.rows = np.empty(4, dtype=np.int64)
        self.weights = np.empty(4, dtype=np.float64)
        self.size = 0
        self.where: dict[int, int] = {}

    def add(self, row: int, weight: float) -> None:
        if self.size == len(self.rows):
            self.rows = np.concatenate([self.rows, np.empty(self.size, dtype=np.int64)])
            self.weights = np.concatenate([self.weights, np.empty(self.size)])
        self.rows[self.size] = row
        self.weights[self.size] = weight
        self.where[row] = self.size
        self.size += 1

    def remove(self, row: int) -> None:
        i = self.where.pop(row)
        last = self.size - 1
        if i != last:
            moved = int(self.rows[last])
            self.rows[i] = moved
            self.weights[i] = self.weights[last]
            self.where[moved] = i
        self.size = last

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.rows[: self.size], self.weights[: self.size]


class SparseRows:
    """Sparse row vectors as parallel arrays sorted by (row, column): exact dot products of many row pairs."""

    STRIDE = 1 << 32  # row * STRIDE + column is the sort key; columns (terms, tags) stay far below 2**32

    def __init__(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, norms: np.ndarray):
        self.rows, self.cols, self.vals, self.norms = rows, cols, vals, norms
        self.keys = rows * self.STRIDE + cols
        order = np.argsort(self.keys, kind="stable")
        self.rows, self.cols, self.vals, self.keys = rows[order], cols[order], vals[order], self.keys[order]

    @classmethod
    def build(cls, keys: list[tuple[int, int]], vals: list[float], norms: np.ndarray) -> "SparseRows":
        arr = np.array(keys, dtype=np.int64).reshape(-1, 2)
        return cls(arr[:, 0].copy(), arr[:, 1].copy(), np.array(vals, dtype=np.float64), norms)

    def cosines(self, mine: np.ndarray, other: "SparseRows", theirs: np.ndarray) -> np.ndarray:
        """Cosine of row mine[i] (of self) with row theirs[i] (of other), for every i."""
        out = np.zeros(len(mine), dtype=np.float64)
        if len(mine) == 0 or len(self.rows) == 0 or len(other.rows) == 0:
            return out
        # Entries of each of my rows: [start, end) in the sorted arrays.
        start = np.searchsorted(self.rows, mine, side="left")
        end = np.searchsorted(self.rows, mine, side="right")
        lengths = end - start
        total = int(lengths.sum())
        if total == 0:
            return out
        pair = np.repeat(np.arange(len(mine)), lengths)
        offsets = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        idx = np.repeat(start, lengths) + offsets
        wanted = theirs[pair] * self.STRIDE + self.cols[idx]
        pos = np.searchsorted(other.keys, wanted)
        pos = np.minimum(pos, len(other.keys) - 1)
        hit = other.keys[pos] == wanted
        dots = np.bincount(pair[hit], weights=self.vals[idx[hit]] * other.vals[pos[hit]], minlength=len(mine))
        denom = self.norms[mine] * other.norms[theirs]
        np.divide(dots, denom, out=out, where=denom > 0)
        return np.minimum(out, 1.0, out=out)
