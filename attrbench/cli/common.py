"""Arguments and option parsing shared by the commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, overload

__all__ = [
    "csv_list",
    "n_arg",
    "plugin_arg",
    "threads_arg",
    "set_threads",
    "data_args",
    "resource_args",
    "existing",
    "resource_options",
    "load_resources",
    "data_options",
    "options",
    "report_options",
    "value",
    "write_or_print",
    "check_out",
]

EPILOG = """examples:
  attrbench run --task psl --method all              score every method on the flagship task
  attrbench run --task utr5 --method ig,deeplift --n 500 --seed 1
  attrbench list methods                              what is registered, with capabilities
  attrbench leaderboard --format latex --out table.tex
  attrbench run --plugin my_method.py --task utr5 --method my_method
"""


def csv_list(value: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [v.strip() for v in value.split(",") if v.strip()]


def n_arg(value: str) -> int:
    """``--n``: a positive number, or ``all`` (-1)."""
    if value == "all":
        return -1
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("--n must be a positive number or 'all'")
    return n


def plugin_arg(p: argparse.ArgumentParser) -> None:
    """``--plugin FILE`` (repeatable), on every command."""
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE",
        help="a Python file that registers methods, metrics or tasks (repeatable)",
    )


def threads_arg(p: argparse.ArgumentParser) -> None:
    """``--threads N``."""
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads torch may use (default: $OMP_NUM_THREADS, else 1, the fastest as "
        "soon as anything else shares the cores and within 0.8-0.9x of two threads on an "
        "idle 2-core machine; results do not depend on it)",
    )


def set_threads(args: argparse.Namespace) -> None:
    """Apply ``--threads`` (if given) before any work starts."""
    threads = getattr(args, "threads", None)
    if threads is not None and threads <= 0:
        from attrbench.cli.validate import UsageError

        raise UsageError(f"--threads {threads}: must be an integer > 0")
    import sys

    if threads is None and "torch" in sys.modules:
        return  # called from Python with torch already running: leave its pool as it is
    from attrbench.running.threads import configure

    configure(threads)


def data_args(p: argparse.ArgumentParser, checkpoints: bool = True) -> None:
    """``--data``, ``--fasta``, ``--gff`` (a user's own data) and ``--checkpoints``."""
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a data file or folder of your own, for tasks that read one (the task's "
        "documentation says which format); models must then be trained on it "
        "(`attrbench train --data ... --out DIR`)",
    )
    p.add_argument(
        "--fasta",
        type=Path,
        default=None,
        help="a FASTA file (plain or .gz) of your own, for tasks that cut their "
        "sequences from one instead of the shipped one",
    )
    p.add_argument(
        "--gff",
        type=Path,
        default=None,
        help="a GFF annotation (plain or .gz) of that FASTA, for tasks that need one",
    )
    if checkpoints:
        p.add_argument(
            "--checkpoints",
            type=Path,
            default=None,
            help="load checkpoints from this directory instead of the shipped ones",
        )


def resource_args(p: argparse.ArgumentParser) -> None:
    """``--resource NAME=PATH`` (repeatable) and ``--kb PATH``, its knowledge-base shorthand."""
    p.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a file of yours for a task resource instead of the task's default "
        "(repeatable), e.g. knowledge_base=entries.tsv",
    )
    p.add_argument(
        "--kb",
        type=Path,
        default=None,
        metavar="PATH",
        help="shorthand for --resource knowledge_base=PATH: a knowledge-base file of "
        "yours instead of the task's default (the formats it reads: the task's "
        "documentation, e.g. `attrbench report --task psl hit_rate --help-report`)",
    )


@overload
def existing(path: Path, flag: str) -> Path: ...


@overload
def existing(path: None, flag: str) -> None: ...


def existing(path: Path | None, flag: str) -> Path | None:
    """``path`` of option ``flag`` if given: a readable text file (else an error naming both)."""
    from attrbench.cli.validate import text_file

    return text_file(path, flag)


def resource_options(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Resource options from ``--resource NAME=PATH`` and ``--kb PATH``; every path must exist.

    Returns
    -------
    options : dict
        ``{name: {"path": Path}}``, what :attr:`attrbench.running.runner.RunConfig.resource_options` takes.
    """
    items = list(getattr(args, "resource", []))
    if getattr(args, "kb", None) is not None:
        items.append(f"knowledge_base={args.kb}")
    options: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw:
            raise ValueError(f"--resource {item!r}: expected NAME=PATH, e.g. knowledge_base=kb.tsv")
        if name in options:
            raise ValueError(
                f"--resource {name}: given twice (--kb is --resource knowledge_base=...)"
            )
        flag = "--kb" if args.kb is not None and raw == str(args.kb) else f"--resource {name}"
        options[name] = {"path": existing(Path(raw).expanduser(), flag)}
    return options


def load_resources(task_name: str, options: dict[str, dict[str, Any]]) -> None:
    """Build each named resource of the task once, so a bad file fails before any work starts.

    Unknown resource names raise with the task's resource names.
    """
    from attrbench.core.plugin import TASKS
    from attrbench.core.registry import did_you_mean

    task = TASKS.get(task_name)
    for name, opts in options.items():
        factory = did_you_mean(name, task.resources, f"resource of task {task.name!r}")
        factory(**opts)


#: Data flags and the ``task.data`` option each one sets.
DATA_FLAGS = {"data": "path", "fasta": "fasta", "gff": "gff"}


def data_options(args: argparse.Namespace) -> dict[str, Any]:
    """Data options from ``--data`` (``path=``; a file, or a folder for tasks that read one),
    ``--fasta`` and ``--gff``, each checked to exist."""
    options = {}
    for flag, option in DATA_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            options[option] = value if Path(value).is_dir() else existing(value, f"--{flag}")
    return options


def options(items: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Parse ``NAME.KEY=VALUE`` into method and metric option dicts, each checked against
    the plugin's signature and defaults (:mod:`attrbench.cli.validate`)."""
    from attrbench.cli import validate
    from attrbench.core.plugin import METHODS, METRICS
    from attrbench.core.registry import did_you_mean

    methods: dict[str, dict[str, Any]] = {}
    metrics: dict[str, dict[str, Any]] = {}
    for item in items:
        name_key, sep, raw = item.partition("=")
        name, dot, key = name_key.partition(".")
        if not sep or not dot or not key:
            raise validate.UsageError(
                f"--option {item!r}: expected NAME.KEY=VALUE, e.g. ig.n_steps=100"
            )
        target = methods if name in METHODS else metrics if name in METRICS else None
        if target is None:
            known = {**{m: m for m in METHODS.names()}, **{q: q for q in METRICS.names()}}
            try:
                did_you_mean(name, known, "method or metric")
            except KeyError as exc:
                raise validate.UsageError(f"--option {item}: {exc}") from None
        assert target is not None  # (did_you_mean raised: a name in neither registry)
        target.setdefault(name, {})[key] = value(raw)
    methods = {m: validate.method_options(METHODS.get(m), o) for m, o in methods.items()}
    metrics = {q: validate.metric_options(METRICS.get(q), o) for q, o in metrics.items()}
    return methods, metrics


def report_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` items as keyword arguments (VALUE parsed as JSON when it is JSON)."""
    options = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            from attrbench.cli.validate import UsageError

            raise UsageError(f"--option {item!r}: expected KEY=VALUE, e.g. n=100")
        options[key] = value(raw)
    return options


def value(raw: str) -> Any:
    """An option's value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def write_or_print(text: str, out: Path | None) -> None:
    """Write ``text`` to ``out`` (saying so on stderr), or print it."""
    import sys

    from attrbench.running.atomic import atomic_write

    if out is None:
        print(text)
        return
    atomic_write(out, text)
    print(f"wrote {out}", file=sys.stderr)


def check_out(out: Path | None, flag: str = "--out") -> Path | None:
    """``out`` if its folder can be written (checked before any work)."""
    from attrbench.cli.validate import UsageError, writable_dir

    if out is not None:
        if Path(out).is_dir():
            raise UsageError(f"{flag} {out}: is a directory; give a file name")
        writable_dir(Path(out).parent, flag)
    return out
