"""What ``attrbench list`` shows, cached so it answers without importing the plugins.

The catalog (the rows of ``list tasks|methods|metrics|models`` and the plugins
that failed to load) is built once by importing every entry point, then kept
under ``$ATTRBENCH_CACHE/catalog/<fingerprint>.json`` (``ATTRBENCH_CACHE``
defaults to ``platformdirs.user_cache_dir("attrbench")``). The fingerprint
covers attrbench's version, every entry point of the three groups (name, value,
distribution and its version) and the size and modification time of every
Python file of the packages they live in and of the core, so installing,
upgrading or editing a plugin builds a new catalog; nothing is ever stale.
Whether a model's checkpoint exists is looked up at display time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

__all__ = ["GROUPS", "fingerprint", "catalog", "build", "plain"]

log = logging.getLogger("attrbench")

#: The entry-point groups plugins register through.
GROUPS = ("attrbench.tasks", "attrbench.methods", "attrbench.metrics")


def _cache_dir() -> Path:
    root = os.environ.get("ATTRBENCH_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("attrbench")
    return Path(root) / "catalog"


def _files_of(module: str) -> list[Path]:
    """Every Python file of the top-level package (or the module) ``module`` belongs to,
    found without importing it."""
    try:
        spec = importlib.util.find_spec(module.split(".", 1)[0])
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [
            Path(d, f)
            for loc in spec.submodule_search_locations
            for d, _, names in os.walk(loc)
            for f in names
            if f.endswith(".py")
        ]
    return [Path(spec.origin)] if spec.origin else []


def fingerprint() -> str:
    """A hash of everything the catalog depends on (see the module docstring)."""
    from attrbench import __version__

    parts = [__version__]
    modules = {"attrbench"}
    for group in GROUPS:
        for ep in sorted(entry_points(group=group), key=lambda e: e.name):
            dist = ep.dist
            parts += [
                group,
                ep.name,
                ep.value,
                dist.name if dist else "",
                dist.version if dist else "",
            ]
            modules.add(ep.value.split(":", 1)[0])
    for path in sorted({p for m in modules for p in _files_of(m)}):
        try:
            st = path.stat()
        except OSError:
            continue
        parts.append(f"{path}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


_ROLE = re.compile(r":[a-z:]+:`~?([^`]+)`")


def plain(text: str) -> str:
    """``text`` without reStructuredText markup (roles, literals, emphasis), on one line."""
    text = _ROLE.sub(
        lambda m: m.group(1).rsplit(".", 1)[-1] if "~" in m.group(0) else m.group(1), text
    )
    text = re.sub(r"``([^`]+)``", r"\1", text)
    text = re.sub(r"`([^`]+)`_?", r"\1", text)
    text = re.sub(r"\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*", lambda m: m.group(1) or m.group(2), text)
    return " ".join(text.split())


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def build() -> dict[str, Any]:
    """The catalog, by importing every plugin (those that fail are listed under ``failed``)."""
    from attrbench.core.plugin import METHODS, METRICS, TASKS

    return {
        "tasks": [
            [t.name, t.version, t.default_model, len(t.classes), plain(t.description)]
            for t in TASKS
        ],
        "methods": [
            [
                m.name,
                _yes(m.complete),
                _yes(m.deterministic),
                _yes(m.needs_attention),
                _yes(m.needs_embedding),
                _yes(m.fit is not None),
                plain(m.description),
            ]
            for m in METHODS
        ],
        "metrics": [
            [
                q.name,
                "higher" if q.higher_is_better else "lower",
                _yes(q.needs_ground_truth),
                ",".join(q.needs_resources) or "-",
                ",".join(q.columns) or "-",
                plain(q.description),
            ]
            for q in METRICS
        ],
        "models": [
            [
                t.name,
                m,
                "default" if m == t.default_model else "",
                str(t.checkpoint_dir / f"{m}.pt") if spec.trained else "",
                plain(spec.description),
            ]
            for t in TASKS
            for m, spec in t.models.items()
        ],
        "failed": [msg for r in (TASKS, METHODS, METRICS) for msg in r.failed.values()],
    }


def catalog(use_cache: bool = True) -> dict[str, Any]:
    """The catalog: read from the cache when its fingerprint matches, else built (and cached).

    Plugins that failed to load are reported (one line each) either way.
    """
    if not use_cache:
        return build()
    path = _cache_dir() / f"{fingerprint()}.json"
    found: dict[str, Any] | None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        found = None
    if found is not None:
        for message in found.get("failed", []):
            log.warning("%s; left out", message)
        return found
    made = build()
    try:
        from attrbench.running.atomic import atomic_write

        atomic_write(path, json.dumps(made))
    except OSError as exc:
        log.info("catalog not cached (%s): %s", path, exc.strerror or exc)
    return made
