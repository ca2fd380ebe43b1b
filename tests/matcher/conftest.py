"""Fixtures for the matcher tests: small, fast encoders and engines (no model download, no app)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from matcher import Card, LexicalEncoder, MatchEngine, Profile
from matcher.lexical import terms


class WordVectors:
    """A tiny semantic stand-in: the normalized sum of a fixed random vector per term (64 dimensions)."""

    model_id = "test-word-vectors"
    dim = 64

    def __init__(self):
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in terms(text) or [text]:
                rng = np.random.default_rng(zlib.crc32(term.encode("utf-8")))
                out[i] += rng.standard_normal(self.dim).astype(np.float32)
            norm = np.linalg.norm(out[i])
            if norm > 0:
                out[i] /= norm
        return out


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def word_vectors():
    return WordVectors()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def lexical_engine():
    return MatchEngine(LexicalEncoder())


def person(pid: int, offers=(), needs=(), company=None, name="", tags=()) -> Profile:
    """A profile from plain strings; `tags` go on every card."""
    return Profile(pid, [Card(t, tuple(tags)) for t in offers], [Card(t, tuple(tags)) for t in needs],
                   company=company, name=name)


#: A small event: who offers what and needs what, with obvious right answers.
EVENT = [
    person(1, ["I advise founders on seed financing and term sheets"], ["Kubernetes cluster keeps crashing"],
           company="Acme", name="Ana Silva"),
    person(2, ["I run Kubernetes clusters in production"], ["someone to review our seed term sheet"],
           company="Beta", name="Kenji Sato"),
    person(3, ["GDPR compliance and privacy policies"], ["need a logo for our bakery"], company="Acme",
           name="Lea"),
    person(4, ["Logo and brand design for small shops"], ["our app collects personal data, GDPR worries"],
           company="Delta", name="Omar"),
    person(5, ["Python data pipelines with Airflow"], ["find a mentor for public speaking"], name="Priya"),
    person(6, ["public speaking coach for first conference talks"], ["Airflow jobs fail at night"], name="Jon"),
]
