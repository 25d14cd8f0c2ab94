"""The file format of a finished chunk kept on disk until its cell is written.

A chunk file (``<results>/.chunks/<cell>/<start>.npz``) is plain data: a numpy
``.npz`` archive read without ``allow_pickle``, holding one JSON text (``meta``:
status, ids, reasons, seconds, examples, metric extras) as UTF-8 bytes and one float64 array
``scores_<i>`` of shape (N, K) per scored metric. Nothing in it can run code.
:func:`read_chunk` checks every key, dtype and shape; a file that does not match
(truncated, planted, of another format) is named in a warning and deleted, and
the caller recomputes its chunk.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from attrbench.running.atomic import atomic_write, inside
from attrbench.running.cell import ChunkResult, MetricResult

__all__ = ["CHUNK_FORMAT", "chunk_path", "write_chunk", "read_chunk", "BadChunk"]

log = logging.getLogger("attrbench")

#: Version of the chunk file layout; a file of another version is recomputed.
CHUNK_FORMAT = 1


class BadChunk(ValueError):
    """A chunk file that is not one this version wrote."""


def chunk_path(root: Path, cell: str, start: int) -> Path:
    """``root/.chunks/<cell>/<start>.npz``."""
    return inside(root, Path(root) / ".chunks" / cell / f"{int(start)}.npz")


def _encode(result: ChunkResult) -> dict[str, np.ndarray]:
    metrics, arrays = {}, {}
    for i, (name, m) in enumerate(result.metrics.items()):
        metrics[name] = {
            "status": m.status,
            "reason": m.reason,
            "seconds": float(m.seconds),
            "scores": None if m.scores is None else f"scores_{i}",
            "extra": m.extra,
        }
        if m.scores is not None:
            arrays[f"scores_{i}"] = np.asarray(m.scores, dtype="<f8").reshape(len(m.scores), -1)
    meta = {
        "format": CHUNK_FORMAT,
        "status": result.status,
        "ids": list(result.ids),
        "seconds": float(result.seconds),
        "peak_bytes": int(result.peak_bytes),
        "device": result.device,
        "reason": result.reason,
        "examples": result.examples,
        "metrics": metrics,
    }
    text = json.dumps(meta, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    return {"meta": np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}


def write_chunk(path: Path, result: ChunkResult) -> Path:
    """Write ``result`` atomically to ``path`` as plain data (see the module docstring)."""
    arrays: dict[str, Any] = _encode(result)  # (numpy's savez types **kwds as its own flags)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return atomic_write(path, buf.getvalue())


def _decode(z: np.lib.npyio.NpzFile) -> ChunkResult:
    """The :class:`ChunkResult` in an open archive, every field checked."""
    if "meta" not in z.files:
        raise BadChunk("no meta entry")
    raw = z["meta"]
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise BadChunk(f"meta has dtype {raw.dtype} and {raw.ndim} dimensions, expected uint8 text")
    meta = json.loads(raw.tobytes().decode("utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != CHUNK_FORMAT:
        raise BadChunk(
            f"format {meta.get('format') if isinstance(meta, dict) else '?'}, "
            f"expected {CHUNK_FORMAT}"
        )
    ids = meta["ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadChunk("ids are not a list of texts")
    metrics = {}
    for name, m in dict(meta["metrics"]).items():
        scores = None
        if m["scores"] is not None:
            scores = z[str(m["scores"])]
            if scores.dtype != np.dtype("<f8") or scores.ndim != 2 or len(scores) != len(ids):
                raise BadChunk(
                    f"scores of {name} have dtype {scores.dtype} and shape "
                    f"{scores.shape}, expected float64 ({len(ids)}, K)"
                )
        extra = m.get("extra", {})
        if not isinstance(extra, dict):
            raise BadChunk(f"extra of {name} is not a JSON object")
        metrics[str(name)] = MetricResult(
            str(m["status"]), scores, str(m["reason"]), float(m["seconds"]), extra
        )
    return ChunkResult(
        str(meta["status"]),
        ids,
        metrics,
        float(meta["seconds"]),
        int(meta["peak_bytes"]),
        str(meta["device"]),
        str(meta["reason"]),
        dict(meta["examples"]),
    )


def read_chunk(path: Path) -> ChunkResult | None:
    """The chunk result saved at ``path``, or None when the file is not a valid chunk file.

    A file that does not match the format is named in a warning and deleted, so its
    chunk is recomputed; no file is ever unpickled (``allow_pickle=False``).
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            return _decode(z)
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        zipfile.BadZipFile,
        EOFError,
        UnicodeDecodeError,
    ) as exc:
        why = (
            "it holds pickled objects, which are never loaded"
            if "pickle" in str(exc)
            else f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        log.warning(
            "discarding chunk file %s (not a chunk this version wrote: %s); "
            "its chunk will be recomputed",
            path,
            why,
        )
        Path(path).unlink(missing_ok=True)
        return None
