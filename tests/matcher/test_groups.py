"""Who can meet whom: rounds pair everyone allowed, exclusions by reason, and per-event group rules."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from matcher import FusedEncoder, InvalidProfile, LexicalEncoder, MatchEngine
from matcher.engine import DENSE_MAX, LEFTOVER_DENSE
from tests.matcher.conftest import EVENT, WordVectors, person

TOPICS = ["grant writing", "Kubernetes clusters", "seed funding", "logo design", "GDPR privacy",
          "Airflow pipelines", "public speaking", "tax returns", "podcast editing", "hiring engineers"]


def crowd(n: int, groups: tuple | None = None, seed: int = 0):
    """n people with overlapping cards; with `groups`, person i is in groups[i % len(groups)]."""
    rng = np.random.default_rng(seed)
    people = [person(pid, [f"I can help with {TOPICS[rng.integers(10)]} {pid % 7}"],
                     [f"looking for {TOPICS[rng.integers(10)]}"]) for pid in range(n)]
    if groups:
        people = [dataclasses.replace(p, group=groups[p.id % len(groups)]) for p in people]
    return people


def pairs_of(result):
    return {(g[i], g[j]) for g in result.groups for i, j in itertools.combinations(range(len(g)), 2)}


def check_everyone_placed(result, ids):
    placed = [p for g in result.groups for p in g]
    assert len(placed) == len(set(placed))
    assert sorted(placed + result.unpaired) == sorted(ids)
    assert result.unpaired == []
    assert sum(len(g) == 3 for g in result.groups) == (len(ids) % 2)
    assert all(len(g) in (2, 3) for g in result.groups)


@pytest.mark.parametrize("n", [2, 3, 6, 7, 40, 41, DENSE_MAX + 50, DENSE_MAX + 51])
def test_a_round_pairs_everyone_with_one_trio_when_the_count_is_odd(n):
    engine = MatchEngine(FusedEncoder(WordVectors()))
    engine.upsert_many(crowd(n))
    result = engine.pair_round(seed=3)
    check_everyone_placed(result, range(n))
    assert (result.trio_extra is not None) == (n % 2 == 1)


def test_more_leftovers_than_one_dense_block_are_all_paired(lexical_engine):
    """Regression: leftovers past LEFTOVER_DENSE * 4 (people no graph edge reaches, e.g. without cards) were cut
    off and left unpaired; now they are paired block by block."""
    n = LEFTOVER_DENSE * 4 + 201
    lexical_engine.upsert_many([person(pid) for pid in range(n)])
    result = lexical_engine.pair_round(seed=1)
    check_everyone_placed(result, range(n))


def test_pairs_suggested_live_may_meet_in_a_round_declined_and_met_never(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many(EVENT)
    ids = engine.ids
    # Every pair was suggested live: a round still pairs everyone (they have not met yet).
    for a, b in itertools.combinations(ids, 2):
        engine.exclude(a, b, "matched")
    result = engine.pair_round(seed=1)
    check_everyone_placed(result, ids)
    assert engine.suggest(1, k=5) == []  # ... while live suggestions still skip them
    # The round's pairs are now round pairs: the next round pairs differently.
    assert all(engine.exclusion(a, b) == "round" for a, b in pairs_of(result))


@pytest.mark.parametrize("reason", ["declined", "met"])
def test_a_declined_or_met_pair_is_never_in_a_round(word_vectors, reason):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many(EVENT)
    # 1 and 2 are each other's best match (seed financing <-> Kubernetes), and so are 3 and 4.
    first = engine.pair_round(seed=1, present=[1, 2, 3, 4])
    assert {(1, 2), (3, 4)} <= pairs_of(first)
    engine2 = MatchEngine(FusedEncoder(word_vectors))
    engine2.upsert_many(EVENT)
    engine2.exclude(1, 2, reason)
    engine2.exclude(3, 4, reason)
    second = engine2.pair_round(seed=1, present=[1, 2, 3, 4])
    assert not {(1, 2), (3, 4)} & pairs_of(second)
    check_everyone_placed(second, [1, 2, 3, 4])
    # Two people who declined (or met) each other: nobody to pair, and they are told why.
    engine3 = MatchEngine(FusedEncoder(word_vectors))
    engine3.upsert_many(EVENT[:2])
    engine3.exclude(1, 2, reason)
    alone = engine3.pair_round(seed=1)
    assert alone.groups == [] and alone.unpaired == [1, 2]
    assert alone.why_unpaired == {1: "already_met", 2: "already_met"}


def test_no_thanks_is_final_whatever_comes_later(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many(EVENT)
    engine.exclude(1, 2, "declined")
    for later in ("matched", "round", "met"):
        engine.exclude(1, 2, later)
        assert engine.exclusion(1, 2) == "declined"
    engine.exclude(3, 4, "round")
    engine.exclude(3, 4, "matched")  # e.g. an "accepted" status arriving after their round
    assert engine.exclusion(3, 4) == "round"
    assert not {(1, 2), (3, 4)} & pairs_of(engine.pair_round(seed=1))
    assert all(m.b != 2 for m in engine.suggest(1, k=5))


@pytest.mark.parametrize("rule", ["across", "within"])
@pytest.mark.parametrize("n", [30, DENSE_MAX + 31])
def test_a_group_rule_holds_in_suggestions_and_rounds(rule, n):
    groups = ("mentor", "mentee", "sponsor")
    engine = MatchEngine(FusedEncoder(WordVectors()), capacity=100, group_rule=rule)
    people = crowd(n, groups)
    engine.upsert_many(people)
    group = {p.id: p.group for p in people}
    allowed = (lambda a, b: group[a] != group[b]) if rule == "across" else (lambda a, b: group[a] == group[b])
    found = [m for pid in range(0, n, 3) for m in engine.suggest(pid, k=10)]
    assert len(found) > n // 3, "people allowed to meet should be suggested"
    assert all(allowed(m.a, m.b) for m in found)
    result = engine.pair_round(seed=2)
    assert all(allowed(a, b) for a, b in pairs_of(result))
    placed = [p for g in result.groups for p in g]
    assert len(placed) == len(set(placed)) and sorted(placed + result.unpaired) == list(range(n))
    # With three groups of about n/3 everyone can be placed (within: one odd group leaves one person out).
    assert len(result.unpaired) <= (0 if rule == "across" else 2)
    assert all(result.why_unpaired[p] == "group_rule" for p in result.unpaired)


def test_without_the_rule_the_same_people_do_meet_within_their_group():
    """The rule test above can fail: with "any", same-group pairs are suggested and paired."""
    people = crowd(30, ("mentor", "mentee", "sponsor"))
    engine = MatchEngine(FusedEncoder(WordVectors()), capacity=100)
    engine.upsert_many(people)
    group = {p.id: p.group for p in people}
    assert any(group[a] == group[b] for a, b in pairs_of(engine.pair_round(seed=2)))


def test_people_the_rule_leaves_over_are_told_why(word_vectors):
    # Three mentors, seven mentees, across groups only: three pairs; four mentees cannot meet each other.
    engine = MatchEngine(FusedEncoder(word_vectors), group_rule="across")
    people = crowd(10)
    people = [dataclasses.replace(p, group="mentor" if p.id < 3 else "mentee") for p in people]
    engine.upsert_many(people)
    result = engine.pair_round(seed=1)
    assert len(result.groups) == 3 and all(len(g) == 2 for g in result.groups)
    assert all(min(g) < 3 <= max(g) for g in result.groups)
    assert len(result.unpaired) == 4 and all(p >= 3 for p in result.unpaired)
    assert result.why_unpaired == {p: "group_rule" for p in result.unpaired}
    assert result.to_dict()["why_unpaired"] == {str(p): "group_rule" for p in result.unpaired}


def test_people_in_no_group_may_meet_anyone(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors), group_rule="within")
    people = [dataclasses.replace(p, group=None if p.id == 1 else f"g{p.id}") for p in EVENT]
    engine.upsert_many(people)
    # Everyone else is alone in their group: only person 1 (no group) may meet them.
    assert {m.b for m in engine.suggest(1, k=10)} <= {2, 3, 4, 5, 6}
    assert engine.suggest(1, k=10)
    assert all(1 in (m.a, m.b) for m in engine.suggest(2, k=10))
    result = engine.pair_round(seed=1)
    assert len(result.groups) == 1 and 1 in result.groups[0]
    assert len(result.unpaired) == 4 and set(result.why_unpaired.values()) == {"group_rule"}


def test_a_lone_person_no_pair_can_take_is_told_why(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many(EVENT[:3])
    engine.exclude(1, 2, "declined")
    engine.exclude(1, 3, "met")
    result = engine.pair_round(seed=1)
    assert result.groups == [(2, 3)] and result.unpaired == [1]
    assert result.why_unpaired == {1: "already_met"}


def test_the_rule_can_change_and_bad_rules_or_groups_are_refused(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many([dataclasses.replace(p, group=p.id % 2) for p in EVENT])
    before = {m.b for m in engine.suggest(1, k=5)}
    engine.group_rule = "across"
    assert {m.b for m in engine.suggest(1, k=5)} <= {2, 4, 6} and before - {2, 4, 6}
    with pytest.raises(ValueError):
        engine.group_rule = "nobody"
    with pytest.raises(ValueError):
        MatchEngine(LexicalEncoder(), group_rule="mentors")
    with pytest.raises(InvalidProfile):
        engine.upsert(dataclasses.replace(EVENT[0], group=["mentors"]))
