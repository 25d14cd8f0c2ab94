"""The knowledge-base index and the hit rate: query, build and metric cost.

Run: ``pytest benchmarks/test_bench_knowledge.py --benchmark-only`` (the Swiss-Prot-size
case only with ``ATTRBENCH_BENCH_BIG=1``; it needs about 3 GB of memory and
2 GB of disk in a temporary folder). Groups:

- ``kb-query``: the same 200 peptides (5-15 residues, from SCL2205 proteins, and
  20 random ones) searched with the suffix-array index and with a naive scan
  (``str.find`` over the joined SCL2205 sequences, every occurrence), in
  alternating rounds. Target: the index at least 100x faster. The benchmark
  checks both find the same occurrences.
- ``kb-build``: indexing SCL2205 (19,074 proteins, 9.8 M residues) without the
  cache (target under 10 s), and the task's factory with the cache warm (what
  every run pays).
- ``hit-rate``: the ``hit_rate`` metric on 50 test proteins with Gaussian
  position scores (about 13 subsequences per protein, more than attention's
  peaky maps), i.e. one method of the default psl job. Target: 12 methods
  under 30 s in total.
- ``kb-swissprot`` (``ATTRBENCH_BENCH_BIG=1``): a generated knowledge base of
  Swiss-Prot's size (570,000 proteins, 200 M residues, SCL2205 amino-acid
  frequencies and classes): build time (its ``extra_info`` has the peak memory
  of the build), the load from the cache, and queries per second.

Each figure is also in the benchmark's ``extra_info`` (per-query seconds, peak
memory, queries per second) in ``--benchmark-json`` output.
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from attrbench.testing import naive_find as naive
from attrbench_tasks.psl.knowledge import KnowledgeBase

N_QUERIES, N_HIT_RATE, N_METHODS = 200, 50, 12
BIG = os.environ.get("ATTRBENCH_BENCH_BIG") == "1"
big_only = pytest.mark.skipif(
    not BIG, reason="set ATTRBENCH_BENCH_BIG=1 for the Swiss-Prot-size case"
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Index caches go to a temporary folder, never the user's cache."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("kb-cache")
        mp.setenv("ATTRBENCH_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="module")
def scl2205(cache):
    import scldata.loader as scl

    df = scl.load("full")
    return [str(a) for a in df.index], df["seq"].tolist(), df["scl"].tolist()


@pytest.fixture(scope="module")
def kb(cache, scl2205):
    from attrbench_tasks.psl import knowledge as kbmod

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kbmod._scl2205.cache_clear()
        return kbmod.knowledge_base()


def peptides(kb: KnowledgeBase, n: int, seed: int = 0) -> list[str]:
    """``n`` peptides of 5-15 residues: 90% cut from random entries, 10% random letters."""
    rng = np.random.default_rng(seed)
    out = []
    for entry in rng.integers(0, len(kb), n - n // 10):
        seq = kb.sequences[int(entry)]
        m = int(rng.integers(5, 16))
        start = int(rng.integers(0, max(len(seq) - m, 0) + 1))
        out.append(seq[start : start + m])
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    return out + ["".join(rng.choice(letters, int(rng.integers(5, 16)))) for _ in range(n // 10)]


# --------------------------------------------------------------------------- kb-query


@pytest.mark.benchmark(group="kb-query")
def test_bench_query_index_vs_naive(compare, kb):
    queries = peptides(kb, N_QUERIES)
    text = kb.text.decode()
    r = compare(
        {
            "index": lambda: [kb.find(q) for q in queries],
            "naive": lambda: [naive(text, kb.starts, q) for q in queries],
        },
        [("naive", "index")],
        rounds=3,
        warmup=1,
    )
    for occ, expected in zip(r["index"].output, r["naive"].output, strict=True):
        assert list(zip(occ.entry.tolist(), occ.position.tolist(), strict=True)) == expected


# --------------------------------------------------------------------------- kb-build


@pytest.mark.benchmark(group="kb-build")
def test_bench_build_scl2205(benchmark, scl2205):
    accessions, seqs, labels = scl2205
    locations = [label.split(";") for label in labels]

    def build():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return KnowledgeBase(accessions, seqs, locations, cache=False)

    kb = benchmark.pedantic(build, rounds=3, warmup_rounds=0)
    assert len(kb) == 19074


@pytest.mark.benchmark(group="kb-build")
def test_bench_factory_cached(benchmark, kb):
    from attrbench_tasks.psl import knowledge as kbmod

    def factory():
        kbmod._scl2205.cache_clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return kbmod.knowledge_base()

    assert benchmark.pedantic(factory, rounds=3, warmup_rounds=0).hash == kb.hash


# --------------------------------------------------------------------------- hit-rate


@pytest.mark.benchmark(group="hit-rate")
def test_bench_hit_rate_one_method(benchmark, kb):
    from attrbench.core.plugin import Explanation, Method
    from attrbench_tasks.psl.data import CLASSES, data
    from attrbench_tasks.psl.hit_rate_metric import hit_rate

    test = data("test")
    chosen = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:N_HIT_RATE]
    ds = test.subset(chosen)
    scores = torch.randn(N_HIT_RATE, ds.X.shape[2], generator=torch.Generator().manual_seed(1))
    method = Method("gaussian", lambda *a, **k: None, position_level=True)
    ex = Explanation(
        X=ds.X,
        mask=ds.mask,
        y=ds.y,
        target=ds.y.roll(1),
        attributions=scores[:, None].expand_as(ds.X),
        model=None,
        explain=None,
        method=method,
        background=None,
        generator=torch.Generator(),
        dataset=ds,
        resources={"knowledge_base": kb},
    )

    def score():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return hit_rate(ex, classes=CLASSES)

    seconds = []

    def timed():
        start = time.perf_counter()
        out = score()
        seconds.append(time.perf_counter() - start)
        return out

    out = benchmark.pedantic(timed, rounds=10, warmup_rounds=1)
    benchmark.extra_info["proteins"] = N_HIT_RATE
    per_job = sorted(seconds)[len(seconds) // 2] * N_METHODS
    benchmark.extra_info[f"seconds_for_{N_METHODS}_methods"] = per_job
    assert out.shape == (N_HIT_RATE, 5) and (out[:, 4] == 0).float().mean() > 0.5


# --------------------------------------------------------------------------- kb-swissprot


def swissprot_size(n: int = 570_000, residues: int = 200_000_000, seed: int = 0):
    """Accessions, sequences and locations of a generated knowledge base of Swiss-Prot's size.

    Lengths log-normal (median about 290, mean 351, as Swiss-Prot's), letters
    and classes drawn with SCL2205's frequencies.
    """
    import scldata.loader as scl

    rng = np.random.default_rng(seed)
    df = scl.load("full")
    residues_scl = np.frombuffer("".join(df["seq"]).encode(), np.uint8)
    letters, counts = np.unique(residues_scl, return_counts=True)
    lengths = np.maximum(rng.lognormal(np.log(290), 0.62, n), 10)
    lengths = np.maximum((lengths * residues / lengths.sum()).astype(np.int64), 5)
    raw = rng.choice(letters, int(lengths.sum()), p=counts / counts.sum()).tobytes().decode()
    ends = np.cumsum(lengths)
    seqs = [raw[a:b] for a, b in zip(ends - lengths, ends, strict=True)]
    classes, freq = np.unique(df["scl"], return_counts=True)
    sets = [c.split(";") for c in classes]
    locations = [sets[i] for i in rng.choice(len(classes), n, p=freq / freq.sum())]
    return [f"G{i:06d}" for i in range(n)], seqs, locations


def _rss() -> int:
    """Resident memory of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakMemory:
    """Peak resident memory above the starting level while the block runs, sampled every 20 ms."""

    def __enter__(self):
        self.start, self.peak, self._run = _rss(), _rss(), True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._run:
            self.peak = max(self.peak, _rss())
            time.sleep(0.02)

    def __exit__(self, *exc):
        self._run = False
        self._thread.join()
        self.peak = max(self.peak, _rss())
        self.bytes = self.peak - self.start


@pytest.fixture(scope="module")
def big(cache) -> dict:
    """The generated entries, and the hash of their knowledge base once built."""
    if not BIG:
        pytest.skip("set ATTRBENCH_BENCH_BIG=1 for the Swiss-Prot-size case")
    return {"entries": swissprot_size(), "hash": None}


def big_kb(big: dict) -> KnowledgeBase:
    if big["hash"] is None:  # the build benchmark did not run first
        big["hash"] = KnowledgeBase(*big["entries"]).hash
    return KnowledgeBase.load(big["hash"])


@big_only
@pytest.mark.benchmark(group="kb-swissprot")
def test_bench_swissprot_build(benchmark, big):
    accessions, seqs, locations = big["entries"]
    memory = {}

    def build():
        with PeakMemory() as peak:
            kb = KnowledgeBase(accessions, seqs, locations, cache=True)
        memory["bytes"] = peak.bytes
        return kb

    kb = benchmark.pedantic(build, rounds=1, warmup_rounds=0)
    benchmark.extra_info["entries"] = len(kb)
    benchmark.extra_info["residues"] = len(kb.text) - len(kb)
    benchmark.extra_info["peak_memory_gb"] = memory["bytes"] / 1e9
    benchmark.extra_info["index_gb"] = (kb.sa.nbytes + len(kb.text)) / 1e9
    big["hash"] = kb.hash


@big_only
@pytest.mark.benchmark(group="kb-swissprot")
def test_bench_swissprot_load_cached(benchmark, big):
    big_kb(big)
    kb = benchmark.pedantic(lambda: KnowledgeBase.load(big["hash"]), rounds=3, warmup_rounds=0)
    assert len(kb) == 570_000 and Path(os.environ["ATTRBENCH_CACHE"], "kb", kb.hash).is_dir()


@big_only
@pytest.mark.benchmark(group="kb-swissprot")
def test_bench_swissprot_queries(benchmark, big):
    kb = big_kb(big)
    queries = peptides(kb, 2000, seed=1)
    kb.find_many(queries[:100])  # touch the memory map
    seconds = []

    def timed():
        start = time.perf_counter()
        kb.find_many(queries)
        seconds.append(time.perf_counter() - start)

    benchmark.pedantic(timed, rounds=5, warmup_rounds=1)
    benchmark.extra_info["queries_per_second"] = len(queries) / sorted(seconds)[len(seconds) // 2]
