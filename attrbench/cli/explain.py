"""``attrbench explain``: one sequence's attributions under several methods, as a figure."""

from __future__ import annotations

import sys
from pathlib import Path

from attrbench.cli import common

HELP = "draw one sequence's attributions for several methods (logos or heatmap)"


def add_parser(sub) -> None:
    """Register ``explain`` and its arguments."""
    p = sub.add_parser(
        "explain", help=HELP,
        description="Attribute one sequence (a task sequence by id, or a FASTA record of yours) with "
        "several methods and draw them stacked: sequence logos, or a heatmap for long sequences; "
        "ground truth shaded, predicted class and probability in the title.")
    p.add_argument("--task", required=True, help="task name (see `attrbench list tasks`)")
    p.add_argument("--model", default="default", help="zoo model (default: the task's default)")
    p.add_argument("--method", type=common.csv_list, required=True, help="comma-separated methods or 'all'")
    p.add_argument("--sequence", default=None, metavar="ID",
                   help="a sequence id of the task (or, with --fasta, the record to take)")
    p.add_argument("--fasta", type=Path, default=None, help="a FASTA file of your own (first record by default)")
    p.add_argument("--out", type=Path, required=True, help="figure file: .png, .svg or .pdf")
    p.add_argument("--region", default=None, metavar="START:END",
                   help="draw positions START:END only (0-based, END exclusive)")
    p.add_argument("--heatmap", action="store_true", help="a heatmap even for short sequences")
    p.add_argument("--hypothetical", action="store_true",
                   help="draw a score for every letter at every position (hypothetical "
                   "contributions: what the position would contribute had it held that letter) "
                   "instead of the observed letter's score; methods with a hypothetical option "
                   "(deepshap, deeplift, ig, grad_x_input) use it, ism and saliency are per letter already")
    p.add_argument("--seed", type=int, default=0, help="seeds random methods (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    p.add_argument("--checkpoints", type=Path, default=None, help="load checkpoints from this directory")
    common.threads_arg(p)
    common.plugin_arg(p)


def run(args) -> int:
    """Draw the figure the arguments describe."""
    from attrbench.explain import explain, fasta_sequence, parse_region, prepare, task_sequence
    from attrbench.plugin import METHODS
    from attrbench.runner import resolve_names

    if (args.sequence is None) == (args.fasta is None) and args.fasta is None:
        raise ValueError("give --sequence ID or --fasta FILE")
    if args.out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--out {args.out}: use a .png, .svg or .pdf file name")
    region = parse_region(args.region)
    methods = resolve_names(args.method, METHODS)
    setup = prepare(args.task, args.model, args.device, args.checkpoints)
    if args.fasta is not None:
        length = setup.train.length
        ds = fasta_sequence(setup.task, common.existing(args.fasta, "--fasta"), length, args.sequence)
    else:
        ds = task_sequence(setup.task, args.sequence)
    out = explain(setup, ds, methods, args.out, region, args.seed, True if args.heatmap else None,
                  hypothetical=args.hypothetical)
    print(f"wrote {out}", file=sys.stderr)
    return 0
