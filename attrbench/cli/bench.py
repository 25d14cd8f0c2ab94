"""``attrbench bench``: cost records of every method (speed, memory, passes, compute floor)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrbench.cli import common

HELP = "time every method on a model and write cost records"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bench`` and its arguments."""
    p = sub.add_parser(
        "bench",
        help=HELP,
        description="Time each method on N seeded test sequences after a warm-up batch: sequences "
        "per second, peak memory (CUDA: max_memory_allocated; CPU: resident memory), forward and "
        "backward passes per sequence (counted with hooks) and their ratio to the method's compute "
        "floor. Writes one record per method and device.",
    )
    p.add_argument("--task", required=True, help="task name")
    p.add_argument("--model", default="default", help="zoo model (default: the task's default)")
    p.add_argument(
        "--method", type=common.csv_list, default=["all"], help="comma-separated methods or 'all'"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--n", type=int, default=64, help="sequences to explain (default 64)")
    p.add_argument(
        "--batch-size", type=int, default=64, help="sequences per method call (default 64)"
    )
    p.add_argument("--seed", type=int, default=0, help="selects the sequences (default 0)")
    p.add_argument(
        "--results", type=Path, default=None, help="records directory (default: ./results)"
    )
    p.add_argument(
        "--checkpoints", type=Path, default=None, help="load checkpoints from this directory"
    )
    p.add_argument("--force", action="store_true", help="re-measure methods whose records exist")
    common.threads_arg(p)
    common.plugin_arg(p)


def run(args: argparse.Namespace) -> int:
    """Bench the methods and print one line per record."""
    from attrbench.running.bench import run_bench
    from attrbench.running.results import ResultStore, default_results_dir

    store = ResultStore(args.results or default_results_dir())
    records = run_bench(
        args.task,
        args.model,
        args.method,
        args.device,
        args.n,
        args.batch_size,
        args.seed,
        store,
        args.checkpoints,
        args.force,
    )
    for rec in records:
        if rec.status != "ok":
            print(f"{rec.key.method:20s} n/a: {rec.reason}")
            continue
        c = {k: v["mean"] for k, v in rec.columns.items()}
        ratio = "-" if c["floor_ratio"] is None else f"{c['floor_ratio']:.2f}"
        peak = "?" if c["peak_mb"] is None else f"{c['peak_mb']:.1f}"
        print(
            f"{rec.key.method:20s} {c['seqs_per_second']:10.3g} seq/s  peak {peak} MB  "
            f"fwd {c['forward_per_seq']:.1f}/seq  bwd {c['backward_per_seq']:.1f}/seq  x floor {ratio}"
        )
    print(f"wrote records to {store.root}", file=sys.stderr)
    return 0
