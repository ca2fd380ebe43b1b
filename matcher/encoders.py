"""Encoders the engine can use: lexical only, or a semantic model fused with lexical, and the default choice."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .lexical import LexicalEncoder
from .scoring import FUSED, LEXICAL_ONLY, Fusion

log = logging.getLogger(__name__)

__all__ = ["FusedEncoder", "LexicalEncoder", "default_encoder", "fusion_of", "semantic_of"]


class FusedEncoder:
    """A semantic encoder (MiniLM) fused with the lexical one.

    `encode` returns [sqrt(w_sem) * semantic, sqrt(w_lex) * lexical] rows, L2-normalized, so that a dot product is
    the weighted sum of the two cosines (tags are not text, so only the engine adds them). The engine does not use
    `encode` for lexical: it keeps its own incremental index and caches only the semantic vectors.
    """

    def __init__(self, semantic, lexical: LexicalEncoder | None = None, fusion: Fusion = FUSED):
        self.semantic = semantic
        self.lexical = lexical or LexicalEncoder()
        self.fusion = fusion
        self.model_id = semantic.model_id
        self.dim = int(semantic.dim) + self.lexical.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        total = self.fusion.semantic + self.fusion.lexical
        sem = np.asarray(self.semantic.encode(texts), dtype=np.float32) * np.sqrt(self.fusion.semantic / total)
        lex = self.lexical.encode(texts) * np.float32(np.sqrt(self.fusion.lexical / total))
        out = np.concatenate([sem, lex], axis=1)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def default_encoder():
    """MiniLM fused with lexical when the model wheel is installed, else lexical alone (with a warning)."""
    try:
        from .minilm import load_minilm
    except ImportError as exc:  # the module itself is missing or broken: same fallback as a missing wheel
        log.warning("semantic encoder unavailable (%s); matching on words and tags only", exc)
        return LexicalEncoder()
    model = load_minilm()  # logs why when the model is missing
    return LexicalEncoder() if model is None else FusedEncoder(model)


def semantic_of(encoder):
    """The semantic part of an encoder the engine was given (None for lexical only)."""
    if isinstance(encoder, LexicalEncoder):
        return None
    if hasattr(encoder, "semantic"):
        return encoder.semantic
    return encoder  # a bare semantic encoder (MiniLM, a test stand-in) fused with lexical by the engine


def fusion_of(encoder) -> Fusion:
    """The fusion weights and calibration that go with an encoder."""
    fusion = getattr(encoder, "fusion", None)
    if fusion is not None:
        return fusion
    return LEXICAL_ONLY if semantic_of(encoder) is None else FUSED
