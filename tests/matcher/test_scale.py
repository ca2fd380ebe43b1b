"""The largest events: projected scans for live suggestions, one copy of every vector, and exact rescoring."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import matcher.engine as engine_module
from matcher import Card, FusedEncoder, MatchEngine, Profile


class Given:
    """A semantic encoder for cards that bring their own 128-dimensional embedding (nothing is ever encoded)."""

    model_id = "given-128"
    dim = 128

    def encode(self, texts):
        raise AssertionError(f"every card has its embedding; asked to encode {texts!r}")


def clustered_people(n: int, seed: int = 0) -> list[Profile]:
    """People whose cards lie around 30 topics in 128 dimensions: projecting to 64 loses real information."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(30, 128))

    def vec():
        v = topics[rng.integers(30)] + 0.6 * rng.normal(size=128)
        return (v / np.linalg.norm(v)).astype(np.float32)

    return [Profile(pid, [Card(f"offer{pid}", embedding=vec())], [Card(f"need{pid}", embedding=vec())])
            for pid in range(1, n + 1)]


def test_projected_scan_ranks_like_the_exact_scan(monkeypatch):
    # Few candidates, so the projection's errors could show; the real engine rescores 512.
    monkeypatch.setattr(engine_module, "COARSE_CANDIDATES", 40)
    people = clustered_people(1200)
    coarse = MatchEngine(FusedEncoder(Given()), coarse_min_rows=500)
    exact = MatchEngine(FusedEncoder(Given()))
    coarse.upsert_many(people)
    exact.upsert_many(people)
    assert coarse._roster.coarse_ready and not exact._roster.coarse_ready
    same = 0
    for pid in range(1, 201):
        ours, truth = coarse.suggest(pid, k=3), exact.suggest(pid, k=3)
        # Whoever the projected scan puts forward is scored exactly, as the exact engine scores that pair.
        assert [m.evidence for m in ours] == [exact.explain(m.a, m.b).evidence for m in ours]
        same += [m.evidence for m in ours] == [m.evidence for m in truth]
    assert same >= 195, same


def test_projection_turns_on_at_the_threshold_and_follows_every_change():
    engine = MatchEngine(FusedEncoder(Given()), coarse_min_rows=300)
    people = clustered_people(400, seed=1)
    engine.upsert_many(people[:250])
    assert not engine._roster.coarse_ready  # 250 rows of each kind: below the threshold, the exact scan
    engine.upsert_many(people[250:])
    roster = engine._roster
    assert roster.coarse_ready and roster.projection.shape == (128, 64)
    offers = roster.stores["offer"]
    row = roster.rows[17]["offer"][0]
    assert np.allclose(offers.coarse[row], offers.vectors[row] @ roster.projection, atol=1e-5)
    # A later check-in and an edit are projected as they arrive; a departure clears its row.
    late = clustered_people(401, seed=2)[-1]
    engine.upsert(late)
    new_row = roster.rows[401]["offer"][0]
    assert np.allclose(offers.coarse[new_row], offers.vectors[new_row] @ roster.projection, atol=1e-5)
    engine.remove(401)
    assert not offers.coarse[new_row].any()
    assert engine.suggest(17, k=3) and all(401 not in (m.a, m.b) for m in engine.suggest(17, k=400))


def test_the_engine_keeps_one_copy_of_each_vector():
    engine = MatchEngine(FusedEncoder(Given()))
    filled = engine.upsert_many(clustered_people(5))
    # The caller gets the embeddings back to cache them; the engine's own profile does not hold a second copy.
    assert all(card.embedding is not None for p in filled for card in p.offers + p.needs)
    assert all(card.embedding is None for pid in engine.ids
               for card in engine.profile(pid).offers + engine.profile(pid).needs)
    assert engine.profile(3).offers[0].text == "offer3"


@pytest.mark.parametrize("present", [2, 3, 600])
def test_projected_ranking_with_fewer_people_than_candidates(present):
    engine = MatchEngine(FusedEncoder(Given()), coarse_min_rows=1)
    engine.upsert_many(clustered_people(present, seed=3))
    assert engine._roster.coarse_ready
    ids, evidence, scores = engine.ranked(1, min_score=-1.0)
    assert len(ids) == min(present - 1, engine_module.COARSE_CANDIDATES) and 1 not in ids.tolist()
    assert np.all(np.diff(evidence) <= 0) and np.all(scores <= 1.0)


def test_check_ins_one_at_a_time_grow_the_stores_geometrically(monkeypatch):
    """Found in review: reserving exactly a batch's rows made every single check-in copy both vector stores (110 ms
    at 50,000 rows). Batches still get exactly their rows; one at a time, a store grows by a quarter when full."""
    from matcher.roster import CardStore
    grown = []
    real_grow = CardStore._grow

    def counting_grow(self, cap):
        grown.append(cap)
        real_grow(self, cap)

    monkeypatch.setattr(CardStore, "_grow", counting_grow)
    engine = MatchEngine(FusedEncoder(Given()))
    people = clustered_people(3000, seed=4)
    engine.upsert_many(people[:1000])
    assert sorted(grown) == [1000, 1000]  # the batch: exactly its rows, one step per kind
    grown.clear()
    for p in people[1000:]:
        engine.upsert(p)
    assert len(grown) <= 2 * 6  # 1,000 -> 3,000 rows by quarters: 6 steps a kind, not one per check-in
    # Fill both stores to the brim (everyone has one card of each kind): then an edit, which frees its rows first,
    # and a newcomer taking a departed person's freed rows must not grow them; the next newcomer does.
    roster = engine._roster
    pid = 3001
    while roster.stores["offer"].size < len(roster.stores["offer"].owner):
        engine.upsert(dataclasses.replace(clustered_people(1, seed=pid)[0], id=pid))
        pid += 1
    before = len(grown)
    engine.upsert(dataclasses.replace(clustered_people(1, seed=1)[0], id=5))  # an edit: new cards for person 5
    engine.remove(7)
    engine.upsert(dataclasses.replace(clustered_people(1, seed=pid)[0], id=pid))
    assert len(grown) == before
    engine.upsert(dataclasses.replace(clustered_people(1, seed=pid + 1)[0], id=pid + 1))
    assert len(grown) == before + 2
