"""Two real processes run into one results folder: they share the work through the per-cell
locks and both exit 0 with identical records."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from attrbench.running.locks import FileLock
from attrbench.running.results import ResultStore

ROOT = Path(__file__).resolve().parents[1]
SLEEP = ROOT / "benchmarks" / "sleep_plugin.py"
#: A plugin whose method waits, then appends one line per batch it explains to ``log``.
COUNTED = """
import time
import torch
from attrbench.core.plugin import register_method


@register_method("counted_sleep", defaults={"log": ""})
def counted_sleep(model, X, target, mask, log: str = "") -> torch.Tensor:
    time.sleep(0.3)
    with open(log, "a") as f:
        f.write("batch" + chr(10))
    return torch.zeros_like(X)
"""


def _command(results: Path, plugin: Path, log: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from attrbench.cli import main; sys.exit(main(sys.argv[1:]))",
        "run",
        "--task",
        "utr5",
        "--plugin",
        str(SLEEP),
        "--plugin",
        str(plugin),
        "--method",
        "counted_sleep,sleep,saliency,random",
        "--metric",
        "motif_recall,motif_auroc",
        "--n",
        "16",
        "--batch-size",
        "8",
        "--chunk-size",
        "8",
        "--option",
        "sleep.seconds=0.3",
        "--option",
        f"counted_sleep.log={log}",
        "--quiet",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--results",
        str(results),
    ]


def _same(records) -> dict:
    """What two runs must agree on, per cell digest (not times, dates or devices)."""
    out = {}
    for r in records:
        if r.key.metric == "seconds_per_seq":
            continue
        v = r.sequence_values()
        out[r.key.digest] = (
            r.status,
            r.value,
            r.low,
            r.high,
            r.n_scored,
            v and {c: x.tolist() for c, x in v.columns.items()},
        )
    return out


def test_two_concurrent_runs_share_one_folder_and_agree(tmp_path):
    results, plugin = tmp_path / "r", tmp_path / "counted.py"
    plugin.write_text(COUNTED)
    shared_log, alone_log = tmp_path / "shared.log", tmp_path / "alone.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            _command(results, plugin, shared_log),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    assert outs[0][0] == outs[1][0], "both print the same table"
    records = ResultStore(results).records("utr5")
    methods = {r.key.method for r in records}
    assert {"counted_sleep", "sleep", "saliency", "random"} <= methods
    assert all(r.status == "ok" for r in records), [r.reason for r in records if r.status != "ok"]
    assert not any((results / ".chunks").rglob("*.npz")), "no chunk file left behind"
    # a third, sequential run finds every cell and agrees with what the two wrote
    third = subprocess.run(
        _command(tmp_path / "alone", plugin, alone_log),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert third.returncode == 0, third.stderr
    alone = ResultStore(tmp_path / "alone").records("utr5")
    assert len(shared_log.read_text().splitlines()) == len(alone_log.read_text().splitlines()), (
        "the two concurrent runs explained each batch once between them"
    )
    assert _without_log(alone) == _without_log(records)


def _without_log(records) -> dict:
    """:func:`_same` keyed by the cell without its options (the log option is a path)."""
    return {
        (r.key.model, r.key.method, r.key.metric, r.key.n, r.key.data_hash): _same([r])[
            r.key.digest
        ]
        for r in records
        if r.key.metric != "seconds_per_seq"
    }


def test_a_held_lock_is_not_taken_twice(tmp_path):
    first, second = FileLock(tmp_path / "x.lock"), FileLock(tmp_path / "x.lock")
    assert first.acquire(blocking=False)
    assert not second.acquire(blocking=False), "flock locks are per open file, so per process too"
    first.release()
    assert second.acquire(blocking=False)
    second.release()
