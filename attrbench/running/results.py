"""Result records: one JSON file per cell, written atomically.

A cell is (task, task version, data hash, model, checkpoint, method, method
options, metric, metric options, n, seed). Its key is a hash of those fields, so
a re-run finds the record of a finished cell and skips it; a crash or Ctrl-C
never leaves a half-written file (write to a temporary file, then rename).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import logging
import os
import subprocess
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from attrbench.core.data import content_hash
from attrbench.running.atomic import atomic_write, inside

__all__ = [
    "CellKey",
    "Record",
    "ResultStore",
    "SequenceValues",
    "pack_values",
    "git_commit",
    "default_results_dir",
    "read_record",
    "SCHEMA",
    "MIGRATIONS",
    "NewerSchemaError",
]

log = logging.getLogger("attrbench")

#: Version of the record layout written by this attrbench. A record without a ``schema``
#: field predates the field and has the layout of schema 1.
SCHEMA = 1

#: ``{k: migrate}``: ``migrate(record dict of schema k) -> record dict of schema k + 1``.
#: An older record without a migration path is recomputed into a new file (the old file is
#: kept as ``<name>.schema<k>``).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


class NewerSchemaError(ValueError):
    """A record written by a newer attrbench: this version must not read or overwrite it."""


#: Where records go unless ``--results`` or ``ATTRBENCH_RESULTS`` says otherwise.
DEFAULT_RESULTS = "results"


def default_results_dir() -> Path:
    """``$ATTRBENCH_RESULTS`` or ``./results``."""
    return Path(os.environ.get("ATTRBENCH_RESULTS", DEFAULT_RESULTS))


@dataclass(frozen=True)
class CellKey:
    """Everything that identifies a result; records with the same key are the same result."""

    task: str
    task_version: str
    data_hash: str
    model: str
    checkpoint_hash: str
    method: str
    method_options: dict[str, Any]
    metric: str
    metric_options: dict[str, Any]
    n: int
    seed: int

    @property
    def digest(self) -> str:
        """16 hex digits identifying the cell."""
        return content_hash(json.dumps(asdict(self), sort_keys=True, default=str))

    def path(self, root: Path) -> Path:
        """``root/task/model/method/metric-<digest>.json`` (checked to stay under ``root``)."""
        return inside(
            root,
            Path(root) / self.task / self.model / self.method / f"{self.metric}-{self.digest}.json",
        )


class SequenceValues(NamedTuple):
    """The per-sequence scores of a record: ``ids`` (N,) and ``columns[name]`` arrays (N,)."""

    ids: list[str]
    columns: dict[str, np.ndarray]


def _pack(data: bytes) -> str:
    return base64.b64encode(zlib.compress(data, 9)).decode("ascii")


def _unpack(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def pack_values(ids: list[str], scores: np.ndarray, names: tuple[str, ...]) -> dict[str, Any]:
    """The compressed form of per-sequence scores kept in :attr:`Record.per_sequence`.

    Parameters
    ----------
    ids : list of str, length N
    scores : np.ndarray, shape=(N, K)
        NaN where a sequence has no score.
    names : tuple of str, length K
    """
    scores = np.asarray(scores, dtype="<f8").reshape(len(ids), len(names))
    return {
        "ids": _pack("\n".join(ids).encode()),
        "columns": {
            c: _pack(np.ascontiguousarray(scores[:, j]).tobytes()) for j, c in enumerate(names)
        },
    }


@dataclass
class Record:
    """One result cell.

    ``status`` is ``"ok"``, ``"not_applicable"`` (``reason`` says why) or
    ``"failed"``. ``columns`` holds every column of a multi-column metric as
    ``{name: {"mean", "low", "high", "n", "n_missing"}}``; ``value``/``low``/``high``
    repeat the main column. ``per_sequence`` keeps every sequence's score of every
    column (compressed, with the sequence ids; :meth:`sequence_values` reads it), so
    two methods can be compared paired on the sequences both scored.
    """

    key: CellKey
    status: str
    higher_is_better: bool | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n_scored: int = 0
    n_missing: int = 0
    columns: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    per_sequence: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    wall_time: float = 0.0
    attrbench_version: str = ""
    git_commit: str = ""
    date: str = ""
    schema: int = SCHEMA

    def sequence_values(self) -> SequenceValues | None:
        """The per-sequence scores, or None for a record that keeps none."""
        if not self.per_sequence:
            return None
        text = _unpack(self.per_sequence["ids"]).decode()
        columns = {
            c: np.frombuffer(_unpack(v), dtype="<f8").copy()
            for c, v in self.per_sequence["columns"].items()
        }
        return SequenceValues(text.split("\n") if text else [], columns)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True, default=_json_default)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(**{**d, "key": CellKey(**d["key"])})


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


class ResultStore:
    """Records under a directory, one file per cell.

    Parameters
    ----------
    root : Path
        The results directory (created on first write).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def get(self, key: CellKey) -> Record | None:
        """The record of ``key`` or None (also when its file is corrupt: see :func:`read_record`)."""
        path = key.path(self.root)
        return read_record(path) if path.is_file() else None

    def put(self, record: Record) -> Path:
        """Write ``record`` atomically; stamps version, commit and date if empty."""
        from attrbench import __version__

        record.attrbench_version = record.attrbench_version or __version__
        record.git_commit = record.git_commit or git_commit()
        record.date = record.date or _dt.datetime.now(_dt.timezone.utc).isoformat(
            timespec="seconds"
        )
        path = record.key.path(self.root)
        _keep_older(path)
        return atomic_write(path, record.to_json())

    def records(self, task: str | None = None) -> list[Record]:
        """Every record (of ``task``), skipping temporary, corrupt and non-record files."""
        base = self.root / task if task else self.root
        files = sorted(base.rglob("*.json")) if base.is_dir() else []
        found = (read_record(p) for p in files if not p.name.startswith(".tmp-"))
        return [r for r in found if r is not None]


def read_record(path: Path) -> Record | None:
    """The record in ``path``; None for a file that is not one.

    A file that does not parse (truncated, empty) is reported with its path and
    moved aside to ``<name>.corrupt`` (never deleted), so the next run recomputes
    its cell; a JSON file that is not a record (a stray ``notes.json``) is ignored
    with one log line.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        _set_aside(Path(path), exc)
        return None
    data = _current(Path(path), data)
    if data is None:
        return None
    try:
        return Record.from_dict(data)
    except (TypeError, KeyError, AttributeError):
        log.warning("ignoring %s: a JSON file that is not an attrbench record", path)
        return None


def _schema(data: object) -> int | None:
    """The schema of a parsed record file (1 if it has none), None if it is not a dict."""
    if not isinstance(data, dict):
        return None
    schema = data.get("schema", 1)
    return schema if isinstance(schema, int) and not isinstance(schema, bool) else None


def _current(path: Path, data: Any) -> Any:
    """``data`` in this version's schema: as is, or migrated; None for an older record
    without a migration (named; its cell is recomputed into a new file).

    Raises
    ------
    NewerSchemaError
        For a record of a newer schema (one line: which attrbench wrote it, what to do).
    """
    schema = _schema(data)
    if schema is None or schema == SCHEMA:
        return data
    if schema > SCHEMA:
        by = data.get("attrbench_version") or "a newer version"
        raise NewerSchemaError(
            f"{path}: written by attrbench {by}; upgrade attrbench or use another --results "
            f"(record schema {schema}, this version reads schema {SCHEMA})"
        )
    while schema < SCHEMA and schema in MIGRATIONS:
        data, schema = {**MIGRATIONS[schema](data), "schema": schema + 1}, schema + 1
    if schema == SCHEMA:
        return data
    log.warning(
        "%s: a record of older schema %d; it is kept as %s and its cell recomputed",
        path,
        _schema(data),
        path.name + f".schema{_schema(data)}",
    )
    return None


def _keep_older(path: Path) -> None:
    """Move an older-schema record at ``path`` aside (``<name>.schema<k>``) before a new one
    replaces it; a newer-schema record raises :class:`NewerSchemaError` (never overwritten)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return
    schema = _schema(data)
    if schema is None or schema == SCHEMA:
        return
    if schema > SCHEMA:
        _current(path, data)
    os.replace(path, path.with_name(f"{path.name}.schema{schema}"))


def _set_aside(path: Path, exc: Exception) -> None:
    why = "empty file" if not path.stat().st_size else f"{type(exc).__name__}: {exc}"
    aside = path.with_name(path.name + ".corrupt")
    for i in range(1, 1000):
        if not aside.exists():
            break
        aside = path.with_name(f"{path.name}.corrupt{i}")
    try:
        os.replace(path, aside)
    except OSError as err:
        log.warning(
            "corrupt record %s (%s), treated as missing; could not move it aside: %s",
            path,
            why,
            err.strerror or err,
        )
        return
    log.warning(
        "corrupt record %s (%s): moved to %s, its cell will be recomputed", path, why, aside.name
    )


_COMMIT: list[str] = []


def git_commit() -> str:
    """The git commit of the attrbench source tree, or "" outside a checkout."""
    if not _COMMIT:
        try:
            out = subprocess.run(
                ["git", "rev-parse", "--short=12", "HEAD"],
                cwd=Path(__file__).parent,
                capture_output=True,
                text=True,
                timeout=5,
            )
            _COMMIT.append(out.stdout.strip() if out.returncode == 0 else "")
        except (OSError, subprocess.SubprocessError):
            _COMMIT.append("")
    return _COMMIT[0]
