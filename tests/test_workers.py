"""Worker processes by default: the free-core rule, records equal to one process's, failures
and interruptions reported, and runs that cannot leave this process kept in it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from attrbench.cli import main
from attrbench.running.executors import AutoExecutor, LocalExecutor, ProcessExecutor, free_cores
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, chunk_size, run
from attrbench.testing import comparable

PLUGIN = str(Path(__file__).with_name("ray_plugin.py"))
#: Registers ``set_spread``, a cheap set-level metric of the job below.
SET_PLUGIN = str(Path(__file__).with_name("workers_plugin.py"))
#: A small utr5 job: three cheap methods, per-sequence and set-level metrics, 3 batches a cell.
JOB = dict(
    task="utr5",
    methods=["saliency", "ig", "ism"],
    metrics=[
        "motif_recall",
        "motif_auroc",
        "inclusion_kl",
        "shift_invariance",
        "completeness",
        "set_spread",
    ],
    n=20,
    seed=5,
    device="cpu",
    batch_size=8,
    method_options={"ig": {"n_steps": 8}},
    metric_options={"inclusion_kl": {"n_samples": 4}},
    progress=False,
)


@pytest.fixture(scope="module", autouse=True)
def set_level_metric():
    from attrbench.core.plugin import METRICS
    from attrbench.core.registry import load_plugin_file

    if "set_spread" not in METRICS.names():
        load_plugin_file(SET_PLUGIN)
    yield
    for name in ("set_spread", "always_fails"):  # later modules run `--metric all`
        METRICS._items.pop(name, None)


def _by_key(records) -> dict:
    return {r.key.digest: comparable(r) for r in records}


@pytest.mark.parametrize(
    "cores, load, free", [(2, 0.0, 2), (2, 0.49, 2), (2, 0.5, 1), (2, 3.0, 1), (8, 2.6, 5)]
)
def test_free_cores_are_the_cores_less_the_rounded_load(cores, load, free):
    assert free_cores(cores, load) == free


def test_one_batch_per_chunk_only_when_workers_share_the_cells():
    config = RunConfig(task="utr5", batch_size=8)
    assert (chunk_size(config, 1), chunk_size(config, 2)) == (None, 8)
    assert chunk_size(RunConfig(task="utr5", batch_size=8, chunk_size=16), 2) == 16


def test_two_workers_write_the_records_of_one_process(tmp_path):
    one = run(RunConfig(**JOB), ResultStore(tmp_path / "one"), AutoExecutor(workers=1))
    auto = AutoExecutor(workers=2, plugins=[SET_PLUGIN])
    two = run(RunConfig(**JOB), ResultStore(tmp_path / "two"), auto)
    assert len(one) == len(two) == 3 * (len(JOB["metrics"]) + 1) + 4  # + 4 model records
    assert sum(r.status == "ok" for r in one) >= 3 * len(JOB["metrics"])
    assert _by_key(two) == _by_key(one)
    assert not any((tmp_path / "two" / ".chunks").glob("*/*.npz")), "chunk files are cleaned up"


def test_a_method_failing_in_a_worker_is_recorded_with_its_error(tmp_path):
    from attrbench.core.plugin import METHODS
    from attrbench.core.registry import load_plugin_file

    if "broken" not in METHODS.names():
        load_plugin_file(PLUGIN)
    config = RunConfig(**{**JOB, "methods": ["broken", "saliency"], "metrics": ["motif_recall"]})
    records = run(config, ResultStore(tmp_path), ProcessExecutor(2, plugins=[PLUGIN]))
    status = {(r.key.method, r.key.metric): r for r in records}
    assert status[("broken", "motif_recall")].status == "failed"
    assert status[("broken", "motif_recall")].reason == "RuntimeError: boom"
    assert status[("saliency", "motif_recall")].status == "ok"


def test_a_worker_s_warnings_reach_the_driver_s_log(tmp_path, caplog):
    config = RunConfig(**{**JOB, "methods": ["saliency"], "metrics": ["always_fails"]})
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        records = run(config, ResultStore(tmp_path), ProcessExecutor(2, plugins=[SET_PLUGIN]))
    assert "metric always_fails failed on cnn/saliency" in caplog.text
    assert "metric broke in a worker" in caplog.text
    (failed,) = [r for r in records if r.key.metric == "always_fails"]
    assert failed.status == "failed" and "metric broke in a worker" in failed.reason


class _Interrupt:
    """Runs on ``inner`` and raises KeyboardInterrupt (as Ctrl-C does) after ``k`` chunks."""

    def __init__(self, inner, k: int):
        self.inner, self.k, self.workers = inner, k, inner.workers

    def map(self, chunks):
        for i, outcome in enumerate(self.inner.map(chunks)):
            if i == self.k:
                raise KeyboardInterrupt
            yield outcome


def test_ctrl_c_stops_the_workers_and_the_rerun_finishes_the_job(tmp_path):
    store = ResultStore(tmp_path)
    pool = ProcessExecutor(2, plugins=[SET_PLUGIN])
    with pytest.raises(KeyboardInterrupt):
        run(RunConfig(**JOB), store, _Interrupt(pool, 2))
    assert not [c for c in _children() if c.is_alive()], "no worker is left running"
    partial = len(store.records())
    records = run(RunConfig(**JOB), store, LocalExecutor())
    reference = run(RunConfig(**JOB), ResultStore(tmp_path / "ref"))
    assert 4 <= partial < len(records)
    assert _by_key(records) == _by_key(reference)


def _children():
    import multiprocessing

    return multiprocessing.active_children()


def test_a_user_task_runs_in_this_process_and_says_why(tmp_path, caplog):
    from attrbench.user import prepare, run_user
    from tests.user_models import MotifCNN

    data = prepare(MotifCNN().eval(), ["ACGTACGTAAGGCCTTACGT", "TTTTGGGGCCCCAAAAACG"], "dna")
    auto = AutoExecutor(workers=2)
    with caplog.at_level(logging.INFO, logger="attrbench"):
        df = run_user(data, ["saliency"], ["inclusion_kl"], device="cpu", executor=auto)
    assert "registered in this process only" in caplog.text
    row = df[(df.method == "saliency") & (df.metric == "inclusion_kl")].iloc[0]
    assert row.status == "ok"


def test_cli_workers_two_gives_the_records_of_workers_one(tmp_path, capsys):
    base = ["run", "--task", "utr5", "--method", "saliency,grad_x_input", "--metric"]
    base += ["motif_recall,inclusion_kl", "--n", "24", "--batch-size", "8", "--quiet"]
    for workers in ("1", "2"):
        assert main([*base, "--workers", workers, "--results", str(tmp_path / workers)]) == 0
    capsys.readouterr()
    one, two = (ResultStore(tmp_path / w).records() for w in ("1", "2"))
    assert len(one) == 2 * 3 + 4 and _by_key(one) == _by_key(two)


def test_set_level_metrics_get_their_own_cell_when_workers_share_the_run():
    from attrbench.running.runner import _parts

    todo = {"motif_recall": "k1", "set_spread": "k2"}
    split = [({"motif_recall": "k1"}, "cost"), ({"set_spread": "k2"}, None)]
    assert _parts(todo, "cost", True) == split
    assert _parts(todo, "cost", False) == [(todo, "cost")]
    assert _parts({"set_spread": "k2"}, None, True) == [({"set_spread": "k2"}, None)]


def test_cli_model_file_with_workers_runs_in_this_process(tmp_path, capsys):
    import torch

    from tests.user_models import MotifCNN

    script, fasta = tmp_path / "model.pt", tmp_path / "seqs.fa"
    torch.jit.save(torch.jit.script(MotifCNN().eval()), str(script))
    fasta.write_text(">s0\nACGTACGTAAGGCCTTACGT\n>s1\nTTTTGGGGCCCCAAAAACG\n")
    argv = ["run", "--model-file", str(script), "--fasta", str(fasta), "--method", "saliency"]
    argv += ["--metric", "inclusion_kl", "--device", "cpu", "--quiet", "--workers", "2"]
    assert main([*argv, "--results", str(tmp_path / "r")]) == 0
    assert "a model of yours runs in this process" in capsys.readouterr().err
    records = ResultStore(tmp_path / "r").records()
    assert {r.status for r in records if r.key.method == "saliency"} == {"ok"}
