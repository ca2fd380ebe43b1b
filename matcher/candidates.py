"""A round's graph: every pair scored in dense blocks for small rounds, nominated candidates for large ones."""
from __future__ import annotations

import numpy as np

from .lexical import SparseRows
from .profiles import NEED, OFFER, groups_allow
from .roster import Roster
from .scoring import Fusion, reciprocal

#: Rows of card matrices scored at once when building a round's graph (bounds memory to rows x this).
BLOCK_ROWS = 512
#: Up to this many people a round scores every pair exactly; above, candidates first (see sparse_graph).
DENSE_MAX = 400
#: Nearest cards of the other kind each card nominates in a large round.
NEIGHBOUR_CARDS = 6
#: Candidates kept per person, as a multiple of the graph's k, before exact scoring.
CANDIDATES_PER_K = 1.5
#: Terms and tags at most this frequent nominate every pair that shares them in a large round.
RARE_DF = 24
#: Card pairs per chunk when gathering semantic vectors for exact pair scores: two gathers of this many 384-float
#: rows are alive at once (65,536 made 200 MB; this, 25 MB, at the same speed).
PAIR_CHUNK = 8192
#: Card rows assigned to k-means cells at once (a rows x cells block), and person pairs scored at once by
#: PresentCards.directional: unchunked, these intermediates grew to gigabytes at 100,000 people.
SCORE_CHUNK = 4096
PERSON_PAIR_CHUNK = 65_536

Graph = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (ids, u, v, weight), u < v indexing ids
#: (rule, group code of each id): who may meet whom by group (matcher.profiles.GROUP_RULES), or None for anyone.
Groups = tuple[str, np.ndarray] | None


def block_scores(roster: Roster, fusion: Fusion, kind: str, target: str, slots: np.ndarray, index_of: np.ndarray,
                 n: int) -> np.ndarray:
    """Dense s(i -> j) among the given people: kind rows of i against target rows of j, max over card pairs of
    the uncapped evidence (rounds weigh pairs by it, as suggestions rank by it: capped, strong pairs all tied)."""
    src, dst = roster.stores[kind], roster.stores[target]
    src_rows = np.array(sorted(r for s in slots.tolist() for r in roster.rows[int(roster.ids[s])][kind]),
                        dtype=np.int64)
    dst_rows = np.array(sorted(r for s in slots.tolist() for r in roster.rows[int(roster.ids[s])][target]),
                        dtype=np.int64)
    out = np.zeros((n, n), dtype=np.float64)
    if src_rows.size == 0 or dst_rows.size == 0:
        return out
    dst_owner = index_of[dst.owner[dst_rows]]
    size = dst.size
    for start in range(0, src_rows.size, BLOCK_ROWS):
        block = src_rows[start:start + BLOCK_ROWS]
        if roster.has_vectors:
            cos = dst.vectors[dst_rows] @ src.vectors[block].T   # (dst rows, block)
        for j, row in enumerate(block.tolist()):
            lex = roster.lexical.row_scores(kind, row, target, size)[dst_rows]
            tags = dst.tag_scores(src.cards[row].tag_keys, size)[dst_rows]
            sims = fusion.evidence(cos[:, j] if roster.has_vectors else 0.0, lex, tags)
            line = np.zeros(n + 1)
            np.maximum.at(line, dst_owner, sims)
            i = index_of[src.owner[row]]
            np.maximum(out[i], line[:n], out=out[i])
    return out


def dense_graph(roster: Roster, fusion: Fusion, ids: np.ndarray, k: int,
                excluded: list[tuple[int, int]], groups: Groups = None) -> Graph:
    """The k-nearest graph of a small round: every pair scored exactly, excluded and ruled-out pairs left out."""
    n = len(ids)
    slots, index_of = roster.positions(ids)
    fwd = block_scores(roster, fusion, OFFER, NEED, slots, index_of, n)   # fwd[i, j] = s(i -> j)
    bwd = fwd.T                                                          # s(j -> i)
    weights = np.round(reciprocal(fwd, bwd), 6)
    np.fill_diagonal(weights, 0.0)
    ia, ib = _pair_indices(ids, excluded)
    weights[ia, ib] = weights[ib, ia] = 0.0
    if groups is not None:  # before the top-k: a person's k best are all people they may meet
        rule, codes = groups
        weights[~groups_allow(rule, codes[:, None], codes[None, :])] = 0.0
    kk = min(k, n - 1)
    # Top-k by weight, ties to the lower index: argsort of a stable sort on -weight.
    spread = np.random.default_rng(n).permutation(n)  # ties: see sparse_graph
    nbrs = np.argsort(-weights[:, spread], axis=1, kind="stable")[:, :kk]
    nbrs = spread[nbrs]
    u = np.repeat(np.arange(n), kk)
    v = nbrs.ravel()
    w = weights[u, v]
    keep = w > 0
    lo, hi = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep])
    key = np.unique(lo * n + hi)
    u, v = key // n, key % n
    return ids, u, v, weights[u, v]


def sparse_graph(roster: Roster, fusion: Fusion, ids: np.ndarray, k: int,
                 excluded_pairs: list[tuple[int, int]], groups: Groups = None) -> Graph:
    """The k-nearest graph for large rounds: approximate candidates, then exact scores for those only.

    Candidates per person: the people owning the nearest cards of the other kind (an inverted-file search over
    k-means clusters of the semantic vectors) and people sharing a rare term or tag; each person keeps the
    CANDIDATES_PER_K * k best by semantic similarity, and those pairs are scored exactly.
    """
    n = len(ids)
    slots, index_of = roster.positions(ids)
    cards = PresentCards(roster, fusion, slots, index_of)
    rng = np.random.default_rng(0)  # the clustering is part of the index, not of the round's seed
    givers, takers, approx = [], [], []
    if roster.has_vectors:
        for kind, other, forward in ((OFFER, NEED, True), (NEED, OFFER, False)):
            q_rows, b_rows = cards.rows[kind], cards.rows[other]
            if len(q_rows) == 0 or len(b_rows) == 0:
                continue
            # Rows of the stores gathered as needed: copies of every vector were 460 MB at 100,000 people.
            qi, bi, sim = ivf_neighbours(Gathered(roster.stores[kind].vectors, q_rows),
                                         Gathered(roster.stores[other].vectors, b_rows), NEIGHBOUR_CARDS, rng)
            q_owner = cards.owner_index(kind, q_rows[qi])
            b_owner = cards.owner_index(other, b_rows[bi])
            givers.append(q_owner if forward else b_owner)
            takers.append(b_owner if forward else q_owner)
            approx.append(sim.astype(np.float64))
    g_rare, t_rare = cards.rare_pairs(RARE_DF)
    givers.append(g_rare)
    takers.append(t_rare)
    approx.append(np.full(len(g_rare), 2.0))  # a shared rare word or tag is always worth an exact look
    key = _nominated(givers, takers, approx, n, k, groups)  # (empties the lists: their arrays go before scoring)
    u, v = key // n, key % n
    s_uv = cards.directional(u, v)
    s_vu = cards.directional(v, u)
    w = np.round(reciprocal(s_uv, s_vu), 6)
    if len(w):
        ia, ib = _pair_indices(ids, excluded_pairs)
        if len(ia):
            w[np.isin(key, np.minimum(ia, ib) * n + np.maximum(ia, ib))] = 0.0
    # Each person keeps their k best exact partners; an edge stays if either end keeps it.
    x = np.concatenate([u, v])
    y = np.concatenate([v, u])
    ww = np.concatenate([w, w])
    # Ties go to a fixed pseudo-random order, not to the lowest index: people with identical cards would
    # otherwise all choose the same few partners and leave a star-shaped graph that pairs almost nobody.
    spread = np.random.default_rng(len(ids)).permutation(n)
    order = np.lexsort((spread[y], -ww, x))
    x, y, ww = x[order], y[order], ww[order]
    first = np.r_[True, x[1:] != x[:-1]] if len(x) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    rank = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
    sel = (rank < k) & (ww > 0)
    lo, hi = np.minimum(x[sel], y[sel]), np.maximum(x[sel], y[sel])
    key2 = np.unique(lo * n + hi)
    pos = np.searchsorted(key, key2)
    return ids, key2 // n, key2 % n, w[pos]


def _nominated(givers: list[np.ndarray], takers: list[np.ndarray], approx: list[np.ndarray], n: int, k: int,
               groups: Groups) -> np.ndarray:
    """Keys lo * n + hi of the pairs to score exactly: each person's CANDIDATES_PER_K * k best nominations by
    approximate similarity, as either end. (A function of its own so its intermediates are gone when it returns.)"""
    g = np.concatenate(givers) if givers else np.zeros(0, np.int64)
    t = np.concatenate(takers) if takers else np.zeros(0, np.int64)
    a = np.concatenate(approx) if approx else np.zeros(0)
    givers.clear(), takers.clear(), approx.clear()
    keep = g != t
    if groups is not None:  # before the per-person cut: candidates are all people one may meet
        rule, codes = groups
        keep &= groups_allow(rule, codes[g], codes[t])
    g, t, a = g[keep], t[keep], a[keep]
    # Best approximate candidates per person (as either end), then the union as unordered pairs. (Intermediates are
    # dropped as soon as they are used: at 100,000 people each of these arrays is about 90 MB.)
    pair_key = np.concatenate([g * n + t, t * n + g])
    sc = np.concatenate([a, a])
    del g, t, a, keep
    # Several cards can nominate the same partner: keep each partner once, at its best similarity. One
    # float sort key does it (pair, then similarity descending); similarities lie in [-1, 2].
    sort_key = pair_key * 4.0
    sort_key += 2.0 - sc
    order = np.argsort(sort_key, kind="stable")
    del sort_key
    pair_key, sc = pair_key[order], sc[order]
    del order
    # (np.r_[True, ...] of an empty array has one element: guard it, a round may have no candidate at all.)
    keep = np.r_[True, pair_key[1:] != pair_key[:-1]] if len(pair_key) else np.zeros(0, bool)
    pair_key, sc = pair_key[keep], sc[keep]
    del keep
    # Then per person, best similarity first.
    sort_key = (pair_key // n) * 4.0
    sort_key += 2.0 - sc
    del sc
    order = np.argsort(sort_key, kind="stable")
    del sort_key
    pair_key = pair_key[order]
    del order
    x, y = pair_key // n, pair_key % n
    del pair_key
    first = np.r_[True, x[1:] != x[:-1]] if len(x) else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    rank = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
    sel = rank < int(CANDIDATES_PER_K * k)
    del first, rank
    lo, hi = np.minimum(x[sel], y[sel]), np.maximum(x[sel], y[sel])
    return np.unique(lo * n + hi)


class PresentCards:
    """The cards of the people in one round, grouped per person, with exact pair scoring in bulk."""

    def __init__(self, roster: Roster, fusion: Fusion, slots: np.ndarray, index_of: np.ndarray):
        self.index_of = index_of
        self.n = len(slots)
        self._roster = roster
        self._fusion = fusion
        self.rows: dict[str, np.ndarray] = {}
        self.ptr: dict[str, np.ndarray] = {}
        for kind in (OFFER, NEED):
            per_person = [roster.rows[int(roster.ids[s])][kind] for s in slots.tolist()]
            counts = np.array([len(r) for r in per_person], dtype=np.int64)
            self.ptr[kind] = np.r_[0, np.cumsum(counts)]
            self.rows[kind] = np.array([r for rows in per_person for r in rows], dtype=np.int64)
        self.terms = {kind: roster.lexical.snapshot(kind, self.rows[kind]) for kind in (OFFER, NEED)}
        tag_ids: dict[str, int] = {}
        self.tags = {}
        for kind in (OFFER, NEED):
            store = roster.stores[kind]
            keys = [(row, tag_ids.setdefault(tag, len(tag_ids))) for row in self.rows[kind].tolist()
                    for tag in store.cards[row].tag_keys]
            self.tags[kind] = SparseRows.build(keys, [1.0] * len(keys), np.sqrt(store.n_tags))

    def owner_index(self, kind: str, rows: np.ndarray) -> np.ndarray:
        """Round index (0..n-1) of the person owning each card row."""
        return self.index_of[self._roster.stores[kind].owner[rows]]

    def directional(self, givers: np.ndarray, takers: np.ndarray) -> np.ndarray:
        """Exact s(giver -> taker) for arrays of round indices: best offer/need card pair's uncapped evidence, as
        suggest ranks by."""
        out = np.zeros(len(givers), dtype=np.float64)
        for start in range(0, len(givers), PERSON_PAIR_CHUNK):
            sl = slice(start, start + PERSON_PAIR_CHUNK)
            out[sl] = self._directional(givers[sl], takers[sl])
        return out

    def _directional(self, givers: np.ndarray, takers: np.ndarray) -> np.ndarray:
        out = np.zeros(len(givers), dtype=np.float64)
        n_off = np.diff(self.ptr[OFFER])[givers]
        n_need = np.diff(self.ptr[NEED])[takers]
        sizes = n_off * n_need
        total = int(sizes.sum())
        if total == 0:
            return out
        pair = np.repeat(np.arange(len(givers)), sizes)
        local = np.arange(total) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        width = np.repeat(n_need, sizes)
        o_rows = self.rows[OFFER][np.repeat(self.ptr[OFFER][givers], sizes) + local // width]
        n_rows = self.rows[NEED][np.repeat(self.ptr[NEED][takers], sizes) + local % width]
        lex = self.terms[OFFER].cosines(o_rows, self.terms[NEED], n_rows)
        tags = self.tags[OFFER].cosines(o_rows, self.tags[NEED], n_rows)
        if self._roster.has_vectors:
            offers, needs = self._roster.stores[OFFER].vectors, self._roster.stores[NEED].vectors
            cos = np.empty(total, dtype=np.float64)
            for start in range(0, total, PAIR_CHUNK):
                sl = slice(start, start + PAIR_CHUNK)
                cos[sl] = np.einsum("ij,ij->i", offers[o_rows[sl]], needs[n_rows[sl]])
        else:
            cos = 0.0
        np.maximum.at(out, pair, self._fusion.evidence(cos, lex, tags))
        return out

    def rare_pairs(self, max_df: int) -> tuple[np.ndarray, np.ndarray]:
        """(giver, taker) round indices of every offer/need pair sharing a term or tag used at most max_df times."""
        givers, takers = [], []
        for sparse in (self.terms, self.tags):
            off, need = sparse[OFFER], sparse[NEED]
            if len(off.cols) == 0 or len(need.cols) == 0:
                continue
            n_cols = int(max(off.cols.max(), need.cols.max())) + 1
            df = np.bincount(off.cols, minlength=n_cols) + np.bincount(need.cols, minlength=n_cols)
            rare = np.flatnonzero((df <= max_df) & (np.bincount(off.cols, minlength=n_cols) > 0)
                                  & (np.bincount(need.cols, minlength=n_cols) > 0))
            if len(rare) == 0:
                continue
            o_sel = np.isin(off.cols, rare)
            n_sel = np.isin(need.cols, rare)
            o_cols, o_rows = off.cols[o_sel], off.rows[o_sel]
            n_order = np.argsort(need.cols[n_sel], kind="stable")
            n_cols_sorted, n_rows_sorted = need.cols[n_sel][n_order], need.rows[n_sel][n_order]
            lo = np.searchsorted(n_cols_sorted, o_cols, side="left")
            hi = np.searchsorted(n_cols_sorted, o_cols, side="right")
            counts = hi - lo
            rep = np.repeat(np.arange(len(o_cols)), counts)
            offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
            givers.append(self.owner_index(OFFER, o_rows[rep]))
            takers.append(self.owner_index(NEED, n_rows_sorted[np.repeat(lo, counts) + offs]))
        if not givers:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(givers), np.concatenate(takers)


class Gathered:
    """Some rows of a matrix, read only where indexed: `Gathered(m, rows)[i] == m[rows[i]]` for ints, arrays and
    slices, with no copy of the whole selection."""

    def __init__(self, matrix: np.ndarray, rows: np.ndarray):
        self.matrix, self.rows = matrix, np.asarray(rows, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index) -> np.ndarray:
        return self.matrix[self.rows[index]]


def ivf_neighbours(query: np.ndarray | Gathered, base: np.ndarray | Gathered, c: int, rng: np.random.Generator,
                   probes: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Approximate c nearest base rows (by dot product) of every query row: (query idx, base idx, similarity).

    Spherical k-means on a sample of base gives about 2 sqrt(len(base)) cells; each query searches its `probes`
    nearest cells exhaustively. Small inputs are searched exhaustively in blocks.
    """
    n_cells = int(2 * np.sqrt(len(base)))
    if n_cells < 16:
        cells = np.zeros(len(base), dtype=np.int64)
        probe = np.zeros((len(query), 1), dtype=np.int64)
    else:
        sample = base[rng.choice(len(base), size=min(len(base), 16 * n_cells), replace=False)]
        centroids = sample[rng.choice(len(sample), size=n_cells, replace=False)].copy()
        for _ in range(5):
            assign = np.argmax(sample @ centroids.T, axis=1)
            for cell in range(n_cells):
                members = sample[assign == cell]
                if len(members):
                    mean = members.sum(axis=0)
                    centroids[cell] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        probes = min(probes, n_cells)
        cells = np.concatenate([np.argmax(base[i:i + SCORE_CHUNK] @ centroids.T, axis=1)
                                for i in range(0, len(base), SCORE_CHUNK)])
        probe = np.empty((len(query), probes), dtype=np.int64)  # (filled in place: a slice would keep each
        for i in range(0, len(query), SCORE_CHUNK):             # chunk's whole argpartition alive)
            near = query[i:i + SCORE_CHUNK] @ centroids.T
            probe[i:i + SCORE_CHUNK] = np.argpartition(-near, probes - 1, axis=1)[:, :probes]
    qi, bi, sims = [], [], []
    n_groups = int(max(cells.max(), probe.max())) + 2
    order = np.argsort(cells, kind="stable")
    bounds = np.searchsorted(cells[order], np.arange(n_groups))
    # (query, cell) probes grouped by cell, so each cell is one dense block of queries x members.
    probe_q = np.repeat(np.arange(len(query)), probe.shape[1])
    probe_c = probe.ravel()
    p_order = np.argsort(probe_c, kind="stable")
    p_bounds = np.searchsorted(probe_c[p_order], np.arange(n_groups))
    for cell in range(n_groups - 1):
        members = order[bounds[cell]:bounds[cell + 1]]
        if len(members) == 0:
            continue
        asking = probe_q[p_order[p_bounds[cell]:p_bounds[cell + 1]]]
        for start in range(0, len(asking), 1024):  # (identical cards share a cell: a block can be 1024 x 1000s)
            q = asking[start:start + 1024]
            block = query[q] @ base[members].T
            take = min(c, len(members))
            # A little seeded noise spreads exact ties (people with identical cards) over all of them; otherwise
            # every query would nominate the same few rows and the round's graph would be a star.
            jittered = rng.random(block.shape, dtype=np.float32)
            jittered *= np.float32(1e-4)
            jittered += block
            top = np.argpartition(-jittered, take - 1, axis=1)[:, :take] if take < len(members) else \
                np.broadcast_to(np.arange(len(members)), (len(q), len(members)))
            qi.append(np.repeat(q, take))
            bi.append(members[top].ravel())
            sims.append(np.take_along_axis(block, top, axis=1).ravel())
    if not qi:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(qi), np.concatenate(bi), np.concatenate(sims)


def _pair_indices(ids: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the sorted `ids` of both people of each pair, for the pairs whose people are both there."""
    if not pairs or len(ids) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ab = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    pos = np.minimum(np.searchsorted(ids, ab), len(ids) - 1)
    there = (ids[pos] == ab).all(axis=1)
    return pos[there, 0], pos[there, 1]
