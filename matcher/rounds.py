"""Pairing everyone at once: maximum-weight matching on a sparse graph, fast and within a hair of exact.

`max_weight_pairs` starts from the matching LP's half-integral optimum, which is a maximum-weight *bipartite*
matching on the graph's double cover (every person once as a giver, once as a taker; edge (u, v) links u's giver
to v's taker and v's giver to u's taker). scipy solves that bipartite problem in C (LAPJVsp). Its solution is a
permutation whose cycles are pairs (most of them), longer cycles and people left alone; each longer cycle's best
matching is found exactly by dynamic programming. Half the bipartite optimum is an upper bound on the true optimum
(any matching taken both ways is a double-cover matching of twice its weight), so every round also knows how far
from optimal it can be at most (`MatchingResult.bound`). Local search over short alternating paths and cycles then
re-places whoever the odd cycles left alone: for an edge (u, x) outside the matching, drop the partners' edges
(u, v) and (x, y) and take (u, x) plus the best of (v, y) or a free neighbour each for v and y, whenever that
raises the total. Each accepted move strictly raises the total, so the search ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

#: The LP is solved on weights rounded to this many steps of the heaviest edge: the solver's time grows with the
#: number of distinct costs (6-decimal scores took 5x as long at 20,000 people as steps of 1/1000, for 3e-6 of
#: the total); the local search and the totals use the exact weights.
LP_STEPS = 1000
#: Up to this many people the LP uses a million steps instead.
SMALL_LP = 2_000
#: A move must gain at least this much; guards against float noise cycling between equal matchings.
EPS = 1e-9
#: Local search stops after this many passes even if a pass still improved (later passes gain < 0.01%).
MAX_PASSES = 3
#: Why someone present is in no group of a round: the event's group rule left nobody they may meet free
#: ("group_rule"), or everyone else left over is someone they met, declined or were paired with before
#: ("already_met").
UNPAIRED_REASONS = ("group_rule", "already_met")


@dataclass
class RoundResult:
    """The groups of one round: pairs, plus one trio when the count is odd; nobody in two groups."""

    groups: list[tuple[int, ...]]
    total_weight: float
    #: People present who could not be placed (every possible partner already met or excluded).
    unpaired: list[int] = field(default_factory=list)
    #: The person added to a pair to make the trio, if there is one.
    trio_extra: int | None = None
    seed: int = 0
    #: Why each unpaired person is (one of UNPAIRED_REASONS), for the message on their phone.
    why_unpaired: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"groups": [list(g) for g in self.groups], "total_weight": self.total_weight,
                "unpaired": list(self.unpaired), "trio_extra": self.trio_extra, "seed": self.seed,
                "why_unpaired": {str(k): v for k, v in self.why_unpaired.items()}}


@dataclass
class MatchingResult:
    """A matching and what is known of its quality."""

    #: Mate of every node (-1 if unmatched).
    mate: np.ndarray
    #: Its total weight.
    weight: float
    #: An upper bound on the maximum weight (half the double cover's optimum): weight / bound is a lower bound on
    #: how close to optimal the matching is, on graphs too large to solve exactly.
    bound: float


def max_weight_pairs(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, seed: int = 0,
                     max_passes: int = MAX_PASSES) -> np.ndarray:
    """Mate of every node 0..n-1 (-1 if unmatched) for a matching of high total weight on edges (u, v, w).

    Edges with weight <= 0 are ignored; parallel edges keep their largest weight. Ties are broken by a permutation
    drawn from `seed`, so the result is deterministic for a seed.
    """
    return matching(n, u, v, w, seed=seed, max_passes=max_passes).mate


def matching(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, seed: int = 0,
             max_passes: int = MAX_PASSES) -> MatchingResult:
    """`max_weight_pairs` with the matching's weight and an upper bound on the optimum."""
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    keep = (w > 0) & (u != v)
    lo, hi, w = np.minimum(u[keep], v[keep]), np.maximum(u[keep], v[keep]), w[keep]
    # Parallel edges: the heaviest of each pair of ends.
    order = np.lexsort((-w, hi, lo))
    lo, hi, w = lo[order], hi[order], w[order]
    first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])] if len(lo) else np.zeros(0, bool)
    lo, hi, w = lo[first], hi[first], w[first]
    if n == 0 or len(w) == 0:
        return MatchingResult(np.full(n, -1, dtype=np.int64), 0.0, 0.0)
    # The seed relabels the nodes before solving: the solver breaks ties by position, so another seed gives another
    # of several equally good matchings.
    perm = np.random.default_rng(seed).permutation(n)
    succ_p, bound = _double_cover(n, perm[lo], perm[hi], w)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    succ = inv[succ_p[perm]]
    adj = Neighbours(n, lo, hi, w, tiebreak=perm)
    mate = _round_cycles(succ.tolist(), adj)
    # The LP start is optimal but for whoever its odd cycles left alone: search around them. (Around every node of
    # the longer cycles too was measured: 3x the time at 2,000 people for no gain on real cards.)
    alone = {x for x in range(n) if mate[x] < 0 and adj.degree(x)}
    if alone and max_passes:
        _local_search(mate, adj, _edges_around(alone, adj), max_passes, depth=3)
    mate_arr = np.asarray(mate, dtype=np.int64)
    total = float(w[mate_arr[lo] == hi].sum())
    # (A relative hair on the bound: steps that are whole in floating point can still land an ulp under the optimum.)
    return MatchingResult(mate_arr, total, max(bound * (1 + 1e-12), total))


class Neighbours:
    """Each node's neighbours with their edge weights, heaviest first, as a dict made on first use.

    The local search only looks around a few people; dicts for every node cost 300 MB at 100,000 people.
    """

    def __init__(self, n: int, lo: np.ndarray, hi: np.ndarray, w: np.ndarray, tiebreak: np.ndarray):
        x = np.concatenate([lo, hi])
        y = np.concatenate([hi, lo])
        ww = np.concatenate([w, w])
        order = np.lexsort((tiebreak[y], -ww, x))
        self._y, self._w = y[order], ww[order]
        self._ptr = np.searchsorted(x[order], np.arange(n + 1))
        starts, ends = self._ptr[:-1], self._ptr[1:]
        best = np.zeros(n)
        has = ends > starts
        best[has] = self._w[starts[has]]
        #: Each node's heaviest edge (0 if it has none).
        self.best: list[float] = best.tolist()
        self._made: dict[int, dict[int, float]] = {}

    def degree(self, x: int) -> int:
        return int(self._ptr[x + 1] - self._ptr[x])

    def __getitem__(self, x: int) -> dict[int, float]:
        got = self._made.get(x)
        if got is None:
            a, b = self._ptr[x], self._ptr[x + 1]
            got = self._made[x] = dict(zip(self._y[a:b].tolist(), self._w[a:b].tolist()))
        return got


def _double_cover(n: int, lo: np.ndarray, hi: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """The double cover's maximum-weight bipartite matching as a permutation (succ[i] == i: i is alone), and an
    upper bound on the maximum matching's weight: half the double cover's optimum, plus what rounding the weights
    to LP_STEPS steps can have hidden (nothing when the weights are already whole steps).

    Costs are C - w on edges and C on the diagonal, so a full matching always exists and the cheapest one is the
    heaviest; all costs are positive (the solver treats a stored 0 as an edge, but keeping them positive avoids
    relying on it)."""
    # Small rounds are solved on (nearly) their own weights: there the solver takes milliseconds either way, and
    # rounding to 1/1000 tied pairings a thousandth apart that nobody alone would repair afterwards.
    scale = (LP_STEPS if n > SMALL_LP else 1_000_000) / float(w.max())
    if np.array_equal(w, np.round(w)) and float(w.max()) <= 16 * LP_STEPS:
        scale = 1.0  # whole numbers already (as in the benchmark): solved as they are, so the bound is exact
    wq = np.round(w * scale)
    slack = float(np.abs(w * scale - wq).max())  # at most 1/2 a step per matched edge
    w = wq
    c = float(w.max()) + 1.0
    diag = np.arange(n)
    rows = np.concatenate([lo, hi, diag])
    cols = np.concatenate([hi, lo, diag])
    cost = np.concatenate([c - w, c - w, np.full(n, c)])
    graph = sp.csr_matrix((cost, (rows, cols)), shape=(n, n))
    r, col = min_weight_full_bipartite_matching(graph)
    succ = np.empty(n, dtype=np.int64)
    succ[r] = col
    moved = succ != diag
    # Weight of the chosen edges: c minus their cost, read back from the matrix.
    chosen = np.asarray(graph[diag[moved], succ[moved]]).ravel()
    return succ, (float((c - chosen).sum()) / 2.0 + slack * (n // 2)) / scale


def _round_cycles(succ: list[int], adj: Neighbours) -> list[int]:
    """A matching from the double cover's permutation: each 2-cycle is a pair, each longer cycle gets its best
    matching (exact, by dynamic programming around the cycle)."""
    n = len(succ)
    mate = [-1] * n
    seen = [False] * n
    for start in range(n):
        if seen[start]:
            continue
        cycle = [start]
        seen[start] = True
        nxt = succ[start]
        while nxt != start:
            cycle.append(nxt)
            seen[nxt] = True
            nxt = succ[nxt]
        size = len(cycle)
        if size == 1:
            continue
        if size == 2:
            a, b = cycle
            mate[a], mate[b] = b, a
            continue
        ring = [adj[cycle[i]].get(cycle[(i + 1) % size], 0.0) for i in range(size)]
        # Either the closing edge (cycle[-1], cycle[0]) is out: a path over edges 0..size-2; or it is in: a path over
        # edges 1..size-3 plus it.
        w_open, take_open = _path_dp(ring[:size - 1])
        w_closed, take_closed = _path_dp(ring[1:size - 2])
        if ring[size - 1] + w_closed > w_open:
            chosen = [size - 1] + [i + 1 for i in take_closed]
        else:
            chosen = take_open
        for i in chosen:
            a, b = cycle[i], cycle[(i + 1) % size]
            mate[a], mate[b] = b, a
    return mate


def _path_dp(weights: list[float]) -> tuple[float, list[int]]:
    """Best matching on a path with these edge weights: (weight, indices of the edges taken)."""
    best = [0.0] * (len(weights) + 1)
    for i in range(1, len(weights) + 1):
        take = weights[i - 1] + (best[i - 2] if i >= 2 else 0.0)
        best[i] = take if take > best[i - 1] else best[i - 1]
    taken = []
    i = len(weights)
    while i >= 1:
        if best[i] != best[i - 1]:
            taken.append(i - 1)
            i -= 2
        else:
            i -= 1
    return best[-1], taken


def _edges_around(nodes: set[int], adj: Neighbours) -> list[tuple[int, int, float]]:
    return sorted({(min(x, y), max(x, y), wxy) for x in nodes for y, wxy in adj[x].items()},
                  key=lambda e: (-e[2], e[0], e[1]))


def _local_search(mate: list[int], adj: Neighbours, edges: list[tuple[int, int, float]],
                  max_passes: int, depth: int) -> set[int]:
    """Local search: for each edge (a, b) outside the matching, take it if re-placing the partners it frees pays.

    A freed partner may stay free, take a free neighbour, swap with the other freed partner (a 4-cycle), or take a
    matched neighbour z that prefers it to its own mate, which frees z's mate in turn (up to `depth` such steps).
    """
    best_adj = adj.best

    def extend(y: int, steps: int, banned: tuple[int, ...]) -> tuple[float, list[tuple[int, int]]]:
        """Best gain (and new pairs) from re-placing the freed node y; `banned` nodes are already spoken for."""
        best_gain, best_pairs = 0.0, []
        for z, wyz in adj[y].items():  # heaviest first
            if wyz <= best_gain:
                break
            if z in banned:
                continue
            mz = mate[z]
            if mz < 0:
                best_gain, best_pairs = wyz, [(y, z)]
                continue
            if steps == 0 or mz in banned:
                continue
            local = wyz - adj[z][mz]
            if local <= 0 or local + best_adj[mz] <= best_gain:
                continue
            sub_gain, sub_pairs = extend(mz, steps - 1, banned + (z, mz))
            if local + sub_gain > best_gain:
                best_gain, best_pairs = local + sub_gain, [(y, z)] + sub_pairs
        return best_gain, best_pairs

    todo = edges
    moved: set[int] = set()
    for _ in range(max_passes):
        changed: set[int] = set()
        for a, b, wab in todo:
            ma, mb = mate[a], mate[b]
            if ma == b:
                continue
            wa = adj[a][ma] if ma >= 0 else 0.0
            wb = adj[b][mb] if mb >= 0 else 0.0
            base = wab - wa - wb
            w_cross = adj[ma].get(mb, 0.0) if ma >= 0 and mb >= 0 else 0.0
            # Cheap bound first: most edges cannot pay even if both freed partners did as well as they could.
            if base + max(w_cross, (best_adj[ma] if ma >= 0 else 0.0) + (best_adj[mb] if mb >= 0 else 0.0)) <= EPS:
                continue
            gain1 = base + w_cross if w_cross > 0 else -1.0
            banned = (a, b, ma, mb)
            ga, pa = extend(ma, depth, banned) if ma >= 0 else (0.0, [])
            if pa:
                banned += tuple(x for pair in pa for x in pair)
            gb, pb = extend(mb, depth, banned) if mb >= 0 else (0.0, [])
            gain2 = base + ga + gb
            if max(gain1, gain2) <= EPS:
                continue
            new_pairs = [(a, b)] + ([(ma, mb)] if gain1 >= gain2 else pa + pb)
            touched = {x for pair in new_pairs for x in pair} | {a, b, ma, mb}
            touched.discard(-1)
            for x in touched:
                old = mate[x]
                if old >= 0 and old not in touched:
                    mate[old] = -1
                mate[x] = -1
            for x, y in new_pairs:
                mate[x], mate[y] = y, x
            changed.update(touched)
        moved |= changed
        if not changed:
            break
        # Later passes only revisit edges around the nodes that moved: elsewhere nothing can have changed.
        todo = _edges_around(changed, adj)
    return moved


def matching_weight(mate: np.ndarray, u: np.ndarray, v: np.ndarray, w: np.ndarray) -> float:
    """Total weight of the matched edges (each counted once)."""
    u = np.asarray(u)
    v = np.asarray(v)
    hit = np.asarray(mate)[u] == v
    return float(np.asarray(w, dtype=np.float64)[hit & (u != v)].sum())
