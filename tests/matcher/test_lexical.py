"""Lexical terms, the standalone encoder and the incremental index."""
from __future__ import annotations

import numpy as np
import pytest

from matcher.lexical import LexicalEncoder, LexicalIndex, terms


def test_terms_are_stemmed_and_stopwords_dropped():
    assert terms("I am looking for someone who negotiates term sheets") == ["negoti", "term", "sheet"]


def test_hyphenated_words_match_their_parts():
    assert "seri" in terms("Series-A round") and "seri" in terms("series a")


def test_cjk_text_becomes_character_bigrams():
    assert terms("日本語翻訳") == ["日本", "本語", "語翻", "翻訳"]


def test_other_scripts_and_emoji():
    assert terms("مرحبا بالعالم 🎉") == ["مرحبا", "بالعالم"]
    assert terms("🎉🚀") == []


def test_encode_rows_are_unit_length_or_zero():
    vecs = LexicalEncoder().encode(["Kubernetes in production", "🎉", "grant writing for charities"])
    norms = np.linalg.norm(vecs, axis=1)
    assert norms[0] == pytest.approx(1.0, abs=1e-5) and norms[1] == 0.0 and norms[2] == pytest.approx(1.0, abs=1e-5)


def test_rare_exact_term_outranks_common_words():
    enc = LexicalEncoder()
    texts = ["help with Kubernetes", "help with marketing for startups", "startups marketing help needed",
             "I run Kubernetes clusters", "startup marketing and growth for startups"]
    v = enc.encode(texts)
    sims = v[0] @ v[1:].T
    assert int(np.argmax(sims)) == 2  # "I run Kubernetes clusters"


def test_index_scores_match_a_fresh_rebuild_after_removals():
    texts = {0: "Kubernetes clusters in production", 1: "seed financing and term sheets",
             2: "brand design for bakeries", 3: "GDPR privacy policies"}
    grown = LexicalIndex()
    for row, text in texts.items():
        grown.add("offer", row, text)
    grown.add("offer", 9, "something we remove again")
    grown.discard("offer", 9)
    grown.refresh_norms()
    fresh = LexicalIndex()
    for row, text in texts.items():
        fresh.add("offer", row, text)
    fresh.refresh_norms()
    a = grown.scores("offer", "our kubernetes pods crash", 10)
    b = fresh.scores("offer", "our kubernetes pods crash", 10)
    np.testing.assert_allclose(a, b)
    assert a[0] > 0 and a[1] == 0 and a[9] == 0


def test_pair_scores_agree_with_dense_scores():
    index = LexicalIndex()
    for row, text in enumerate(["Kubernetes clusters", "term sheets and seed rounds", "logo design"]):
        index.add("offer", row, text)
    for row, text in enumerate(["kubernetes keeps crashing", "review our term sheet"]):
        index.add("need", row, text)
    dense = np.array([index.row_scores("need", n, "offer", 3) for n in range(2)])
    pairs = index.pair_scores(np.array([0, 1, 2, 0]), np.array([0, 1, 1, 1]))
    np.testing.assert_allclose(pairs, [dense[0, 0], dense[1, 1], dense[1, 2], dense[1, 0]])
    assert pairs[0] > 0.3 and pairs[1] > 0.3 and pairs[2] == 0
