"""Arguments and option parsing shared by the commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = [
    "csv_list", "n_arg", "plugin_arg", "threads_arg", "set_threads", "data_args", "kb_arg",
    "existing", "kb_options", "data_options", "options", "report_options", "value", "write_or_print",
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
    p.add_argument("--plugin", action="append", default=[], metavar="FILE",
                   help="a Python file that registers methods, metrics or tasks (repeatable)")


def threads_arg(p: argparse.ArgumentParser) -> None:
    """``--threads N``."""
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads torch may use (default: torch's choice; 1 when running jobs side by side)")


def set_threads(args) -> None:
    """Apply ``--threads`` (if given) before any work starts."""
    threads = getattr(args, "threads", None)
    if threads is not None and threads <= 0:
        from attrbench.cli.validate import UsageError

        raise UsageError(f"--threads {threads}: must be an integer > 0")
    if threads:
        import torch

        torch.set_num_threads(args.threads)


def data_args(p: argparse.ArgumentParser) -> None:
    """``--data`` and ``--checkpoints``."""
    p.add_argument("--data", type=Path, default=None,
                   help="a data file of your own for tasks that read one (e.g. DeepLoc FASTA for psl); "
                   "models must then be trained on it (`attrbench train --data ... --out DIR`)")
    p.add_argument("--checkpoints", type=Path, default=None,
                   help="load checkpoints from this directory instead of the shipped ones")


def kb_arg(p: argparse.ArgumentParser) -> None:
    """``--kb PATH``, the knowledge-base shorthand."""
    p.add_argument("--kb", type=Path, default=None, metavar="PATH",
                   help="knowledge base for hit_rate instead of the task's default: a UniProt TSV "
                   "export with a 'Subcellular location [CC]' column, or a FASTA whose headers "
                   "carry the locations (formats: `python -m pydoc attrbench.knowledge`)")


def existing(path: Path | None, flag: str) -> Path | None:
    """``path`` of option ``flag`` if given: a readable text file (else an error naming both)."""
    from attrbench.cli.validate import text_file

    return text_file(path, flag)


def kb_options(args) -> dict:
    """Resource options from ``--kb``."""
    kb = existing(args.kb, "--kb")
    return {} if kb is None else {"knowledge_base": {"path": kb}}


def data_options(args) -> dict:
    """Data options from ``--data`` (a file, or a directory for tasks that read one)."""
    data = args.data
    if data is not None and not Path(data).is_dir():
        existing(data, "--data")
    return {} if data is None else {"path": data}


def options(items: list[str]) -> tuple[dict, dict]:
    """Parse ``NAME.KEY=VALUE`` into method and metric option dicts, each checked against
    the plugin's signature and defaults (:mod:`attrbench.cli.validate`)."""
    from attrbench.cli import validate
    from attrbench.plugin import METHODS, METRICS
    from attrbench.registry import did_you_mean

    methods: dict[str, dict] = {}
    metrics: dict[str, dict] = {}
    for item in items:
        name_key, sep, raw = item.partition("=")
        name, dot, key = name_key.partition(".")
        if not sep or not dot or not key:
            raise validate.UsageError(f"--option {item!r}: expected NAME.KEY=VALUE, e.g. ig.n_steps=100")
        target = methods if name in METHODS else metrics if name in METRICS else None
        if target is None:
            known = {**{m: m for m in METHODS.names()}, **{q: q for q in METRICS.names()}}
            try:
                did_you_mean(name, known, "method or metric")
            except KeyError as exc:
                raise validate.UsageError(f"--option {item}: {exc}") from None
        target.setdefault(name, {})[key] = value(raw)
    methods = {m: validate.method_options(METHODS.get(m), o) for m, o in methods.items()}
    metrics = {q: validate.metric_options(METRICS.get(q), o) for q, o in metrics.items()}
    return methods, metrics


def report_options(items: list[str]) -> dict:
    """``KEY=VALUE`` items as keyword arguments (VALUE parsed as JSON when it is JSON)."""
    options = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            from attrbench.cli.validate import UsageError

            raise UsageError(f"--option {item!r}: expected KEY=VALUE, e.g. n=100")
        options[key] = value(raw)
    return options


def value(raw: str):
    """An option's value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw




def write_or_print(text: str, out: Path | None) -> None:
    """Write ``text`` to ``out`` (saying so on stderr), or print it."""
    import sys

    from attrbench.atomic import atomic_write

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
