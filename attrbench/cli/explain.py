"""``attrbench explain``: one sequence's attributions under several methods, as a figure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from attrbench.cli import common

if TYPE_CHECKING:
    from attrbench.core.data import Dataset
    from attrbench.reporting.explain import Setup

HELP = "draw one sequence's attributions for several methods (logos or heatmap)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``explain`` and its arguments."""
    p = sub.add_parser(
        "explain",
        help=HELP,
        description="Attribute one sequence (a task sequence by id, or a FASTA record of yours) with "
        "several methods and draw them stacked: sequence logos, or a heatmap for long sequences; "
        "ground truth shaded, predicted class and probability in the title.",
    )
    p.add_argument(
        "--task",
        default=None,
        help="task name (see `attrbench list tasks`); not with --model-file/--model-class",
    )
    p.add_argument("--model", default="default", help="zoo model (default: the task's default)")
    p.add_argument(
        "--method", type=common.csv_list, required=True, help="comma-separated methods or 'all'"
    )
    p.add_argument(
        "--sequence",
        default=None,
        metavar="ID",
        help="a sequence id of the task (or, with --fasta, the record to take)",
    )
    p.add_argument(
        "--fasta",
        type=Path,
        default=None,
        help="a FASTA file of your own (first record by default)",
    )
    p.add_argument("--out", type=Path, required=True, help="figure file: .png, .svg or .pdf")
    p.add_argument(
        "--region",
        default=None,
        metavar="START:END",
        help="draw positions START:END only (0-based, END exclusive)",
    )
    p.add_argument("--heatmap", action="store_true", help="a heatmap even for short sequences")
    p.add_argument(
        "--hypothetical",
        action="store_true",
        help="draw a score for every letter at every position (hypothetical "
        "contributions: what the position would contribute had it held that letter) "
        "instead of the observed letter's score; methods with a hypothetical option "
        "(deepshap, deeplift, ig, grad_x_input) use it, ism and saliency are per letter already",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds random methods (default 0)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    p.add_argument(
        "--checkpoints", type=Path, default=None, help="load checkpoints from this directory"
    )
    g = p.add_argument_group(
        "your own model", "explain a model of yours on a record of --fasta (no --task)"
    )
    g.add_argument(
        "--model-file", type=Path, default=None, help="a TorchScript file (torch.jit.save)"
    )
    g.add_argument(
        "--model-class",
        default=None,
        metavar="PKG.MODULE:FACTORY",
        help="a class or function building the model, with --weights",
    )
    g.add_argument(
        "--weights", type=Path, default=None, help="its state dict, read with weights_only=True"
    )
    g.add_argument(
        "--truth", type=Path, default=None, help="BED of ground-truth motifs, shaded in the figure"
    )
    g.add_argument(
        "--alphabet", default="dna", choices=["dna", "rna", "protein"], help="default dna"
    )
    common.threads_arg(p)
    common.plugin_arg(p)


def _user_setup(args: argparse.Namespace) -> tuple[Setup, Dataset]:
    """The user task of ``--model-file|--model-class`` and ``--fasta``, loaded as ``prepare`` loads a task."""
    import tempfile

    from attrbench.reporting.explain import prepare
    from attrbench.user import MODEL, UserInputError, load_user_model, register
    from attrbench.user import prepare as prepare_user

    if args.task is not None or args.fasta is None:
        raise UserInputError("--model-file/--model-class: give --fasta FILE and no --task")
    model, digest = load_user_model(args.model_file, args.model_class, args.weights)
    data = prepare_user(
        model,
        common.existing(args.fasta, "--fasta"),
        args.alphabet,
        None,
        args.truth,
        model_digest=digest,
        source=str(args.model_file or args.weights),
    )
    task = register(data, Path(tempfile.mkdtemp(prefix="attrbench-")))
    return prepare(task.name, MODEL, args.device, task.checkpoint_dir), data.dataset


def _user_sequence(ds: Dataset, seq_id: str | None) -> Dataset:
    from attrbench.user import UserInputError

    name = seq_id or ds.ids[0]
    if name not in ds.ids:
        raise UserInputError(f"--sequence {name}: not a record of the FASTA")
    return ds.subset([ds.ids.index(name)])


def run(args: argparse.Namespace) -> int:
    """Draw the figure the arguments describe."""
    if args.model_file is not None or args.model_class is not None:
        return _run_user(args)
    if args.task is None:
        raise ValueError("give --task NAME, or --model-file FILE --fasta FILE for a model of yours")
    from attrbench.core.plugin import METHODS
    from attrbench.reporting.explain import (
        explain,
        fasta_sequence,
        parse_region,
        prepare,
        task_sequence,
    )
    from attrbench.running.runner import resolve_names

    if (args.sequence is None) == (args.fasta is None) and args.fasta is None:
        raise ValueError("give --sequence ID or --fasta FILE")
    if args.out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--out {args.out}: use a .png, .svg or .pdf file name")
    region = parse_region(args.region)
    methods = resolve_names(args.method, METHODS)
    setup = prepare(args.task, args.model, args.device, args.checkpoints)
    if args.fasta is not None:
        length = setup.train.length
        ds = fasta_sequence(
            setup.task, common.existing(args.fasta, "--fasta"), length, args.sequence
        )
    else:
        ds = task_sequence(setup.task, args.sequence)
    out = explain(
        setup,
        ds,
        methods,
        args.out,
        region,
        args.seed,
        True if args.heatmap else None,
        hypothetical=args.hypothetical,
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0


def _run_user(args: argparse.Namespace) -> int:
    """``explain --model-file ... --fasta ...``: one of the user's sequences under the methods."""
    from attrbench.core.plugin import METHODS
    from attrbench.reporting.explain import explain, parse_region
    from attrbench.running.runner import resolve_names

    if args.out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise ValueError(f"--out {args.out}: use a .png, .svg or .pdf file name")
    region = parse_region(args.region)
    methods = resolve_names(args.method, METHODS)
    setup, ds = _user_setup(args)
    out = explain(
        setup,
        _user_sequence(ds, args.sequence),
        methods,
        args.out,
        region,
        args.seed,
        True if args.heatmap else None,
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0
