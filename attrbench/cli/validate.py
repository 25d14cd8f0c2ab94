"""Checks of everything a command was given, run before any work starts.

Each check raises :class:`UsageError` with one line naming the flag or file;
:func:`attrbench.cli.main` prints it as ``attrbench: error: ...`` and exits 2.
Nothing here imports torch or a plugin, except :func:`device` (torch, to ask
for CUDA) and the option checks (they read the registered functions).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from attrbench.core.plugin import Method, Metric

__all__ = [
    "UsageError",
    "names",
    "seed",
    "batch_size",
    "choice",
    "device",
    "writable_dir",
    "text_file",
    "check_options",
    "method_options",
    "metric_options",
    "report_options",
]

#: Bytes read from the start of a file to tell text from binary.
SNIFF = 64 * 1024


class UsageError(ValueError):
    """A user error in a command's arguments: the message is one line naming the flag or file."""


def names(values: list[str], flag: str) -> list[str]:
    """``values`` of a comma-separated ``flag``; an empty list (``--method ,``) is an error."""
    if not values:
        raise UsageError(f"{flag}: no name given (a comma-separated list of names, or 'all')")
    return values


#: The largest seed (torch generators take a signed 64-bit seed).
MAX_SEED = 2**63 - 1


def seed(value: int, flag: str = "--seed") -> int:
    """A seed: an integer in ``[0, 2**63 - 1]``."""
    if not 0 <= value <= MAX_SEED:
        raise UsageError(f"{flag} {value}: must be an integer from 0 to {MAX_SEED}")
    return value


def batch_size(value: int, flag: str = "--batch-size") -> int:
    """A batch size: an integer > 0."""
    if value <= 0:
        raise UsageError(f"{flag} {value}: must be an integer > 0")
    return value


def choice(value: str, choices: Iterable[str], flag: str) -> str:
    """``value`` if it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise UsageError(f"{flag} {value!r}: expected one of {', '.join(choices)}")
    return value


def device(value: str, flag: str = "--device") -> str:
    """``cpu``, ``cuda`` (only with a CUDA device) or ``auto``; ``cuda:N`` is accepted too."""
    kind = value.split(":", 1)[0]
    if kind not in ("cpu", "cuda", "auto") or (kind != "cuda" and ":" in value):
        raise UsageError(f"{flag} {value!r}: expected cpu, cuda or auto")
    if kind == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UsageError(f"{flag} {value}: no CUDA device is available (use cpu or auto)")
    return value


def writable_dir(path: Path, flag: str) -> Path:
    """``path`` if it is a directory this process can write into, or can create."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: exists and is not a directory")
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "directory" if probe == path else f"directory {probe} (to create {path})"
        raise UsageError(f"{flag} {path}: cannot write into the {what}: permission denied")
    return path


def text_file(path: Path | None, flag: str) -> Path | None:
    """``path`` if it is a readable, non-empty text (UTF-8) file; None passes through."""
    if path is None:
        return None
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{flag} {path}: no such file")
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a directory, not a file")
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise UsageError(f"{flag} {path}: the file is empty")
    if head[:2] == b"\x1f\x8b":
        if path.suffix == ".gz":
            return path
        raise UsageError(
            f"{flag} {path}: is gzip-compressed but its name does not end in .gz "
            f"(rename it to {path.name}.gz, or decompress it)"
        )
    if b"\x00" in head or not _utf8(head):
        raise UsageError(f"{flag} {path}: is not a text file (binary content)")
    return path


def _utf8(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut by the sniff window
    return True


# --------------------------------------------------------------------------- options


def _kinds(param: inspect.Parameter, default: Any) -> set[str] | None:
    """The value kinds a parameter accepts (``int``, ``float``, ``bool``, ``str``, ``list``,
    ``None``), or None when it accepts something this check does not know."""
    if default is not None and default is not inspect.Parameter.empty:
        kind = _kind_of(default)
        return None if kind is None else ({"int", "float"} if kind == "float" else {kind})
    annotation = param.annotation
    if annotation is inspect.Parameter.empty:
        return None
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kinds = set()
    for part in (p.strip() for p in text.split("|")):
        base = part.split("[", 1)[0].rsplit(".", 1)[-1]
        mapped = {
            "int": "int",
            "float": "float",
            "bool": "bool",
            "str": "str",
            "None": "None",
            "list": "list",
            "tuple": "list",
            "Sequence": "list",
        }.get(base)
        if mapped is None:
            return None
        kinds.add(mapped)
    if "float" in kinds:
        kinds.add("int")
    return kinds or None


def _kind_of(value: Any) -> str | None:
    if value is None:
        return "None"
    for kind, types in (
        ("bool", bool),
        ("int", int),
        ("float", float),
        ("str", str),
        ("list", (list, tuple)),
    ):
        if isinstance(value, types):
            return kind
    return None


def _coerce(value: Any, kinds: set[str] | None, where: str) -> Any:
    """``value`` as the parameter expects it: a text where a list is expected is one name
    (or comma-separated names); any other mismatch is an error naming the expected type."""
    if kinds is None:
        return value
    if "list" in kinds and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    kind = _kind_of(value)
    if kind in kinds:
        return value
    expected = " or ".join(sorted(k for k in kinds if k != "None"))
    raise UsageError(
        f"{where}={value!r}: expected {'a' if expected[0] not in 'aeiou' else 'an'} "
        f"{expected} value" + (" (or null)" if "None" in kinds else "")
    )


def _parameters(
    fns: Iterable[tuple[Callable[..., Any] | None, int]], excluded: Iterable[str] = ()
) -> tuple[dict[str, tuple[inspect.Parameter, Any]], bool]:
    """Keyword parameters of ``fns`` (each with how many leading positional ones to skip),
    and whether any of them takes ``**kwargs``."""
    params: dict[str, tuple[inspect.Parameter, Any]] = {}
    open_ended = False
    for fn, skip in fns:
        if fn is None:
            continue
        for i, p in enumerate(inspect.signature(fn).parameters.values()):
            if p.kind is p.VAR_KEYWORD:
                open_ended = True
            elif i >= skip and p.kind is not p.VAR_POSITIONAL and p.name not in excluded:
                params.setdefault(p.name, (p, p.default))
    return params, open_ended


def check_options(
    options: dict[str, Any],
    params: dict[str, Any],
    defaults: dict[str, Any],
    open_ended: bool,
    where: str,
) -> dict[str, Any]:
    """``options`` checked against ``params`` (name -> (parameter, default)) and ``defaults``.

    Unknown keys get "did you mean" unless a function takes ``**kwargs``; values are
    coerced or refused by the type of the default (or the annotation).
    """
    from attrbench.core.registry import UnknownNameError, did_you_mean

    known = {**params, **{k: (params.get(k, (None,))[0], d) for k, d in defaults.items()}}
    out = {}
    for key, value in options.items():
        if key not in known:
            if open_ended:
                out[key] = value
                continue
            try:
                did_you_mean(key, known, f"{where} option")
            except UnknownNameError as exc:
                raise UsageError(f"--option {where}.{key}: {exc}") from None
        param, default = known[key]
        kinds = _kinds(param, default) if param is not None else _kinds_default(default)
        out[key] = _coerce(value, kinds, f"--option {where}.{key}")
    return out


def _kinds_default(default: Any) -> set[str] | None:
    kind = _kind_of(default)
    if kind is None or kind == "None":
        return None
    return {"int", "float"} if kind == "float" else {kind}


def method_options(method: Method, options: dict[str, Any]) -> dict[str, Any]:
    """A method's ``--option`` values checked against ``fn``, ``fit`` and ``reference`` and
    its declared schema (:func:`attrbench.core.plugin.validate_options`): unknown keys are
    refused for every method, also one whose function takes ``**options``."""
    from attrbench.core.plugin import METHOD_CONTEXT

    excluded = [c for c in METHOD_CONTEXT if c not in method.defaults]
    params, _ = _parameters([(method.fn, 4), (method.fit, 2), (method.reference, 1)], excluded)
    return _schema_checked(
        method, check_options(options, params, _declared(method), False, method.name)
    )


def _declared(plugin: Method | Metric) -> dict[str, Any]:
    """The plugin's defaults, with None for options declared in its schema only."""
    return {**{k: None for k in plugin.option_schema}, **plugin.defaults}


def _schema_checked(plugin: Method | Metric, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` if :func:`attrbench.core.plugin.validate_options` accepts them."""
    from attrbench.core.plugin import OptionError, validate_options

    try:
        validate_options(plugin, options)
    except OptionError as exc:
        raise UsageError(f"--{exc}") from None
    return options


def metric_options(metric: Metric, options: dict[str, Any]) -> dict[str, Any]:
    """A metric's ``--option`` values checked against its function and declared schema."""
    params, _ = _parameters([(metric.fn, 1)])
    return _schema_checked(
        metric, check_options(options, params, _declared(metric), False, metric.name)
    )


def report_options(report: Any, options: dict[str, Any], name: str) -> dict[str, Any]:
    """A report's ``--option`` values checked against the signatures of its ``plan`` and
    ``render`` (after ``records``); unknown keys are errors."""
    params, _ = _parameters([(report.plan, 0), (report.render, 1)])
    if not params and options:
        raise UsageError(f"--option {next(iter(options))}: report {name!r} takes no options")
    return _report(options, params, name)


def _report(options: dict[str, Any], params: dict[str, Any], name: str) -> dict[str, Any]:
    from attrbench.core.registry import UnknownNameError, did_you_mean

    out = {}
    for key, value in options.items():
        try:
            param, default = did_you_mean(key, params, f"option of the {name!r} report")
        except UnknownNameError as exc:
            raise UsageError(f"--option {key}: {exc}") from None
        out[key] = _coerce(value, _kinds(param, default), f"--option {key}")
    return out
