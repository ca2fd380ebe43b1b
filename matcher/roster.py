"""Who is present: each person's slot, card rows (vectors, tags, terms) and company, kept incrementally."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .lexical import LexicalIndex
from .profiles import NEED, OFFER, Card, Profile, UnknownProfile

#: From this many card rows of one kind on, each card also keeps a COARSE_DIM projection of its vector, and live
#: suggestions scan those first (MatchEngine.ranked): at 100,000 people the full vectors are 230 MB a kind, and
#: reading them twice per suggestion took 36 ms.
COARSE_MIN_ROWS = 40_000
#: Dimensions of the projection (the top right singular vectors of a sample of both kinds' vectors).
COARSE_DIM = 64
#: Rows sampled to fit the projection.
COARSE_SAMPLE = 20_000


class CardStore:
    """Rows of one kind of card: semantic vectors (and their projections), owner slot, tags; grown by a quarter,
    freed rows reused."""

    def __init__(self, dim: int):
        self.dim = dim
        self.vectors = np.zeros((64, dim), dtype=np.float32)
        self.owner = np.full(64, -1, dtype=np.int64)
        self.n_tags = np.zeros(64, dtype=np.float64)
        self.cards: dict[int, Card] = {}
        self.tag_rows: dict[str, set[int]] = {}
        self.free: list[int] = []
        self.size = 0  # high-water mark: rows >= size were never used
        #: The vectors projected to COARSE_DIM dimensions (None until the roster turns projections on).
        self.coarse: np.ndarray | None = None

    def add(self, slot: int, card: Card, vector: np.ndarray | None, projection: np.ndarray | None = None) -> int:
        if self.free:
            row = self.free.pop()
        else:
            row = self.size
            self.size += 1
            if row >= len(self.owner):
                self._grow(_grown(len(self.owner), row + 1))
        self.owner[row] = slot
        if vector is not None:
            self.vectors[row] = vector
            if projection is not None:
                self.coarse[row] = vector @ projection
        self.cards[row] = card
        self.n_tags[row] = len(card.tag_keys)
        for tag in card.tag_keys:
            self.tag_rows.setdefault(tag, set()).add(row)
        return row

    def discard(self, row: int) -> None:
        card = self.cards.pop(row)
        for tag in card.tag_keys:
            rows = self.tag_rows[tag]
            rows.discard(row)
            if not rows:
                del self.tag_rows[tag]
        self.owner[row] = -1
        self.vectors[row] = 0.0
        if self.coarse is not None:
            self.coarse[row] = 0.0
        self.n_tags[row] = 0.0
        # Keep the free list sorted descending so the lowest row is reused first (deterministic layout).
        self.free.append(row)
        self.free.sort(reverse=True)

    def tag_scores(self, tags: tuple[str, ...], size: int) -> np.ndarray:
        """Cosine of binary tag sets: shared tags / sqrt(|query| * |row|), for every row below size.

        `tags` are casefolded keys (`Card.tag_keys`)."""
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

    def reserve(self, rows: int) -> None:
        """Room for `rows` more cards (freed rows count) in at most one step: a big batch (the restart) gets exactly
        its rows, no spare quarter; a check-in grows the store only when it is full, geometrically."""
        needed = self.size + max(rows - len(self.free), 0)
        if needed > len(self.owner):
            self._grow(_grown(len(self.owner), needed))

    def _grow(self, cap: int) -> None:
        vectors = np.zeros((cap, self.dim), dtype=np.float32)
        vectors[: len(self.vectors)] = self.vectors
        self.vectors = vectors
        if self.coarse is not None:
            coarse = np.zeros((cap, self.coarse.shape[1]), dtype=np.float32)
            coarse[: len(self.coarse)] = self.coarse
            self.coarse = coarse
        self.owner = np.concatenate([self.owner, np.full(cap - len(self.owner), -1, dtype=np.int64)])
        self.n_tags = np.concatenate([self.n_tags, np.zeros(cap - len(self.n_tags))])


def _grown(capacity: int, needed: int) -> int:
    """A store's next capacity: at least `needed`, and a quarter more than now (amortized O(1) per card, and at
    100,000 people a quarter of 230 MB spare rather than doubling's half)."""
    return max(needed, capacity + capacity // 4, 64)


class Roster:
    """The people present, by slot: per-slot arrays let a suggestion mask everyone at once.

    Slots are reused lowest first, like card rows, so the same calls give the same layout.
    """

    def __init__(self, dim: int, vectors: bool, coarse_min_rows: int = COARSE_MIN_ROWS):
        self.has_vectors = vectors  # cards keep their semantic vectors (not with a lexical-only encoder)
        self.coarse_min_rows = coarse_min_rows
        #: dim x COARSE_DIM, once a store reached coarse_min_rows rows (fitted then, kept for the event).
        self.projection: np.ndarray | None = None
        self.stores = {OFFER: CardStore(dim), NEED: CardStore(dim)}
        self.lexical = LexicalIndex()
        self.profiles: dict[int, Profile] = {}
        self.rows: dict[int, dict[str, list[int]]] = {}  # id -> kind -> card rows
        self.slot_of: dict[int, int] = {}
        self.ids = np.full(64, -1, dtype=np.int64)  # by slot: who is there, -1 for nobody
        self.company = np.full(64, -1, dtype=np.int64)  # by slot: company code, -1 for none
        self.group = np.full(64, -1, dtype=np.int64)  # by slot: group code, -1 for none
        self.full_mask = np.zeros(64, dtype=bool)  # by slot: the person there is at capacity (the Ledger sets it)
        self.n_slots = 0
        self._company_codes: dict[str, int] = {}
        self._group_codes: dict[object, int] = {}
        self._free_slots: list[int] = []

    def add(self, profile: Profile, at_capacity: bool) -> None:
        """Place a person, replacing their cards if they are here already."""
        pid = int(profile.id)
        if pid in self.profiles:
            self.remove(pid)  # an upsert of an existing id replaces the cards (edits)
        slot = self._free_slots.pop() if self._free_slots else self._new_slot()
        self.slot_of[pid] = slot
        self.ids[slot] = pid
        self.full_mask[slot] = at_capacity
        company = _norm_company(profile.company)
        self.company[slot] = -1 if company is None else self._company_codes.setdefault(company,
                                                                                      len(self._company_codes))
        group = profile.group
        self.group[slot] = -1 if group is None else self._group_codes.setdefault(group, len(self._group_codes))
        rows: dict[str, list[int]] = {OFFER: [], NEED: []}
        # The vectors live in the stores; a second copy on every kept card was a third of the memory at 100,000.
        bare = profile.without_embeddings()
        for kind, cards, kept in ((OFFER, profile.offers, bare.offers), (NEED, profile.needs, bare.needs)):
            for card, keep in zip(cards, kept):
                row = self.stores[kind].add(slot, keep, card.embedding if self.has_vectors else None,
                                            self.projection)
                self.lexical.add(kind, row, card.text)
                rows[kind].append(row)
        self.rows[pid] = rows
        self.profiles[pid] = bare

    def reserve(self, profiles: Iterable[Profile]) -> None:
        """Make room for a batch's cards in one step per kind."""
        profiles = list(profiles)
        for kind, cards_of in ((OFFER, lambda p: p.offers), (NEED, lambda p: p.needs)):
            # An edit frees its old rows before taking new ones: only the growth counts.
            replaced = sum(len(self.rows[int(p.id)][kind]) for p in profiles if int(p.id) in self.rows)
            self.stores[kind].reserve(sum(len(cards_of(p)) for p in profiles) - replaced)

    @property
    def coarse_ready(self) -> bool:
        """Whether cards carry projections (live suggestions then scan them first)."""
        return self.projection is not None

    def maybe_project(self) -> None:
        """Turn projections on once a store holds coarse_min_rows rows: fit them on a sample, project every row."""
        if self.projection is not None or not self.has_vectors:
            return
        if max(store.size for store in self.stores.values()) < max(self.coarse_min_rows, 1):
            return
        rng = np.random.default_rng(0)  # part of the index, not of any round's seed: the same cards, the same fit
        used = [(store, np.flatnonzero(store.owner[:store.size] >= 0)) for store in self.stores.values()]
        total = sum(len(rows) for _, rows in used)
        # The sample's rows only (copying every vector first doubled the memory at 100,000 people).
        share = min(1.0, COARSE_SAMPLE / max(total, 1))
        sample = np.concatenate([store.vectors[np.sort(rng.choice(rows, size=int(round(len(rows) * share)),
                                                                  replace=False))] for store, rows in used])
        dims = min(COARSE_DIM, sample.shape[1], len(sample))
        # Uncentred: the top right singular vectors keep most of each vector's energy, so dot products survive. They
        # are the top eigenvectors of the Gram matrix (0.07 s; an SVD of the sample took 0.95 s inside a check-in).
        sample = sample.astype(np.float64)
        _, vecs = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
        self.projection = np.ascontiguousarray(vecs[:, ::-1][:, :dims], dtype=np.float32)
        for store in self.stores.values():
            store.coarse = store.vectors @ self.projection

    def remove(self, pid: int) -> None:
        """Free a person's card rows and slot."""
        if pid not in self.profiles:
            raise UnknownProfile(pid)
        for kind, rows in self.rows.pop(pid).items():
            for row in rows:
                self.stores[kind].discard(row)
                self.lexical.discard(kind, row)
        del self.profiles[pid]
        slot = self.slot_of.pop(pid)
        self.ids[slot] = -1
        self.company[slot] = -1
        self.group[slot] = -1
        self.full_mask[slot] = False
        self._free_slots.append(slot)
        self._free_slots.sort(reverse=True)

    def slot(self, pid: int) -> int:
        try:
            return self.slot_of[pid]
        except (KeyError, TypeError):
            raise UnknownProfile(pid) from None

    def mark_full(self, pid: int, full: bool) -> None:
        """Note in the mask whether pid is at capacity (nothing to note if they are not present)."""
        if pid in self.slot_of:
            self.full_mask[self.slot_of[pid]] = full

    def present_ids(self, present: Iterable[int] | None) -> np.ndarray:
        """Sorted ids of `present` (default everyone); UnknownProfile for anyone not here."""
        if present is None:
            return np.array(sorted(self.profiles), dtype=np.int64)
        ids = sorted({int(p) for p in present})
        for pid in ids:
            self.slot(pid)
        return np.array(ids, dtype=np.int64)

    def positions(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """(slot of each id, slot -> position in ids); the map's extra last entry answers -1, the owner of no row."""
        slots = np.array([self.slot_of[p] for p in np.asarray(ids, dtype=np.int64).tolist()], dtype=np.int64)
        index_of = np.full(self.n_slots + 1, -1, dtype=np.int64)
        index_of[slots] = np.arange(len(slots))
        return slots, index_of

    def _new_slot(self) -> int:
        slot = self.n_slots
        self.n_slots += 1
        if slot >= len(self.ids):
            self.ids = np.concatenate([self.ids, np.full(len(self.ids), -1, dtype=np.int64)])
            self.company = np.concatenate([self.company, np.full(len(self.company), -1, dtype=np.int64)])
            self.group = np.concatenate([self.group, np.full(len(self.group), -1, dtype=np.int64)])
            self.full_mask = np.concatenate([self.full_mask, np.zeros(len(self.full_mask), dtype=bool)])
        return slot


def _norm_company(company: str | None) -> str | None:
    return " ".join(company.split()).casefold() or None if isinstance(company, str) else None
