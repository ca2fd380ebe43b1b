"""The matching engine's front: MatchEngine, the one object the app talks to (people, suggestions, rounds).

The people present live in `roster`, exclusions and capacity in `ledger`, a round's graph in `candidates`.
Not thread-safe by design: the app runs one engine per event in a single-writer loop (DESIGN.md, "Matching").
Deterministic: the same sequence of calls gives the same answers (ties go to the lower id).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from . import rounds
from .candidates import DENSE_MAX, Graph, block_scores, dense_graph, sparse_graph
from .encoders import fusion_of, semantic_of
from .ledger import EXCLUDE_REASONS, Ledger
from .profiles import (GROUP_RULES, MAX_CARD_CHARS, MAX_CARDS, NEED, OFFER, Card, DuplicateProfile, InvalidCard,
                       InvalidProfile, MatcherError, Profile, UnknownProfile, check_profile, groups_allow)
from .roster import COARSE_MIN_ROWS, Roster
from .rounds import RoundResult
from .scoring import Match, Reason, direction, display_name, reader_starter, reciprocal, starter

# The input types, errors and limits are part of the engine's surface: `from matcher.engine import Card` works.
__all__ = ["Card", "DENSE_MAX", "DuplicateProfile", "EXCLUDE_REASONS", "GROUP_RULES", "InvalidCard", "InvalidProfile",
           "MAX_CARDS", "MAX_CARD_CHARS", "MatchEngine", "MatcherError", "Profile", "RoundResult", "UnknownProfile"]

#: Leftovers beyond this many are matched again on their own graph before the exact greedy pass.
LEFTOVER_DENSE = 200
#: At most this many such re-matchings.
LEFTOVER_ROUNDS = 3
#: With projections on (matcher.roster.COARSE_MIN_ROWS), the people a live suggestion scores exactly: the best this
#: many by the projected scan. bench matcher measures how often the exact top 3 is missed (never, so far).
COARSE_CANDIDATES = 512


class MatchEngine:
    """Who should meet whom among the people present: live suggestions and whole rounds."""

    def __init__(self, encoder, *, capacity: int = 3, window_s: float = 900, exclude_same_company: bool = False,
                 group_rule: str = "any", clock: Callable[[], float] = time.monotonic,
                 coarse_min_rows: int = COARSE_MIN_ROWS):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.encoder = encoder
        self.semantic = semantic_of(encoder)
        self.fusion = fusion_of(encoder)
        self.model_id = getattr(encoder, "model_id", "lexical") if self.semantic is not None else "lexical"
        self.exclude_same_company = exclude_same_company
        dim = int(self.semantic.dim) if self.semantic is not None else 1
        self._roster = Roster(dim, vectors=self.semantic is not None, coarse_min_rows=coarse_min_rows)
        self._ledger = Ledger(self._roster, capacity, window_s, clock)
        self.group_rule = group_rule

    @property
    def group_rule(self) -> str:
        """Who may meet whom by `Profile.group`: "any", "across" (different groups only) or "within" (the same
        group only); people in no group may meet anyone. Suggestions and rounds both honour it."""
        return self._group_rule

    @group_rule.setter
    def group_rule(self, rule: str) -> None:
        if rule not in GROUP_RULES:
            raise ValueError(f"unknown group rule {rule!r}; expected one of {', '.join(GROUP_RULES)}")
        self._group_rule = rule

    def may_meet(self, a: int, b: int) -> bool:
        """Whether the group rule lets a and b meet (exclusions aside)."""
        roster = self._roster
        return bool(groups_allow(self._group_rule, roster.group[roster.slot(a)], roster.group[roster.slot(b)]))

    @property
    def capacity(self) -> int:
        """Accepted matches that put a person out of suggestions until their window moves on."""
        return self._ledger.capacity

    @property
    def window_s(self) -> float:
        """Length of the fairness window, in seconds of `clock`."""
        return self._ledger.window_s

    @property
    def clock(self) -> Callable[[], float]:
        """The engine's time source, in seconds (capacity windows are measured on it)."""
        return self._ledger.clock

    # -- the people present ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._roster.profiles)

    def __contains__(self, pid: int) -> bool:
        return pid in self._roster.profiles

    @property
    def ids(self) -> list[int]:
        """Ids of everyone present, ascending."""
        return sorted(self._roster.profiles)

    def profile(self, pid: int) -> Profile:
        try:
            return self._roster.profiles[pid]
        except KeyError:
            raise UnknownProfile(pid) from None

    def upsert(self, profile: Profile) -> Profile:
        """Add or replace a person; returns the profile with every card's embedding filled in (for caching)."""
        return self.upsert_many([profile])[0]

    def upsert_many(self, profiles: Sequence[Profile]) -> list[Profile]:
        """Add or replace several people with one batched encode (the restart path); ids must be unique."""
        profiles = list(profiles)
        for p in profiles:
            check_profile(p)
        seen: set[int] = set()
        for p in profiles:
            if int(p.id) in seen:
                raise DuplicateProfile(f"profile id {int(p.id)} appears twice in one batch")
            seen.add(int(p.id))
        filled = self._embed(profiles)
        self._roster.reserve(filled)
        for p in filled:
            self._roster.add(p, at_capacity=int(p.id) in self._ledger.full)
        self._roster.maybe_project()
        return filled

    def remove(self, pid: int) -> None:
        """The person left: drop them from suggestions and rounds (their exclusions and history stay)."""
        self._roster.remove(pid)

    def _embed(self, profiles: list[Profile]) -> list[Profile]:
        """Fill missing (or foreign-sized) card embeddings with one encode of the distinct texts."""
        if self.semantic is None:
            return profiles
        dim = int(self.semantic.dim)
        todo: dict[str, None] = {}
        for p in profiles:
            for card in [*p.offers, *p.needs]:
                if not _usable_embedding(card.embedding, dim):
                    todo[card.text] = None
        vectors: dict[str, np.ndarray] = {}
        if todo:
            texts = list(todo)
            encoded = np.asarray(self.semantic.encode(texts), dtype=np.float32)
            vectors = dict(zip(texts, encoded))

        def fill(card: Card) -> Card:
            if _usable_embedding(card.embedding, dim):
                vec = np.asarray(card.embedding, dtype=np.float32)
                norm = float(np.linalg.norm(vec))
                if abs(norm - 1.0) < 1e-5:
                    return card if vec is card.embedding else dataclasses.replace(card, embedding=vec)
                return dataclasses.replace(card, embedding=vec / norm if norm > 0 else vec)
            return dataclasses.replace(card, embedding=vectors[card.text])

        return [dataclasses.replace(p, offers=[fill(c) for c in p.offers], needs=[fill(c) for c in p.needs])
                for p in profiles]

    # -- what the app tells us -------------------------------------------------------------------------------

    def exclude(self, a: int, b: int, reason: str = "matched") -> None:
        """Never suggest or pair a and b again (they matched, declined or met, as the database says)."""
        self._ledger.exclude(a, b, reason)

    def is_excluded(self, a: int, b: int) -> bool:
        return self._ledger.is_excluded(a, b)

    def exclusion(self, a: int, b: int) -> str | None:
        """Why a and b are excluded ("matched", "declined", "met" or "round"; the strongest kept), or None."""
        return self._ledger.reason(a, b)

    def record(self, match: Match, at: float | None = None) -> None:
        """The app accepted a suggestion: it counts toward both people's capacity and the pair is not offered again.

        `at` is when, on the engine's clock (default now): an app rebuilding the engine passes the times of the
        matches it stored, so capacity windows survive a restart.
        """
        self._ledger.record(match, at)

    def unrecord(self, match: Match) -> None:
        """Undo the latest `record(match)` (the app could not store it): the pair may be suggested again and the
        match no longer counts toward capacity. Undo several in the reverse order of recording."""
        self._ledger.unrecord(match)

    def load(self, pid: int) -> int:
        """Accepted matches of a person within the current fairness window."""
        return self._ledger.load(pid)

    # -- scoring -----------------------------------------------------------------------------------------------

    def _evidence(self, pid: int, giving: bool) -> np.ndarray:
        """s(pid -> x) for every slot when giving, else s(x -> pid): the best card pair's calibrated evidence,
        uncapped (what suggestions rank and rounds weigh by)."""
        return self._scan(pid, giving, coarse=False)[0]

    def _scan(self, pid: int, giving: bool, coarse: bool) -> tuple[np.ndarray, "_Scan | None"]:
        """Uncapped evidence of pid for every slot (approximate with `coarse`: projected vectors), and what
        `_rescore` needs to make it exact for a few."""
        kind, target = (OFFER, NEED) if giving else (NEED, OFFER)
        out = np.zeros(self._roster.n_slots + 1, dtype=np.float64)  # the extra slot collects rows nobody owns
        other = self._roster.stores[target]
        size = other.size
        rows = self._roster.rows[pid][kind]
        if not rows or size == 0:
            return out[:-1], None
        store = self._roster.stores[kind]
        # One pass over the other kind's vectors for all of pid's cards: at 20,000 people this scan is the cost.
        # einsum, not BLAS: a skinny product gains nothing from BLAS threads, which stall on a busy machine.
        if self.semantic is None:
            cos = None
        elif coarse:
            # 64 columns: a real matrix product, where BLAS (pinned to one thread) beats einsum by a third.
            query = store.vectors[rows] @ self._roster.projection
            cos = other.coarse[:size] @ query.T
        else:
            cos = np.einsum("ij,kj->ik", other.vectors[:size], store.vectors[rows])
        lex = [self._roster.lexical.row_scores(kind, row, target, size) for row in rows]
        tags = [other.tag_scores(store.cards[row].tag_keys, size) for row in rows]
        best = np.zeros(size, dtype=np.float64)
        for j in range(len(rows)):
            np.maximum(best, self.fusion.evidence(cos[:, j] if cos is not None else 0.0, lex[j], tags[j]), out=best)
        owner = other.owner[:size]
        np.maximum.at(out, np.where(owner >= 0, owner, self._roster.n_slots), best)
        return out[:-1], _Scan(store, other, rows, lex, tags)

    def _rescore(self, scan: "_Scan | None", slots: np.ndarray) -> np.ndarray:
        """Exact uncapped evidence of a `_scan` for the given slots (their cards' full vectors)."""
        n_slots = self._roster.n_slots
        if scan is None:
            return np.zeros(len(slots))
        size = len(scan.lex[0])
        owner = scan.other.owner[:size]
        wanted = np.zeros(n_slots + 1, dtype=bool)
        wanted[slots] = True
        cand = np.flatnonzero(wanted[np.where(owner >= 0, owner, n_slots)])
        cos = np.einsum("ij,kj->ik", scan.other.vectors[cand], scan.store.vectors[scan.rows])
        best = np.zeros(len(cand), dtype=np.float64)
        for j in range(len(scan.rows)):
            np.maximum(best, self.fusion.evidence(cos[:, j], scan.lex[j][cand], scan.tags[j][cand]), out=best)
        out = np.zeros(n_slots + 1, dtype=np.float64)
        np.maximum.at(out, owner[cand], best)
        return out[slots]

    def _card_matrix(self, giver: int, taker: int) -> tuple[np.ndarray, list[int], list[int]]:
        """Uncapped evidence of each of giver's offers for each of taker's needs (exact, for reasons)."""
        o_rows, n_rows = self._roster.rows[giver][OFFER], self._roster.rows[taker][NEED]
        if not o_rows or not n_rows:
            return np.zeros((len(o_rows), len(n_rows))), o_rows, n_rows
        offers, needs = self._roster.stores[OFFER], self._roster.stores[NEED]
        oo, nn = np.meshgrid(o_rows, n_rows, indexing="ij")
        oo, nn = oo.ravel(), nn.ravel()
        if self.semantic is not None:
            cos = np.einsum("ij,ij->i", offers.vectors[oo].astype(np.float64), needs.vectors[nn].astype(np.float64))
        else:
            cos = 0.0
        lex = self._roster.lexical.pair_scores(oo, nn)
        tags = np.array([_tag_cosine(offers.cards[o].tag_keys, needs.cards[n].tag_keys) for o, n in zip(oo, nn)])
        sims = self.fusion.evidence(cos, lex, tags)
        return np.asarray(sims, dtype=np.float64).reshape(len(o_rows), len(n_rows)), o_rows, n_rows

    def directional_score(self, giver: int, taker: int) -> float:
        """s(giver -> taker): how well giver's offers meet taker's needs, in [0, 1]."""
        self._roster.slot(giver), self._roster.slot(taker)
        return round(min(self._best_evidence(giver, taker), 1.0), 6)

    def _best_evidence(self, giver: int, taker: int) -> float:
        """Uncapped s(giver -> taker): the best of giver's offers for taker's needs."""
        sims, _, _ = self._card_matrix(giver, taker)
        return float(sims.max()) if sims.size else 0.0

    def score(self, a: int, b: int) -> float:
        """Reciprocal score of a and b, in [0, 1]; score(a, b) == score(b, a)."""
        lo, hi = min(a, b), max(a, b)
        return round(float(reciprocal(self.directional_score(lo, hi), self.directional_score(hi, lo))), 6)

    def explain(self, a: int, b: int) -> Match:
        """The Match of a and b with its score, evidence, direction, reasons and conversation starters."""
        lo, hi = min(int(a), int(b)), max(int(a), int(b))
        if lo == hi:
            raise ValueError("a person cannot be matched with themself")
        self._roster.slot(lo), self._roster.slot(hi)
        reasons: list[Reason] = []
        s, ev = {}, {}
        for giver, taker in ((lo, hi), (hi, lo)):
            sims, o_rows, n_rows = self._card_matrix(giver, taker)
            ev[giver] = round(float(sims.max()), 6) if sims.size else 0.0
            s[giver] = min(ev[giver], 1.0)
            if sims.size and s[giver] > 0:
                i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
                offer, need = self._roster.stores[OFFER].cards[o_rows[i]], self._roster.stores[NEED].cards[n_rows[j]]
                keys = set(offer.tag_keys)
                shared = [t for t, key in zip(need.tags, need.tag_keys) if key in keys]  # the need's own casing
                reasons.append(Reason(giver=giver, taker=taker, offer=offer.text, need=need.text, tags=shared,
                                      score=s[giver]))
        s_ab, s_ba = s[lo], s[hi]
        way = direction(s_ab, s_ba)
        # The stronger direction speaks first (by evidence: two capped sides may both show 1.0); a one-way match
        # keeps only its giving side.
        reasons.sort(key=lambda r: (-ev[r.giver], r.giver))
        if way != "both":
            reasons = reasons[:1]
        names = {pid: _first_name(self._roster.profiles[pid].name, pid) for pid in (lo, hi)}
        return Match(a=lo, b=hi, score=round(float(reciprocal(s_ab, s_ba)), 6), direction=way, reasons=reasons,
                     starter=starter(reasons, names),
                     starters={pid: reader_starter(reasons, pid, names) for pid in (lo, hi)},
                     evidence=round(float(reciprocal(ev[lo], ev[hi])), 6))

    # -- live suggestions --------------------------------------------------------------------------------------

    def _eligible(self, pid: int) -> np.ndarray:
        """Mask over slots of who may be suggested to pid: present, not self, not excluded, under capacity."""
        roster = self._roster
        n = roster.n_slots
        ok = roster.ids[:n] >= 0
        ok[roster.slot_of[pid]] = False
        for other in self._ledger.excluded_by.get(pid, ()):
            slot = roster.slot_of.get(other)
            if slot is not None:
                ok[slot] = False
        self._ledger.release_due()
        ok &= ~roster.full_mask[:n]
        if self.exclude_same_company:
            code = roster.company[roster.slot_of[pid]]
            if code >= 0:
                ok &= roster.company[:n] != code
        if self._group_rule != "any":
            ok &= groups_allow(self._group_rule, roster.group[roster.slot_of[pid]], roster.group[:n])
        return ok

    def ranked(self, pid: int, *, min_score: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, evidence, score) of everyone who may be suggested to pid with score > min_score, best first.

        The order is by uncapped evidence, then id: ties only where the evidence is equal (to 6 decimals).
        `score` is the displayed reciprocal score, capped at 1. Once the roster projects its vectors (a very large
        event), only the COARSE_CANDIDATES best by the projected scan are scored exactly and returned.
        """
        self._roster.slot(pid)
        coarse = self._roster.coarse_ready and self.semantic is not None
        fwd, fwd_scan = self._scan(pid, True, coarse)
        bwd, bwd_scan = self._scan(pid, False, coarse)
        slots = np.flatnonzero(self._eligible(pid))
        if coarse:
            if len(slots) > COARSE_CANDIDATES:
                rough = reciprocal(fwd[slots], bwd[slots])
                slots = slots[np.argpartition(-rough, COARSE_CANDIDATES - 1)[:COARSE_CANDIDATES]]
            fwd, bwd = self._rescore(fwd_scan, slots), self._rescore(bwd_scan, slots)
        else:
            fwd, bwd = fwd[slots], bwd[slots]
        evidence = np.round(reciprocal(fwd, bwd), 6)
        scores = np.round(reciprocal(np.minimum(fwd, 1.0), np.minimum(bwd, 1.0)), 6)
        keep = scores > min_score
        slots, evidence, scores = slots[keep], evidence[keep], scores[keep]
        ids = self._roster.ids[slots]
        order = np.lexsort((ids, -evidence))
        return ids[order], evidence[order], scores[order]

    def suggest(self, pid: int, k: int = 3, *, min_score: float = 0.0) -> list[Match]:
        """The best k people present for pid (score > min_score), exclusions and capacity applied.

        Ranked by uncapped evidence (see `ranked`); the app passes `min_score=engine.live_floor` for live matches.
        """
        self._roster.slot(pid)
        if k <= 0:
            return []
        ids, _, _ = self.ranked(pid, min_score=min_score)
        matches = [self.explain(pid, int(other)) for other in ids[:k]]
        matches.sort(key=lambda m: (-m.evidence, m.b if m.a == pid else m.a))
        return matches

    @property
    def live_floor(self) -> float:
        """The calibrated floor for live suggestions (docs/matcher.md, "The floor"): no live match at or below it."""
        return self.fusion.floor

    # -- rounds --------------------------------------------------------------------------------------------------

    def round_graph(self, present: Iterable[int] | None = None, k: int = 10,
                    exclude_previous: bool = True) -> Graph:
        """The sparse k-nearest graph of a round: (ids, u, v, weight) with u < v indexing ids.

        Each person keeps their k best partners by reciprocal evidence (an edge is kept if either end chose it);
        declined and met pairs, pairs the group rule forbids and, with exclude_previous, pairs from earlier rounds
        are left out. Pairs only suggested live stay in: they may meet in a round.
        """
        ids = self._roster.present_ids(present)
        if len(ids) < 2:
            return ids, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        graph = sparse_graph if len(ids) > DENSE_MAX else dense_graph
        groups = None
        if self._group_rule != "any":
            groups = (self._group_rule, self._roster.group[self._roster.positions(ids)[0]])
        return graph(self._roster, self.fusion, ids, k, self._ledger.excluded_pairs(rounds=exclude_previous),
                     groups=groups)

    def pair_round(self, seed: int = 0, present: Iterable[int] | None = None, k: int = 10) -> RoundResult:
        """Pair everyone present at once, maximizing the total reciprocal evidence (uncapped, as suggestions rank);
        no pair repeats across rounds."""
        ids, u, v, w = self.round_graph(present, k)
        n = len(ids)
        mate = rounds.max_weight_pairs(n, u, v, w, seed=seed) if n else np.zeros(0, dtype=np.int64)
        pairs = [(int(ids[i]), int(ids[j])) for i, j in enumerate(mate.tolist()) if j > i]
        left = [int(ids[i]) for i in range(n) if mate[i] < 0]
        # Many people left alone (their partners all went elsewhere): match them again on their own graph.
        for _ in range(LEFTOVER_ROUNDS):
            if len(left) <= LEFTOVER_DENSE:
                break
            ids2, u2, v2, w2 = self.round_graph(left, k)
            mate2 = rounds.max_weight_pairs(len(ids2), u2, v2, w2, seed=seed)
            more = [(int(ids2[i]), int(ids2[j])) for i, j in enumerate(mate2.tolist()) if j > i]
            if not more:
                break
            pairs += more
            left = [int(ids2[i]) for i in range(len(ids2)) if mate2[i] < 0]
            u, v, w = np.r_[u, np.searchsorted(ids, ids2[u2])], np.r_[v, np.searchsorted(ids, ids2[v2])], np.r_[w, w2]
        pairs += self._pair_leftovers(left, seed)
        placed = {x for p in pairs for x in p}
        left = [x for x in left if x not in placed]
        groups: list[tuple[int, ...]] = sorted(pairs)
        trio_extra = None
        if len(left) == 1 and groups:
            trio_extra = left[0]
            best = self._best_group_for(trio_extra, groups)
            if best is not None:
                groups[best] = tuple(sorted(groups[best] + (trio_extra,)))
                left = []
            else:
                trio_extra = None
        # Weights of pairs from the graph are known; only leftover and trio pairs are scored again.
        known = {(int(ids[i]), int(ids[j])): float(x) for i, j, x in zip(u.tolist(), v.tolist(), w.tolist())}
        total = sum(known[(g[x], g[y])] if (g[x], g[y]) in known else self._pair_evidence(g[x], g[y])
                    for g in groups for x in range(len(g)) for y in range(x + 1, len(g)))
        # Remember this round's pairs so later rounds (and suggestions) do not offer them again; a pair suggested
        # live becomes a round pair, a declined or met one could not be here.
        for g in groups:
            for x in range(len(g)):
                for y in range(x + 1, len(g)):
                    self.exclude(g[x], g[y], "round")
        left = sorted(left)
        return rounds.RoundResult(groups=groups, total_weight=round(total, 6), unpaired=left,
                                  trio_extra=trio_extra, seed=seed, why_unpaired=self._why_unpaired(left, ids))

    def _round_allowed(self, people: list[int]) -> np.ndarray:
        """Square mask of who among `people` may be paired in a round: the group rule, no declined or met pair,
        no pair from an earlier round, nobody with themself."""
        m = len(people)
        slots = self._roster.positions(people)[0]
        codes = self._roster.group[slots]
        ok = groups_allow(self._group_rule, codes[:, None], codes[None, :])
        np.fill_diagonal(ok, False)
        where = {pid: i for i, pid in enumerate(people)}
        blocked = self._ledger.blocked_by
        for i, a in enumerate(people):
            for b in blocked.get(a, ()):
                j = where.get(b)
                if j is not None:
                    ok[i, j] = ok[j, i] = False
        return ok.reshape(m, m)

    def _pair_leftovers(self, left: list[int], seed: int) -> list[tuple[int, int]]:
        """Pair people the sparse graph left alone, greedily by exact score, in blocks of LEFTOVER_DENSE * 4.

        Whoever a block leaves alone (every other one there was met, declined or ruled out) is carried into the
        next block, so nobody is left out only because of where the list was cut.
        """
        block_size = LEFTOVER_DENSE * 4
        rng = np.random.default_rng(seed)
        pairs: list[tuple[int, int]] = []
        carry: list[int] = []
        start = 0
        while start < len(left):
            fresh = left[start:start + max(block_size - len(carry), block_size // 2)]
            start += len(fresh)
            block = carry + fresh
            got = self._pair_block(block, rng)
            pairs += got
            placed = {x for p in got for x in p}
            carry = [x for x in block if x not in placed][-(block_size // 2):]
        return pairs

    def _pair_block(self, people: list[int], rng: np.random.Generator) -> list[tuple[int, int]]:
        """Greedy pairs among `people` by exact score (ties at random), only pairs a round may use."""
        m = len(people)
        if m < 2:
            return []
        # Scores in one dense block (not one exact score per pair): there can be hundreds, e.g. people with no
        # cards, who have no edges at all.
        slots, index_of = self._roster.positions(people)
        fwd = block_scores(self._roster, self.fusion, OFFER, NEED, slots, index_of, m)
        weights = np.round(reciprocal(fwd, fwd.T), 6)
        iu, ju = np.nonzero(np.triu(self._round_allowed(people), 1))
        order = np.lexsort((rng.random(len(iu)), -weights[iu, ju]))
        taken = [False] * m
        pairs = []
        for i, j in zip(iu[order].tolist(), ju[order].tolist()):
            if not taken[i] and not taken[j]:
                taken[i] = taken[j] = True
                pairs.append((people[i], people[j]) if people[i] < people[j] else (people[j], people[i]))
                if len(pairs) * 2 >= m - 1:
                    break
        return pairs

    def _pair_evidence(self, a: int, b: int) -> float:
        """Reciprocal uncapped evidence of a and b (a round's weight for the pair; `score` is its capped display)."""
        return round(float(reciprocal(self._best_evidence(a, b), self._best_evidence(b, a))), 6)

    def _best_group_for(self, pid: int, groups: list[tuple[int, ...]]) -> int | None:
        """Index of the pair that gains most by taking pid as a third (every new pair one a round may use)."""
        fwd = self._evidence(pid, giving=True)
        bwd = self._evidence(pid, giving=False)
        with_pid = reciprocal(fwd, bwd)
        best, best_gain = None, -1.0
        for i, g in enumerate(groups):
            if any(self._ledger.blocks_round(pid, x) or not self.may_meet(pid, x) for x in g):
                continue
            gain = sum(float(with_pid[self._roster.slot_of[x]]) for x in g)
            if gain > best_gain:
                best, best_gain = i, gain
        return best

    def _why_unpaired(self, left: list[int], ids: np.ndarray) -> dict[int, str]:
        """Why each of `left` is in no group (rounds.UNPAIRED_REASONS).

        The leftovers were offered to each other (and a lone one to every pair as a third) and none could be
        paired: a person is left out by the group rule when the rule forbids them someone else left over (or,
        alone, some pair), else by whom they already met or declined.
        """
        if not left:
            return {}
        if self._group_rule == "any":
            return {pid: "already_met" for pid in left}
        codes = self._roster.group[self._roster.positions(left)[0]]
        if len(left) == 1:
            # Alone: no pair could take them; the rule did if it forbids them anyone in the round.
            everyone = self._roster.group[self._roster.positions(ids)[0]]
            ruled = not bool(groups_allow(self._group_rule, codes[0], everyone).all())
            return {left[0]: "group_rule" if ruled else "already_met"}
        grouped = codes >= 0
        same = np.bincount(codes[grouped], minlength=int(codes.max()) + 1 if grouped.any() else 0)
        n_grouped = int(grouped.sum())
        why = {}
        for pid, code in zip(left, codes.tolist()):
            if code < 0:
                conflicts = 0
            elif self._group_rule == "across":
                conflicts = int(same[code]) - 1
            else:
                conflicts = n_grouped - int(same[code])
            why[pid] = "group_rule" if conflicts > 0 else "already_met"
        return why


@dataclasses.dataclass
class _Scan:
    """One direction of a suggestion's scan: pid's card rows in `store` against every row of `other`, with the
    lexical and tag scores already computed for every row (rescoring needs only the exact cosines)."""

    store: object
    other: object
    rows: list[int]
    lex: list[np.ndarray]
    tags: list[np.ndarray]


def _tag_cosine(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    if not a or not b:
        return 0.0
    return len(set(a) & set(b)) / math.sqrt(len(a) * len(b))


def _usable_embedding(vec, dim: int) -> bool:
    if vec is None:
        return False
    arr = np.asarray(vec)
    return arr.shape == (dim,) and bool(np.isfinite(arr).all())


def _first_name(name: str, pid: int) -> str:
    return display_name(name, pid)
