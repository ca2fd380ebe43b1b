"""Reciprocal scores, direction and conversation starters."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.scoring import (FUSED, LEXICAL_ONLY, Reason, direction, reader_starter, reader_topics, reciprocal, starter,
                             topic)

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(unit, unit)
def test_reciprocal_is_symmetric_and_in_range(x, y):
    r = reciprocal(x, y)
    assert 0.0 <= r <= 1.0
    assert r == reciprocal(y, x)
    assert min(x, y) - 1e-12 <= r <= max(x, y) + 1e-12


@given(st.floats(min_value=0.01, max_value=1.0))
def test_two_way_outranks_one_way_of_the_same_strength(x):
    assert reciprocal(x, x) > reciprocal(x, 0.0)
    assert reciprocal(x, x) == pytest.approx(x)


def test_strong_one_way_beats_weak_two_way():
    assert reciprocal(0.9, 0.0) > reciprocal(0.3, 0.3)


@given(unit, unit, unit)
def test_fused_similarity_is_calibrated_to_unit_interval(cos, lex, tags):
    for fusion in (FUSED, LEXICAL_ONLY):
        assert 0.0 <= float(fusion.similarity(cos * 2 - 1, lex, tags)) <= 1.0


def test_direction():
    assert direction(0.8, 0.7) == "both"
    assert direction(0.8, 0.05) == "a->b"
    assert direction(0.1, 0.6) == "b->a"


def test_starter_names_both_sides():
    reasons = [Reason(1, 2, "I advise on grant writing", "help with grant writing", ["grants"], 0.9),
               Reason(2, 1, "Series A fundraising", "raising a Series A", ["series a"], 0.7)]
    assert starter(reasons, {1: "Ana", 2: "Kenji"}) == "Ana can help Kenji with grants; ask Kenji about series a"


def test_starter_one_way_quotes_the_offer():
    reasons = [Reason(3, 4, "I run Kubernetes clusters in production", "Looking for someone to fix our pods", [], .8)]
    text = starter(reasons, {3: "Lea", 4: "Omar"})
    assert text == "Lea can help Omar with fix our pods; ask Lea about “I run Kubernetes clusters in production”"


def test_topic_shortens_long_needs():
    long = "someone who can " + "really " * 30 + "help"
    assert len(topic(long)) <= 61


def test_evidence_keeps_its_order_above_the_ceiling():
    strong, stronger = FUSED.raw(0.8, 0.5, 0.0), FUSED.raw(0.95, 0.9, 0.0)
    assert FUSED.similarity(0.8, 0.5, 0.0) == FUSED.similarity(0.95, 0.9, 0.0) == 1.0  # displayed: both capped
    assert FUSED.evidence(0.95, 0.9, 0.0) > FUSED.evidence(0.8, 0.5, 0.0) > 1.0  # ranked: still apart
    assert float(FUSED.uncapped(FUSED.one)) == pytest.approx(1.0) and stronger > strong
    assert FUSED.evidence(-0.5, 0.0, 0.0) == 0.0  # nothing below "unrelated"


def test_each_reader_gets_a_line_naming_the_other():
    reasons = [Reason(1, 2, "I advise on grant writing", "help with grant writing", ["Grants"], 0.9),
               Reason(2, 1, "UX research for apps", "usability testing", ["UX Research"], 0.7)]
    names = {1: "Ana", 2: "Ben"}
    # Ben gives UX Research to Ana; Ana gives Grants to Ben.
    assert reader_starter(reasons, 1, names) == "Ask Ben about UX Research; they want to hear about Grants"
    assert reader_starter(reasons, 2, names) == "Ask Ana about Grants; they want to hear about UX Research"
    assert reader_topics(reasons, 1) == ("UX Research", "Grants")


def test_one_way_reader_lines():
    reasons = [Reason(3, 4, "I run Kubernetes clusters in production", "Looking for someone to fix our pods", [], .8)]
    names = {3: "Lea", 4: "Omar"}
    assert reader_starter(reasons, 4, names) == "Ask Lea about “I run Kubernetes clusters in production”"
    assert reader_starter(reasons, 3, names) == "Omar wants to hear about “fix our pods”"
    assert reader_topics(reasons, 3) == (None, "“fix our pods”")
