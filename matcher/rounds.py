"""Pairing everyone at once: maximum-weight matching on a sparse graph, fast and close to exact.

Greedy matching (heaviest edge first) reaches ~0.96 of the optimum. `max_weight_pairs` follows it with local
search over short alternating paths and cycles: for an edge (u, x) outside the matching, drop the partners' edges
(u, v) and (x, y) and take (u, x) plus the best of (v, y) or a free neighbour each for v and y, whenever that
raises the total. Each accepted move strictly raises the total, so the search ends; in practice a few passes
bring it within a fraction of a percent of networkx's exact blossom algorithm at a small share of its time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A move must gain at least this much; guards against float noise cycling between equal matchings.
EPS = 1e-9
#: Local search stops after this many passes even if a pass still improved (later passes gain < 0.1%).
MAX_PASSES = 3
#: Above this many edges (~5,000 people at k = 10) the thorough pass is skipped.
THOROUGH_MAX_EDGES = 40_000
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


def max_weight_pairs(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, seed: int = 0,
                     max_passes: int = MAX_PASSES, thorough: bool = True) -> np.ndarray:
    """Mate of every node 0..n-1 (-1 if unmatched) for a matching of high total weight on edges (u, v, w).

    Edges with weight <= 0 are ignored; parallel edges keep their largest weight. Ties are broken by a permutation
    drawn from `seed`, so the result is deterministic for a seed.
    """
    u = np.asarray(u, dtype=np.int64)
    v = np.asarray(v, dtype=np.int64)
    w = np.asarray(w, dtype=np.float64)
    keep = (w > 0) & (u != v)
    u, v, w = u[keep], v[keep], w[keep]
    rank = np.random.default_rng(seed).permutation(max(n, 1))
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    # Heaviest first; among equal weights, the seeded rank of the endpoints decides.
    order = np.lexsort((rank[hi], rank[lo], -w))
    lo, hi, w = lo[order], hi[order], w[order]
    adj: list[dict[int, float]] = [dict() for _ in range(n)]
    edges = []
    for a, b, x in zip(lo.tolist(), hi.tolist(), w.tolist()):
        if b in adj[a]:
            continue  # a parallel edge, lighter than the one already kept
        adj[a][b] = x
        adj[b][a] = x
        edges.append((a, b, x))
    mate = _global_paths(n, edges)
    _improve(mate, adj, edges, max_passes, thorough=thorough)
    return np.asarray(mate, dtype=np.int64)


def _global_paths(n: int, edges: list[tuple[int, int, float]]) -> list[int]:
    """Maue and Sanders' Global Paths Algorithm: a better start than greedy for the local search.

    Heaviest edges first, keep an edge if both ends have fewer than two kept edges and it closes no cycle; the kept
    edges form paths, and each path's best matching is found exactly by dynamic programming.
    """
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    links: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for a, b, x in edges:  # already heaviest first
        if len(links[a]) < 2 and len(links[b]) < 2:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[ra] = rb
                links[a].append((b, x))
                links[b].append((a, x))
    mate = [-1] * n
    seen = [False] * n
    for start in range(n):
        if seen[start] or len(links[start]) != 1:
            continue
        # Walk the path from one end: nodes p0..pk and the weights between them.
        nodes, weights = [start], []
        seen[start] = True
        prev, cur = -1, start
        while True:
            nxt = [(y, x) for y, x in links[cur] if y != prev]
            if not nxt:
                break
            y, x = nxt[0]
            nodes.append(y)
            weights.append(x)
            seen[y] = True
            prev, cur = cur, y
        # best[i]: best matching on the first i edges; take edge i-1 or not.
        best = [0.0] * (len(weights) + 1)
        for i in range(1, len(weights) + 1):
            take = weights[i - 1] + (best[i - 2] if i >= 2 else 0.0)
            best[i] = take if take > best[i - 1] else best[i - 1]
        i = len(weights)
        while i >= 1:
            if best[i] != best[i - 1]:
                a, b = nodes[i - 1], nodes[i]
                mate[a], mate[b] = b, a
                i -= 2
            else:
                i -= 1
    return mate


def _improve(mate: list[int], adj: list[dict[int, float]], edges: list[tuple[int, int, float]],
             max_passes: int, depth: int = 3, thorough: bool = True) -> None:
    """Cheap passes to convergence, one thorough pass, then cheap passes again around what moved."""
    if len(edges) > THOROUGH_MAX_EDGES:
        # A big round: one pass of short paths, to stay within seconds (quality is measured at 2,000).
        depth, max_passes = 1, 1
    _local_search(mate, adj, edges, max_passes, depth, thorough=False)
    if not thorough or len(edges) > THOROUGH_MAX_EDGES:
        return  # a big round: the thorough pass costs more than the fraction of a percent it adds
    changed = _local_search(mate, adj, edges, 1, depth, thorough=True)
    if changed:
        _local_search(mate, adj, _edges_around(changed, adj), max_passes, depth, thorough=False)


def _edges_around(nodes: set[int], adj: list[dict[int, float]]) -> list[tuple[int, int, float]]:
    return sorted({(min(x, y), max(x, y), wxy) for x in nodes for y, wxy in adj[x].items()},
                  key=lambda e: (-e[2], e[0], e[1]))


def _local_search(mate: list[int], adj: list[dict[int, float]], edges: list[tuple[int, int, float]],
                  max_passes: int, depth: int, thorough: bool) -> set[int]:
    """Local search: for each edge (a, b) outside the matching, take it if re-placing the partners it frees pays.

    A freed partner may stay free, take a free neighbour, swap with the other freed partner (a 4-cycle), or take a
    matched neighbour z that prefers it to its own mate, which frees z's mate in turn (up to `depth` such steps).
    """
    best_adj = [max(a.values(), default=0.0) for a in adj]

    def extend(y: int, steps: int, banned: tuple[int, ...]) -> tuple[float, list[tuple[int, int]]]:
        """Best gain (and new pairs) from re-placing the freed node y; `banned` nodes are already spoken for."""
        best_gain, best_pairs = 0.0, []
        for z, wyz in adj[y].items():  # heaviest first (edges were added in descending weight)
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
            if wab <= wa and wab <= wb and not thorough:
                continue  # both ends already hold something at least as good: such moves rarely pay
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
