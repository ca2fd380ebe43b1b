"""MatchEngine: upserts, suggestions, exclusions, fairness, explanations and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from matcher import (Card, DuplicateProfile, FusedEncoder, InvalidCard, InvalidProfile, LexicalEncoder, Match,
                     MatchEngine, Profile, UnknownProfile)
from tests.matcher.conftest import EVENT, person


@pytest.fixture
def event_engine(word_vectors, clock):
    engine = MatchEngine(FusedEncoder(word_vectors), clock=clock)
    engine.upsert_many(EVENT)
    return engine


def test_upsert_returns_cards_with_embeddings_for_caching(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    stored = engine.upsert(person(1, ["grant writing"], ["a Kubernetes expert"]))
    assert engine.model_id == "test-word-vectors"
    for card in stored.offers + stored.needs:
        assert card.embedding.shape == (64,)
        assert np.linalg.norm(card.embedding) == pytest.approx(1.0, abs=1e-5)


def test_cached_embeddings_are_not_encoded_again(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    stored = engine.upsert(person(1, ["grant writing"], ["a Kubernetes expert"]))
    calls = word_vectors.calls
    MatchEngine(FusedEncoder(word_vectors)).upsert(stored)
    assert word_vectors.calls == calls


def test_suggest_finds_the_obvious_partner(event_engine):
    [best, *_] = event_engine.suggest(1, k=3)
    assert (best.a, best.b) == (1, 2)
    assert best.direction == "both"
    assert {r.giver for r in best.reasons} == {1, 2}
    assert best.starter.startswith(("Ana can help Kenji", "Kenji can help Ana"))
    assert 0 < best.score <= 1


def test_match_to_dict_is_json_ready(event_engine):
    import json
    d = event_engine.suggest(3, k=1)[0].to_dict()
    assert json.loads(json.dumps(d)) == d
    assert set(d) == {"a", "b", "score", "evidence", "direction", "reasons", "starter", "starters"}


def test_one_way_match_still_suggested(lexical_engine):
    lexical_engine.upsert(person(1, [], ["need a lawyer for GDPR questions"]))
    lexical_engine.upsert(person(2, ["GDPR lawyer, data protection"], []))
    [m] = lexical_engine.suggest(1)
    assert (m.a, m.b, m.direction) == (1, 2, "b->a")
    assert [r.giver for r in m.reasons] == [2]


def test_scores_are_symmetric(event_engine):
    for a in event_engine.ids:
        for b in event_engine.ids:
            if a != b:
                assert event_engine.score(a, b) == event_engine.score(b, a)


def test_upsert_of_existing_id_replaces_cards(event_engine):
    assert event_engine.suggest(5)[0].b == 6
    event_engine.upsert(person(5, ["Logo and brand design"], ["GDPR and privacy policy help"]))
    partners = [m.a if m.b == 5 else m.b for m in event_engine.suggest(5, k=2)]
    assert partners[0] in (3, 4) and 6 not in partners[:1]
    assert len(event_engine) == 6


def test_remove_and_unknown_profile(event_engine):
    event_engine.remove(2)
    assert all(2 not in (m.a, m.b) for m in event_engine.suggest(1, k=5))
    with pytest.raises(UnknownProfile):
        event_engine.suggest(2)
    with pytest.raises(KeyError):  # UnknownProfile is a KeyError for callers that expect one
        event_engine.remove(2)


def test_exclusions_are_honoured(event_engine):
    event_engine.exclude(1, 2, reason="declined")
    assert all({m.a, m.b} != {1, 2} for m in event_engine.suggest(1, k=5))
    assert all({m.a, m.b} != {1, 2} for m in event_engine.suggest(2, k=5))
    with pytest.raises(ValueError):
        event_engine.exclude(1, 3, reason="bored")


def test_same_company_excluded_when_asked(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors), exclude_same_company=True)
    engine.upsert_many(EVENT)
    assert all(3 not in (m.a, m.b) for m in engine.suggest(1, k=5))  # both at "Acme"
    engine2 = MatchEngine(FusedEncoder(word_vectors))
    engine2.upsert_many([person(1, ["GDPR compliance"], [], company="Acme"),
                         person(3, [], ["GDPR compliance worries"], company=" acme ")])
    assert engine2.suggest(1)


def test_capacity_limits_a_popular_profile_per_window(lexical_engine, clock):
    engine = MatchEngine(LexicalEncoder(), capacity=2, window_s=600, clock=clock)
    engine.upsert(person(100, ["Kubernetes expert, clusters and pods"], []))
    for pid in range(1, 5):
        engine.upsert(person(pid, [], ["our Kubernetes pods crash"]))
    # Others at the event, so that "Kubernetes" is the rare word it is in real life.
    for pid, (offer, need) in enumerate([("grant writing", "a bakery logo"), ("legal advice", "tax questions"),
                                         ("SEO audits", "a podcast editor"), ("hiring help", "office space")], 10):
        engine.upsert(person(pid, [offer], [need]))
    for pid in (1, 2):
        [m] = engine.suggest(pid, k=1)
        assert 100 in (m.a, m.b)
        engine.record(m)
    assert engine.load(100) == 2
    assert engine.suggest(3, k=1) == []  # the expert is at capacity
    clock.now += 601
    assert 100 in {engine.suggest(3, k=1)[0].a, engine.suggest(3, k=1)[0].b}
    assert all({m.a, m.b} != {1, 100} for m in engine.suggest(1, k=5))  # recorded pairs stay excluded


def test_capacity_follows_a_person_who_leaves_and_comes_back_not_their_old_slot(clock):
    engine = MatchEngine(LexicalEncoder(), capacity=1, window_s=600, clock=clock)
    engine.upsert(person(100, ["Kubernetes expert, clusters and pods"], []))
    for pid in (1, 2, 3):
        engine.upsert(person(pid, [], ["our Kubernetes pods crash"]))
    engine.upsert(person(10, ["grant writing"], ["a bakery logo"]))
    [m] = engine.suggest(1, k=1)
    engine.record(m)  # the expert is now at capacity
    engine.remove(100)
    engine.upsert(person(200, ["Kubernetes clusters and pods, hands on"], []))  # takes the freed slot
    assert 200 in {engine.suggest(2, k=1)[0].a, engine.suggest(2, k=1)[0].b}  # the newcomer is not "full"
    engine.upsert(person(100, ["Kubernetes expert, clusters and pods"], []))  # the expert is back
    assert all(100 not in (m.a, m.b) for m in engine.suggest(3, k=5))  # and still at capacity
    clock.now += 601
    assert any(100 in (m.a, m.b) for m in engine.suggest(3, k=5))


def test_ties_are_broken_by_id(lexical_engine):
    lexical_engine.upsert(person(50, ["bookkeeping for freelancers"], []))
    for pid in (9, 3, 7):
        lexical_engine.upsert(person(pid, [], ["bookkeeping for freelancers"]))
    lexical_engine.upsert(person(1, [], ["bookkeeping for freelancers"]))
    # 50 gives the same thing to four identical needs: equal scores, lowest ids first.
    assert [m.a for m in lexical_engine.suggest(50, k=3)] == [1, 3, 7]


def test_deterministic_across_identical_engines(word_vectors):
    results = []
    for _ in range(2):
        engine = MatchEngine(FusedEncoder(word_vectors))
        engine.upsert_many(EVENT)
        results.append([[m.to_dict() for m in engine.suggest(pid, k=3)] for pid in engine.ids])
    assert results[0] == results[1]


def test_profile_without_cards_matches_nothing(event_engine):
    event_engine.upsert(Profile(77, [], []))
    assert event_engine.suggest(77) == []
    assert all(77 not in (m.a, m.b) for m in event_engine.suggest(1, k=10))


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_card_text_is_refused(text):
    with pytest.raises(InvalidCard, match="empty"):
        Card(text)


def test_very_long_text_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="at most"):
        Card("word " * 1000)


def test_bad_profiles_are_refused(lexical_engine):
    with pytest.raises(InvalidProfile, match="integer"):
        lexical_engine.upsert(Profile("7", [], []))
    with pytest.raises(InvalidProfile, match="list of Card"):
        lexical_engine.upsert(Profile(7, ["not a card"], []))
    with pytest.raises(InvalidCard, match="strings"):
        Card("fine", tags=(1, 2))


def test_duplicate_ids_in_one_batch_are_refused(lexical_engine):
    with pytest.raises(DuplicateProfile, match="twice"):
        lexical_engine.upsert_many([person(1, ["a"], []), person(1, ["b"], [])])
    assert len(lexical_engine) == 0  # nothing half-applied


def test_non_latin_scripts_and_emoji_give_sane_results(word_vectors):
    engine = MatchEngine(FusedEncoder(word_vectors))
    engine.upsert_many([
        person(1, ["日本語の翻訳ができます"], ["🎉🎉🎉"]),
        person(2, ["🚀"], ["日本語の翻訳を手伝ってほしい"]),
        person(3, ["أستطيع المساعدة في الترجمة العربية"], ["Привет, нужен дизайнер"]),
        person(4, ["дизайнер логотипов"], ["الترجمة العربية"]),
    ])
    assert engine.suggest(2)[0].a == 1
    assert {engine.suggest(4)[0].a, engine.suggest(4)[0].b} == {3, 4}
    for pid in engine.ids:
        for m in engine.suggest(pid, k=3):
            assert 0.0 <= m.score <= 1.0 and isinstance(m, Match)


def test_tags_match_exactly_and_case_insensitively(lexical_engine):
    lexical_engine.upsert(person(1, ["I can help with this"], [], tags=["Fundraising"]))
    lexical_engine.upsert(person(2, [], ["something about money"], tags=[" fundraising "]))
    [m] = lexical_engine.suggest(2)
    assert m.reasons[0].tags == ["fundraising"]


def test_ranking_above_the_old_ceiling_follows_the_evidence(lexical_engine):
    """Both offers clear the display ceiling (score 0.5 = a one-way 1.0); the closer one must still come first."""
    lexical_engine.upsert(person(1, ["bookkeeping for freelancers"], []))  # lower id, weaker: the words only
    lexical_engine.upsert(person(2, ["bookkeeping for freelancers"], [], tags=["Finance"]))  # words and the tag
    lexical_engine.upsert(person(3, [], ["bookkeeping for freelancers"], tags=["Finance"]))
    first, second = lexical_engine.suggest(3, k=2)
    assert first.score == second.score == 0.5  # capped for display: the old order was by id, 1 before 2
    assert (first.a, second.a) == (2, 1)
    assert first.evidence > second.evidence > 0.5
    ids, evidence, scores = lexical_engine.ranked(3)
    assert ids.tolist() == [2, 1] and evidence.tolist() == sorted(evidence.tolist(), reverse=True)


def test_equal_evidence_still_ties_by_id(lexical_engine):
    for pid in (5, 4):
        lexical_engine.upsert(person(pid, ["bookkeeping for freelancers"], []))
    lexical_engine.upsert(person(9, [], ["bookkeeping for freelancers"]))
    assert [m.a for m in lexical_engine.suggest(9, k=2)] == [4, 5]


def test_min_score_drops_weak_matches(lexical_engine):
    lexical_engine.upsert(person(1, ["penetration testing"], [], tags=["Security", "Web", "Cloud", "Audits"]))
    lexical_engine.upsert(person(2, [], ["a statistician"], tags=["Statistics", "Surveys", "Research", "Web"]))
    [weak] = lexical_engine.suggest(2)
    assert 0 < weak.score <= lexical_engine.live_floor  # one shared word: a match, but not a live one
    assert lexical_engine.suggest(2, min_score=lexical_engine.live_floor) == []


def test_each_side_gets_its_own_starter_with_organizer_casing(lexical_engine):
    lexical_engine.upsert(person(1, ["Seed round financing"], ["usability testing"], name="Ana Silva",
                                 tags=["Funding", "UX Research"]))
    lexical_engine.upsert(person(2, ["usability testing of apps"], ["raising a seed round"], name="Ben Okafor",
                                 tags=["Funding", "UX Research"]))
    m = lexical_engine.explain(1, 2)
    assert m.direction == "both"
    assert all(r.tags == ["Funding", "UX Research"] for r in m.reasons)  # as the organizer wrote them
    assert m.starter_for(1).startswith("Ask Ben about Funding and UX Research")
    assert m.starter_for(2).startswith("Ask Ana about Funding and UX Research")
    assert "Ana" in m.starter and "Ben" in m.starter  # the screen's line stays in the third person
