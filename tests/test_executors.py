"""Plan, cell and executor: the same records whatever runs the chunks, and resume by chunk."""

from __future__ import annotations

import pytest

from attrbench.core.plugin import METRICS
from attrbench.core.registry import UnknownNameError
from attrbench.running import cell
from attrbench.running.executors import LocalExecutor, ProcessExecutor, get_executor
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run

OPTIONS = {"ig": {"n_steps": 8}}
QOPTIONS = {"inclusion_kl": {"n_samples": 4}, "occlusion_kl": {"n_samples": 4}}


def _per_sequence_metrics() -> list[str]:
    """Every metric but the set-level ones (their cells are never chunked: nothing to compare;
    their runner path is tested in tests/test_motif_discovery.py)."""
    return [name for name in METRICS.names() if not METRICS.get(name).set_level]


def _config(**kw) -> RunConfig:
    base = dict(
        task="utr5",
        methods=["saliency", "random", "ig"],
        metrics=_per_sequence_metrics(),
        n=24,
        seed=3,
        device="cpu",
        batch_size=8,
        method_options=OPTIONS,
        metric_options=QOPTIONS,
        progress=False,
    )
    return RunConfig(**{**base, **kw})


def _nan_safe(values: list) -> list:
    """NaN as None, so that equal records compare equal (set-level metrics have NaN rows)."""
    return [None if isinstance(v, float) and v != v else v for v in values]


def _table(records) -> dict:
    """What must agree between runs: per key digest, status, value, interval, n, per-sequence values."""
    out = {}
    for r in records:
        if r.key.metric == "seconds_per_seq":
            continue
        values = r.sequence_values()
        cols = {c: _nan_safe(v.tolist()) for c, v in values.columns.items()} if values else None
        out[r.key.digest] = (
            r.status,
            *_nan_safe([r.value, r.low, r.high]),
            r.n_scored,
            cols,
            values and values.ids,
        )
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _table(run(_config(), ResultStore(tmp_path_factory.mktemp("ref"))))


def test_chunks_in_other_processes_give_identical_records(reference, tmp_path):
    records = run(_config(chunk_size=8), ResultStore(tmp_path), ProcessExecutor(workers=2))
    assert _table(records) == reference
    assert not (tmp_path / ".chunks").exists() or not any((tmp_path / ".chunks").iterdir())


def test_chunking_in_process_changes_nothing(reference, tmp_path):
    assert _table(run(_config(chunk_size=16), ResultStore(tmp_path), LocalExecutor())) == reference


def test_interrupted_chunked_run_resumes_by_chunk(reference, tmp_path, monkeypatch):
    real, calls = cell.execute, []

    def interrupt_fifth(chunk):
        calls.append(chunk)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr("attrbench.running.executors.execute", interrupt_fifth)
    with pytest.raises(KeyboardInterrupt):
        run(_config(chunk_size=8), ResultStore(tmp_path))
    saved = list((tmp_path / ".chunks").rglob("*.npz"))
    assert len(saved) == 1, "a finished chunk is kept until its cell is written"
    done, calls[:] = [], []
    monkeypatch.setattr("attrbench.running.executors.execute", lambda c: done.append(c) or real(c))
    records = run(_config(chunk_size=8), ResultStore(tmp_path))
    assert _table(records) == reference
    starts = {(c.method, c.start) for c in done}
    assert not any(m == "saliency" for m, _ in starts), "a finished cell is not recomputed"
    assert ("random", 0) not in starts and ("random", 8) in starts, "nor a finished chunk"


def test_a_chunk_that_raises_is_recorded_failed_and_the_run_goes_on(tmp_path, monkeypatch):
    real = cell.execute

    def broken(chunk):
        if chunk.method == "random":
            raise RuntimeError("boom")
        return real(chunk)

    monkeypatch.setattr("attrbench.running.executors.execute", broken)
    records = run(
        _config(methods=["saliency", "random"], metrics=["motif_recall"]), ResultStore(tmp_path)
    )
    status = {(r.key.method, r.key.metric): r for r in records}
    assert status[("random", "motif_recall")].status == "failed"
    assert "boom" in status[("random", "motif_recall")].reason
    assert status[("saliency", "motif_recall")].status == "ok"


def test_unknown_executor_names_close_ones():
    with pytest.raises(UnknownNameError, match="did you mean 'local'"):
        get_executor("locl")
