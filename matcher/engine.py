"""The matching engine: an incremental index of who is present, live suggestions and rounds.

Not thread-safe by design: the app runs one engine per event in a single-writer loop (DESIGN.md, "Matching").
Deterministic: the same sequence of calls gives the same answers (ties go to the lower id).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import rounds
from .encoders import fusion_of, semantic_of
from .lexical import LexicalIndex, SparseRows
from .scoring import Match, Reason, direction, display_name, reciprocal, starter

#: Longest card text accepted; a card is a sentence or two, not a CV.
MAX_CARD_CHARS = 600
#: Most cards of one kind per profile.
MAX_CARDS = 12
#: Rows of card matrices scored at once when building a round's graph (bounds memory to rows x this).
BLOCK_ROWS = 512
#: Up to this many people a round scores every pair exactly; above, candidates first (see _sparse_round_graph).
DENSE_MAX = 400
#: Nearest cards of the other kind each card nominates in a large round.
NEIGHBOUR_CARDS = 6
#: Candidates kept per person, as a multiple of the graph's k, before exact scoring.
CANDIDATES_PER_K = 1.5
#: Terms and tags at most this frequent nominate every pair that shares them in a large round.
RARE_DF = 24
#: Leftovers beyond this many are matched again on their own graph before the exact greedy pass.
LEFTOVER_DENSE = 200
#: At most this many such re-matchings.
LEFTOVER_ROUNDS = 3
#: Pairs per chunk when gathering semantic vectors for exact pair scores (bounds memory).
PAIR_CHUNK = 65536
EXCLUDE_REASONS = ("matched", "declined", "met", "round")
OFFER, NEED = "offer", "need"


class MatcherError(Exception):
    """Base of the matcher's domain errors."""


class UnknownProfile(MatcherError, KeyError):
    """The id is not (or no longer) in the engine."""

    def __str__(self) -> str:
        return f"unknown profile {self.args[0]!r}" if self.args else "unknown profile"


class InvalidProfile(MatcherError, ValueError):
    """A profile or card the engine cannot take, with the reason in the message."""


class InvalidCard(InvalidProfile):
    """A card with empty or too long text, bad tags or a bad embedding."""


class DuplicateProfile(InvalidProfile):
    """The same id twice in one batch."""


@dataclass(frozen=True)
class Card:
    """One thing a person offers or needs: text, organizer tags, and the cached semantic vector if known."""

    text: str
    tags: tuple[str, ...] = ()
    embedding: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.text, str):
            raise InvalidCard(f"card text must be a string, not {type(self.text).__name__}")
        text = " ".join(self.text.split())
        if not text:
            raise InvalidCard("card text is empty")
        if len(text) > MAX_CARD_CHARS:
            raise InvalidCard(f"card text is {len(text)} characters; at most {MAX_CARD_CHARS} are allowed")
        tags = (self.tags,) if isinstance(self.tags, str) else tuple(self.tags or ())
        if not all(isinstance(t, str) for t in tags):
            raise InvalidCard("card tags must be strings")
        # Tags are the organizer's labels: compare them case- and space-insensitively, keep each once.
        clean = tuple(dict.fromkeys(" ".join(t.split()).casefold() for t in tags if t.strip()))
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "tags", clean)


@dataclass
class Profile:
    """A person present at the event, with what they offer and what they need."""

    id: int
    offers: list[Card]
    needs: list[Card]
    company: str | None = None
    name: str = ""


def _check_profile(profile: Profile) -> None:
    if not isinstance(profile, Profile):
        raise InvalidProfile(f"expected a Profile, got {type(profile).__name__}")
    if isinstance(profile.id, bool) or not isinstance(profile.id, (int, np.integer)):
        raise InvalidProfile(f"profile id must be an integer, not {profile.id!r}")
    for kind, cards in ((OFFER, profile.offers), (NEED, profile.needs)):
        if not isinstance(cards, (list, tuple)) or not all(isinstance(c, Card) for c in cards):
            raise InvalidProfile(f"profile {profile.id}: {kind}s must be a list of Card")
        if len(cards) > MAX_CARDS:
            raise InvalidProfile(f"profile {profile.id}: {len(cards)} {kind}s; at most {MAX_CARDS} are allowed")


def _norm_company(company: str | None) -> str | None:
    return " ".join(company.split()).casefold() or None if isinstance(company, str) else None


class _CardStore:
    """Rows of one kind of card: semantic vectors, owner slot, tags; grown by doubling, freed rows reused."""

    def __init__(self, dim: int):
        self.dim = dim
        self.vectors = np.zeros((64, dim), dtype=np.float32)
        self.owner = np.full(64, -1, dtype=np.int64)
        self.n_tags = np.zeros(64, dtype=np.float64)
        self.cards: dict[int, Card] = {}
        self.tag_rows: dict[str, set[int]] = {}
        self.free: list[int] = []
        self.size = 0  # high-water mark: rows >= size were never used

    def add(self, slot: int, card: Card, vector: np.ndarray | None) -> int:
        if self.free:
            row = self.free.pop()
        else:
            row = self.size
            self.size += 1
            if row >= len(self.owner):
                self._grow()
        self.owner[row] = slot
        if vector is not None:
            self.vectors[row] = vector
        self.cards[row] = card
        self.n_tags[row] = len(card.tags)
        for tag in card.tags:
            self.tag_rows.setdefault(tag, set()).add(row)
        return row

    def discard(self, row: int) -> None:
        card = self.cards.pop(row)
        for tag in card.tags:
            rows = self.tag_rows[tag]
            rows.discard(row)
            if not rows:
                del self.tag_rows[tag]
        self.owner[row] = -1
        self.vectors[row] = 0.0
        self.n_tags[row] = 0.0
        # Keep the free list sorted descending so the lowest row is reused first (deterministic layout).
        self.free.append(row)
        self.free.sort(reverse=True)

    def tag_scores(self, tags: tuple[str, ...], size: int) -> np.ndarray:
        """Cosine of binary tag sets: shared tags / sqrt(|query| * |row|), for every row below size."""
        out = np.zeros(size, dtype=np.float64)
        if not tags:
            return out
        for tag in tags:
            rows = self.tag_rows.get(tag)
            if rows:
                idx = np.fromiter(rows, dtype=np.int64, count=len(rows))
                out[idx[idx < size]] += 1.0
        denom = np.sqrt(self.n_tags[:size] * len(tags))
        np.divide(out, denom, out=out, where=denom > 0)
        return out

    def _grow(self) -> None:
        cap = 2 * len(self.owner)
        vectors = np.zeros((cap, self.dim), dtype=np.float32)
        vectors[: len(self.vectors)] = self.vectors
        self.vectors = vectors
        self.owner = np.concatenate([self.owner, np.full(cap - len(self.owner), -1, dtype=np.int64)])
        self.n_tags = np.concatenate([self.n_tags, np.zeros(cap - len(self.n_tags))])


class MatchEngine:
    """Who should meet whom among the people present: live suggestions and whole rounds."""

    def __init__(self, encoder, *, capacity: int = 3, window_s: float = 900, exclude_same_company: bool = False,
                 clock: Callable[[], float] = time.monotonic):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.encoder = encoder
        self.semantic = semantic_of(encoder)
        self.fusion = fusion_of(encoder)
        self.model_id = getattr(encoder, "model_id", "lexical") if self.semantic is not None else "lexical"
        self.capacity = capacity
        self.window_s = window_s
        self.exclude_same_company = exclude_same_company
        self.clock = clock
        dim = int(self.semantic.dim) if self.semantic is not None else 1
        self._stores = {OFFER: _CardStore(dim), NEED: _CardStore(dim)}
        self._lexical = LexicalIndex()
        self._profiles: dict[int, Profile] = {}
        self._rows: dict[int, dict[str, list[int]]] = {}
        self._slot_of: dict[int, int] = {}
        self._ids = np.full(64, -1, dtype=np.int64)
        self._company = np.full(64, -1, dtype=np.int64)
        self._full_mask = np.zeros(64, dtype=bool)  # by slot: the person there is in _full
        self._company_codes: dict[str, int] = {}
        self._free_slots: list[int] = []
        self._n_slots = 0
        self._excluded: dict[tuple[int, int], str] = {}
        self._excluded_by: dict[int, set[int]] = {}
        self._accepted: dict[int, deque[float]] = {}
        self._full: set[int] = set()  # people at capacity when last checked
        self._next_release = math.inf  # no one in _full can fall under capacity before this clock time

    # -- the people present ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, pid: int) -> bool:
        return pid in self._profiles

    @property
    def ids(self) -> list[int]:
        """Ids of everyone present, ascending."""
        return sorted(self._profiles)

    def profile(self, pid: int) -> Profile:
        try:
            return self._profiles[pid]
        except KeyError:
            raise UnknownProfile(pid) from None

    def upsert(self, profile: Profile) -> Profile:
        """Add or replace a person; returns the profile with every card's embedding filled in (for caching)."""
        return self.upsert_many([profile])[0]

    def upsert_many(self, profiles: Sequence[Profile]) -> list[Profile]:
        """Add or replace several people with one batched encode (the restart path); ids must be unique."""
        profiles = list(profiles)
        for p in profiles:
            _check_profile(p)
        seen: set[int] = set()
        for p in profiles:
            if int(p.id) in seen:
                raise DuplicateProfile(f"profile id {int(p.id)} appears twice in one batch")
            seen.add(int(p.id))
        filled = self._embed(profiles)
        for p in filled:
            self._insert(p)
        return filled

    def remove(self, pid: int) -> None:
        """The person left: drop them from suggestions and rounds (their exclusions and history stay)."""
        if pid not in self._profiles:
            raise UnknownProfile(pid)
        for kind, rows in self._rows.pop(pid).items():
            for row in rows:
                self._stores[kind].discard(row)
                self._lexical.discard(kind, row)
        del self._profiles[pid]
        slot = self._slot_of.pop(pid)
        self._ids[slot] = -1
        self._company[slot] = -1
        self._full_mask[slot] = False
        self._free_slots.append(slot)
        self._free_slots.sort(reverse=True)

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
                return dataclasses.replace(card, embedding=vec / norm if norm > 0 else vec)
            return dataclasses.replace(card, embedding=vectors[card.text])

        return [dataclasses.replace(p, offers=[fill(c) for c in p.offers], needs=[fill(c) for c in p.needs])
                for p in profiles]

    def _insert(self, profile: Profile) -> None:
        pid = int(profile.id)
        if pid in self._profiles:
            self.remove(pid)  # an upsert of an existing id replaces the cards (edits)
        slot = self._free_slots.pop() if self._free_slots else self._new_slot()
        self._slot_of[pid] = slot
        self._ids[slot] = pid
        self._full_mask[slot] = pid in self._full
        company = _norm_company(profile.company)
        self._company[slot] = -1 if company is None else self._company_codes.setdefault(company,
                                                                                       len(self._company_codes))
        rows: dict[str, list[int]] = {OFFER: [], NEED: []}
        for kind, cards in ((OFFER, profile.offers), (NEED, profile.needs)):
            for card in cards:
                row = self._stores[kind].add(slot, card, card.embedding if self.semantic is not None else None)
                self._lexical.add(kind, row, card.text)
                rows[kind].append(row)
        self._rows[pid] = rows
        self._profiles[pid] = profile

    def _new_slot(self) -> int:
        slot = self._n_slots
        self._n_slots += 1
        if slot >= len(self._ids):
            self._ids = np.concatenate([self._ids, np.full(len(self._ids), -1, dtype=np.int64)])
            self._company = np.concatenate([self._company, np.full(len(self._company), -1, dtype=np.int64)])
            self._full_mask = np.concatenate([self._full_mask, np.zeros(len(self._full_mask), dtype=bool)])
        return slot

    # -- what the app tells us -------------------------------------------------------------------------------

    def exclude(self, a: int, b: int, reason: str = "matched") -> None:
        """Never suggest or pair a and b again (they matched, declined or met, as the database says)."""
        if reason not in EXCLUDE_REASONS:
            raise ValueError(f"unknown exclusion reason {reason!r}; expected one of {', '.join(EXCLUDE_REASONS)}")
        a, b = int(a), int(b)
        if a == b:
            raise ValueError("a person cannot be excluded from themself")
        key = (min(a, b), max(a, b))
        self._excluded[key] = reason
        self._excluded_by.setdefault(a, set()).add(b)
        self._excluded_by.setdefault(b, set()).add(a)

    def is_excluded(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in self._excluded

    def record(self, match: Match, at: float | None = None) -> None:
        """The app accepted a suggestion: it counts toward both people's capacity and the pair is not offered again.

        `at` is when, on the engine's clock (default now): an app rebuilding the engine passes the times of the
        matches it stored, so capacity windows survive a restart.
        """
        now = self.clock() if at is None else float(at)
        for pid in (match.a, match.b):
            times = self._accepted.setdefault(pid, deque())
            times.append(now)
            if len(times) > 1 and times[-2] > now:  # an older time given late: keep the window in order
                self._accepted[pid] = times = deque(sorted(times))
            if self.load(pid) >= self.capacity:
                self._full.add(pid)
                if pid in self._slot_of:
                    self._full_mask[self._slot_of[pid]] = True
                self._next_release = min(self._next_release, times[0] + self.window_s)
        self.exclude(match.a, match.b, "matched")

    def unrecord(self, match: Match) -> None:
        """Undo the latest `record(match)` (the app could not store it): the pair may be suggested again and the
        match no longer counts toward capacity. Undo several in the reverse order of recording."""
        key = (min(match.a, match.b), max(match.a, match.b))
        if self._excluded.get(key) == "matched":
            del self._excluded[key]
            self._excluded_by.get(key[0], set()).discard(key[1])
            self._excluded_by.get(key[1], set()).discard(key[0])
        for pid in (match.a, match.b):
            times = self._accepted.get(pid)
            if times:
                times.pop()
            if pid in self._full and self.load(pid) < self.capacity:
                self._full.discard(pid)
                if pid in self._slot_of:
                    self._full_mask[self._slot_of[pid]] = False

    def load(self, pid: int) -> int:
        """Accepted matches of a person within the current fairness window."""
        times = self._accepted.get(pid)
        if not times:
            return 0
        horizon = self.clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        return len(times)

    # -- scoring -----------------------------------------------------------------------------------------------

    def _slot(self, pid: int) -> int:
        try:
            return self._slot_of[pid]
        except (KeyError, TypeError):
            raise UnknownProfile(pid) from None

    def _directional(self, pid: int, giving: bool) -> np.ndarray:
        """s(pid -> x) for every slot when giving, else s(x -> pid): the best of the card pairs."""
        kind, target = (OFFER, NEED) if giving else (NEED, OFFER)
        out = np.zeros(self._n_slots + 1, dtype=np.float64)  # the extra slot collects rows nobody owns
        other = self._stores[target]
        size = other.size
        rows = self._rows[pid][kind]
        if not rows or size == 0:
            return out[:-1]
        store = self._stores[kind]
        # One pass over the other kind's vectors for all of pid's cards: at 20,000 people this scan is the cost.
        # einsum, not BLAS: a skinny product gains nothing from BLAS threads, which stall on a busy machine.
        cos = np.einsum("ij,kj->ik", other.vectors[:size], store.vectors[rows]) if self.semantic is not None \
            else None
        best = np.zeros(size, dtype=np.float64)
        for j, row in enumerate(rows):
            lex = self._lexical.row_scores(kind, row, target, size)
            tags = other.tag_scores(store.cards[row].tags, size)
            sims = self.fusion.similarity(cos[:, j] if cos is not None else 0.0, lex, tags)
            np.maximum(best, sims, out=best)
        owner = other.owner[:size]
        np.maximum.at(out, np.where(owner >= 0, owner, self._n_slots), best)
        return out[:-1]

    def _card_matrix(self, giver: int, taker: int) -> tuple[np.ndarray, list[int], list[int]]:
        """Calibrated similarity of each of giver's offers to each of taker's needs (exact, for reasons)."""
        o_rows, n_rows = self._rows[giver][OFFER], self._rows[taker][NEED]
        if not o_rows or not n_rows:
            return np.zeros((len(o_rows), len(n_rows))), o_rows, n_rows
        offers, needs = self._stores[OFFER], self._stores[NEED]
        oo, nn = np.meshgrid(o_rows, n_rows, indexing="ij")
        oo, nn = oo.ravel(), nn.ravel()
        if self.semantic is not None:
            cos = np.einsum("ij,ij->i", offers.vectors[oo].astype(np.float64), needs.vectors[nn].astype(np.float64))
        else:
            cos = 0.0
        lex = self._lexical.pair_scores(oo, nn)
        tags = np.array([_tag_cosine(offers.cards[o].tags, needs.cards[n].tags) for o, n in zip(oo, nn)])
        sims = self.fusion.similarity(cos, lex, tags)
        return np.asarray(sims, dtype=np.float64).reshape(len(o_rows), len(n_rows)), o_rows, n_rows

    def directional_score(self, giver: int, taker: int) -> float:
        """s(giver -> taker): how well giver's offers meet taker's needs, in [0, 1]."""
        self._slot(giver), self._slot(taker)
        sims, _, _ = self._card_matrix(giver, taker)
        return round(float(sims.max()), 6) if sims.size else 0.0

    def score(self, a: int, b: int) -> float:
        """Reciprocal score of a and b, in [0, 1]; score(a, b) == score(b, a)."""
        lo, hi = min(a, b), max(a, b)
        return round(float(reciprocal(self.directional_score(lo, hi), self.directional_score(hi, lo))), 6)

    def explain(self, a: int, b: int) -> Match:
        """The Match of a and b with its score, direction, reasons and conversation starter."""
        lo, hi = min(int(a), int(b)), max(int(a), int(b))
        if lo == hi:
            raise ValueError("a person cannot be matched with themself")
        self._slot(lo), self._slot(hi)
        reasons: list[Reason] = []
        s = {}
        for giver, taker in ((lo, hi), (hi, lo)):
            sims, o_rows, n_rows = self._card_matrix(giver, taker)
            s[giver] = round(float(sims.max()), 6) if sims.size else 0.0
            if sims.size and s[giver] > 0:
                i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
                offer, need = self._stores[OFFER].cards[o_rows[i]], self._stores[NEED].cards[n_rows[j]]
                shared = [t for t in need.tags if t in offer.tags]
                reasons.append(Reason(giver=giver, taker=taker, offer=offer.text, need=need.text, tags=shared,
                                      score=s[giver]))
        s_ab, s_ba = s[lo], s[hi]
        way = direction(s_ab, s_ba)
        # The stronger direction speaks first; a one-way match keeps only its giving side.
        reasons.sort(key=lambda r: (-r.score, r.giver))
        if way != "both":
            reasons = reasons[:1]
        names = {pid: _first_name(self._profiles[pid].name, pid) for pid in (lo, hi)}
        return Match(a=lo, b=hi, score=round(float(reciprocal(s_ab, s_ba)), 6), direction=way, reasons=reasons,
                     starter=starter(reasons, names))

    # -- live suggestions --------------------------------------------------------------------------------------

    def _eligible(self, pid: int) -> np.ndarray:
        """Mask over slots of who may be suggested to pid: present, not self, not excluded, under capacity."""
        n = self._n_slots
        ok = self._ids[:n] >= 0
        ok[self._slot_of[pid]] = False
        for other in self._excluded_by.get(pid, ()):
            slot = self._slot_of.get(other)
            if slot is not None:
                ok[slot] = False
        if self._full and self.clock() >= self._next_release:
            self._release_full()
        ok &= ~self._full_mask[:n]
        if self.exclude_same_company:
            code = self._company[self._slot_of[pid]]
            if code >= 0:
                ok &= self._company[:n] != code
        return ok

    def _release_full(self) -> None:
        """Take people whose fairness window moved on out of `_full`; note when the next one can be released."""
        for other in list(self._full):
            if self.load(other) < self.capacity:
                self._full.discard(other)
                if other in self._slot_of:
                    self._full_mask[self._slot_of[other]] = False
        self._next_release = min((self._accepted[o][0] + self.window_s for o in self._full), default=math.inf)

    def suggest(self, pid: int, k: int = 3, *, min_score: float = 0.0) -> list[Match]:
        """The best k people present for pid (score > min_score), exclusions and capacity applied."""
        self._slot(pid)
        if k <= 0:
            return []
        fwd = self._directional(pid, giving=True)
        bwd = self._directional(pid, giving=False)
        scores = np.round(reciprocal(fwd, bwd), 6)
        ok = self._eligible(pid) & (scores > min_score)
        slots = np.flatnonzero(ok)
        if slots.size == 0:
            return []
        ids = self._ids[slots]
        order = np.lexsort((ids, -scores[slots]))[:k]
        matches = [self.explain(pid, int(other)) for other in ids[order]]
        matches.sort(key=lambda m: (-m.score, m.b if m.a == pid else m.a))
        return matches

    # -- rounds --------------------------------------------------------------------------------------------------

    def round_graph(self, present: Iterable[int] | None = None, k: int = 10,
                    exclude_previous: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The sparse k-nearest graph of a round: (ids, u, v, weight) with u < v indexing ids.

        Each person keeps their k best partners by reciprocal score (an edge is kept if either end chose it);
        excluded pairs and, with exclude_previous, pairs from earlier rounds are left out.
        """
        ids = self._present_ids(present)
        n = len(ids)
        if n < 2:
            return ids, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        index_of = np.full(self._n_slots + 1, -1, dtype=np.int64)
        slots = np.array([self._slot_of[i] for i in ids.tolist()], dtype=np.int64)
        index_of[slots] = np.arange(n)
        if n > DENSE_MAX:
            return self._sparse_round_graph(ids, slots, index_of, k, exclude_previous)
        fwd = self._block_scores(OFFER, NEED, slots, index_of, n)   # fwd[i, j] = s(i -> j)
        bwd = fwd.T                                                  # s(j -> i)
        weights = np.round(reciprocal(fwd, bwd), 6)
        np.fill_diagonal(weights, 0.0)
        for (a, b), reason in self._excluded.items():
            if exclude_previous or reason != "round":
                ia, ib = _index(ids, a), _index(ids, b)
                if ia >= 0 and ib >= 0:
                    weights[ia, ib] = weights[ib, ia] = 0.0
        kk = min(k, n - 1)
        # Top-k by weight, ties to the lower index: argsort of a stable sort on -weight.
        spread = np.random.default_rng(n).permutation(n)  # ties: see _sparse_round_graph
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

    def _sparse_round_graph(self, ids: np.ndarray, slots: np.ndarray, index_of: np.ndarray, k: int,
                            exclude_previous: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The k-nearest graph for large rounds: approximate candidates, then exact scores for those only.

        Candidates per person: the people owning the nearest cards of the other kind (an inverted-file search over
        k-means clusters of the semantic vectors) and people sharing a rare term or tag; each person keeps the
        CANDIDATES_PER_K * k best by semantic similarity, and those pairs are scored exactly.
        """
        n = len(ids)
        cards = _PresentCards(self, slots, index_of)
        rng = np.random.default_rng(0)  # the clustering is part of the index, not of the round's seed
        givers, takers, approx = [], [], []
        if self.semantic is not None:
            for kind, other, forward in ((OFFER, NEED, True), (NEED, OFFER, False)):
                q_rows, b_rows = cards.rows[kind], cards.rows[other]
                if len(q_rows) == 0 or len(b_rows) == 0:
                    continue
                qi, bi, sim = _ivf_neighbours(self._stores[kind].vectors[q_rows], self._stores[other].vectors[b_rows],
                                              NEIGHBOUR_CARDS, rng)
                q_owner = cards.owner_index(kind, q_rows[qi])
                b_owner = cards.owner_index(other, b_rows[bi])
                givers.append(q_owner if forward else b_owner)
                takers.append(b_owner if forward else q_owner)
                approx.append(sim.astype(np.float64))
        g_rare, t_rare = cards.rare_pairs(self, RARE_DF)
        givers.append(g_rare)
        takers.append(t_rare)
        approx.append(np.full(len(g_rare), 2.0))  # a shared rare word or tag is always worth an exact look
        g = np.concatenate(givers) if givers else np.zeros(0, np.int64)
        t = np.concatenate(takers) if takers else np.zeros(0, np.int64)
        a = np.concatenate(approx) if approx else np.zeros(0)
        keep = g != t
        g, t, a = g[keep], t[keep], a[keep]
        # Best approximate candidates per person (as either end), then the union as unordered pairs.
        x = np.concatenate([g, t])
        y = np.concatenate([t, g])
        sc = np.concatenate([a, a])
        # Several cards can nominate the same partner: keep each partner once, at its best similarity. One
        # float sort key does it (pair, then similarity descending); similarities lie in [-1, 2].
        pair_key = x * n + y
        order = np.argsort(pair_key * 4.0 + (2.0 - sc), kind="stable")
        pair_key, sc = pair_key[order], sc[order]
        keep = np.r_[True, pair_key[1:] != pair_key[:-1]]
        pair_key, sc = pair_key[keep], sc[keep]
        # Then per person, best similarity first.
        order = np.argsort((pair_key // n) * 4.0 + (2.0 - sc), kind="stable")
        x, y = pair_key[order] // n, pair_key[order] % n
        first = np.r_[True, x[1:] != x[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(len(x)) - np.repeat(starts, np.diff(np.r_[starts, len(x)]))
        sel = rank < int(CANDIDATES_PER_K * k)
        lo, hi = np.minimum(x[sel], y[sel]), np.maximum(x[sel], y[sel])
        key = np.unique(lo * n + hi)
        u, v = key // n, key % n
        s_uv = cards.directional(self, u, v)
        s_vu = cards.directional(self, v, u)
        w = np.round(reciprocal(s_uv, s_vu), 6)
        if len(w):
            excluded = np.array([min(_index(ids, a_), _index(ids, b_)) * n + max(_index(ids, a_), _index(ids, b_))
                                 for (a_, b_), reason in self._excluded.items()
                                 if (exclude_previous or reason != "round")
                                 and _index(ids, a_) >= 0 and _index(ids, b_) >= 0], dtype=np.int64)
            if len(excluded):
                w[np.isin(key, excluded)] = 0.0
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

    def _block_scores(self, kind: str, target: str, slots: np.ndarray, index_of: np.ndarray, n: int) -> np.ndarray:
        """Dense s(i -> j) among the given people: kind rows of i against target rows of j, max over card pairs."""
        src, dst = self._stores[kind], self._stores[target]
        src_rows = np.array(sorted(r for s in slots.tolist() for r in self._rows[int(self._ids[s])][kind]),
                            dtype=np.int64)
        dst_rows = np.array(sorted(r for s in slots.tolist() for r in self._rows[int(self._ids[s])][target]),
                            dtype=np.int64)
        out = np.zeros((n, n), dtype=np.float64)
        if src_rows.size == 0 or dst_rows.size == 0:
            return out
        dst_owner = index_of[dst.owner[dst_rows]]
        size = dst.size
        for start in range(0, src_rows.size, BLOCK_ROWS):
            block = src_rows[start:start + BLOCK_ROWS]
            if self.semantic is not None:
                cos = dst.vectors[dst_rows] @ src.vectors[block].T   # (dst rows, block)
            for j, row in enumerate(block.tolist()):
                lex = self._lexical.row_scores(kind, row, target, size)[dst_rows]
                tags = dst.tag_scores(src.cards[row].tags, size)[dst_rows]
                sims = self.fusion.similarity(cos[:, j] if self.semantic is not None else 0.0, lex, tags)
                line = np.zeros(n + 1)
                np.maximum.at(line, dst_owner, sims)
                i = index_of[src.owner[row]]
                np.maximum(out[i], line[:n], out=out[i])
        return out

    def pair_round(self, seed: int = 0, present: Iterable[int] | None = None, k: int = 10) -> RoundResult:
        """Pair everyone present at once, maximizing total reciprocal score; no pair repeats across rounds."""
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
            # Second-chance pairs: cheap passes only, the thorough pass would cost more than it adds here.
            mate2 = rounds.max_weight_pairs(len(ids2), u2, v2, w2, seed=seed, thorough=False)
            more = [(int(ids2[i]), int(ids2[j])) for i, j in enumerate(mate2.tolist()) if j > i]
            if not more:
                break
            pairs += more
            left = [int(ids2[i]) for i in range(len(ids2)) if mate2[i] < 0]
            u, v, w = np.r_[u, np.searchsorted(ids, ids2[u2])], np.r_[v, np.searchsorted(ids, ids2[v2])], np.r_[w, w2]
        pairs += self._pair_leftovers(left[:LEFTOVER_DENSE * 4], seed)
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
        total = sum(known[(g[x], g[y])] if (g[x], g[y]) in known else self.score(g[x], g[y])
                    for g in groups for x in range(len(g)) for y in range(x + 1, len(g)))
        # Remember this round's pairs so later rounds (and suggestions) do not offer them again.
        for g in groups:
            for x in range(len(g)):
                for y in range(x + 1, len(g)):
                    if not self.is_excluded(g[x], g[y]):
                        self.exclude(g[x], g[y], "round")
        return rounds.RoundResult(groups=groups, total_weight=round(total, 6), unpaired=sorted(left),
                                  trio_extra=trio_extra, seed=seed)

    def _pair_leftovers(self, left: list[int], seed: int) -> list[tuple[int, int]]:
        """Pair people the sparse graph left alone, greedily by exact score, avoiding excluded pairs."""
        if len(left) < 2:
            return []
        rng = np.random.default_rng(seed)
        # Scores among the leftovers in one dense block (not one exact score per pair): there can be hundreds,
        # e.g. people with no cards, who have no edges at all.
        slots = np.array([self._slot_of[p] for p in left], dtype=np.int64)
        index_of = np.full(self._n_slots + 1, -1, dtype=np.int64)
        index_of[slots] = np.arange(len(left))
        fwd = self._block_scores(OFFER, NEED, slots, index_of, len(left))
        weights = np.round(reciprocal(fwd, fwd.T), 6)
        candidates = []
        for i, a in enumerate(left):
            for j in range(i + 1, len(left)):
                b = left[j]
                if not self.is_excluded(a, b):
                    candidates.append((-float(weights[i, j]), float(rng.random()), a, b))
        candidates.sort()
        taken: set[int] = set()
        pairs = []
        for _, _, a, b in candidates:
            if a not in taken and b not in taken:
                taken.update((a, b))
                pairs.append((a, b))
        return pairs

    def _best_group_for(self, pid: int, groups: list[tuple[int, ...]]) -> int | None:
        """Index of the pair that gains most by taking pid as a third (none of the new pairs excluded)."""
        fwd = self._directional(pid, giving=True)
        bwd = self._directional(pid, giving=False)
        with_pid = reciprocal(fwd, bwd)
        best, best_gain = None, -1.0
        for i, g in enumerate(groups):
            if any(self.is_excluded(pid, x) for x in g):
                continue
            gain = sum(float(with_pid[self._slot_of[x]]) for x in g)
            if gain > best_gain:
                best, best_gain = i, gain
        return best

    def _present_ids(self, present: Iterable[int] | None) -> np.ndarray:
        if present is None:
            return np.array(sorted(self._profiles), dtype=np.int64)
        ids = sorted({int(p) for p in present})
        for pid in ids:
            self._slot(pid)
        return np.array(ids, dtype=np.int64)


def _index(ids: np.ndarray, pid: int) -> int:
    i = int(np.searchsorted(ids, pid))
    return i if i < len(ids) and ids[i] == pid else -1


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


class _PresentCards:
    """The cards of the people in one round, grouped per person, with exact pair scoring in bulk."""

    def __init__(self, engine: "MatchEngine", slots: np.ndarray, index_of: np.ndarray):
        self.index_of = index_of
        self.n = len(slots)
        self._engine_owner = {kind: engine._stores[kind].owner for kind in (OFFER, NEED)}
        self.rows: dict[str, np.ndarray] = {}
        self.ptr: dict[str, np.ndarray] = {}
        for kind in (OFFER, NEED):
            per_person = [engine._rows[int(engine._ids[s])][kind] for s in slots.tolist()]
            counts = np.array([len(r) for r in per_person], dtype=np.int64)
            self.ptr[kind] = np.r_[0, np.cumsum(counts)]
            self.rows[kind] = np.array([r for rows in per_person for r in rows], dtype=np.int64)
        self.terms = {kind: engine._lexical.snapshot(kind, self.rows[kind]) for kind in (OFFER, NEED)}
        tag_ids: dict[str, int] = {}
        self.tags = {}
        for kind in (OFFER, NEED):
            store = engine._stores[kind]
            keys = [(row, tag_ids.setdefault(tag, len(tag_ids))) for row in self.rows[kind].tolist()
                    for tag in store.cards[row].tags]
            self.tags[kind] = SparseRows.build(keys, [1.0] * len(keys), np.sqrt(store.n_tags))

    def owner_index(self, kind: str, rows: np.ndarray) -> np.ndarray:
        """Round index (0..n-1) of the person owning each card row."""
        return self.index_of[self._owner_slots(kind, rows)]

    def _owner_slots(self, kind: str, rows: np.ndarray) -> np.ndarray:
        return self._engine_owner[kind][rows]

    def directional(self, engine: "MatchEngine", givers: np.ndarray, takers: np.ndarray) -> np.ndarray:
        """Exact s(giver -> taker) for arrays of round indices: best offer/need card pair, as in suggest."""
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
        if engine.semantic is not None:
            offers, needs = engine._stores[OFFER].vectors, engine._stores[NEED].vectors
            cos = np.empty(total, dtype=np.float64)
            for start in range(0, total, PAIR_CHUNK):
                sl = slice(start, start + PAIR_CHUNK)
                cos[sl] = np.einsum("ij,ij->i", offers[o_rows[sl]], needs[n_rows[sl]])
        else:
            cos = 0.0
        np.maximum.at(out, pair, engine.fusion.similarity(cos, lex, tags))
        return out

    def rare_pairs(self, engine: "MatchEngine", max_df: int) -> tuple[np.ndarray, np.ndarray]:
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


def _ivf_neighbours(query: np.ndarray, base: np.ndarray, c: int, rng: np.random.Generator,
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
        cells = np.argmax(base @ centroids.T, axis=1)
        nearest = query @ centroids.T
        probes = min(probes, n_cells)
        probe = np.argpartition(-nearest, probes - 1, axis=1)[:, :probes]
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
        for start in range(0, len(asking), 4096):
            q = asking[start:start + 4096]
            block = query[q] @ base[members].T
            take = min(c, len(members))
            # A little seeded noise spreads exact ties (people with identical cards) over all of them; otherwise
            # every query would nominate the same few rows and the round's graph would be a star.
            jittered = block + rng.uniform(0.0, 1e-4, size=block.shape).astype(block.dtype)
            top = np.argpartition(-jittered, take - 1, axis=1)[:, :take] if take < len(members) else \
                np.broadcast_to(np.arange(len(members)), (len(q), len(members)))
            qi.append(np.repeat(q, take))
            bi.append(members[top].ravel())
            sims.append(np.take_along_axis(block, top, axis=1).ravel())
    if not qi:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(qi), np.concatenate(bi), np.concatenate(sims)


RoundResult = rounds.RoundResult
