"""One small generic registry for tasks, methods and metrics.

Plugins register themselves by decorator when their module is imported. The
modules are found through entry points (groups ``attrbench.tasks``,
``attrbench.methods``, ``attrbench.metrics``; the built-in plugins are listed
the same way) or loaded from a user's file with :func:`load_plugin_file`.
A duplicate name is an error; an unknown name gets "did you mean".

Loading is lazy: :meth:`Registry.get` of a name that an entry point carries
imports that entry point's module only; listing names (:meth:`Registry.names`,
iteration, ``in``) or looking up a name no entry point carries imports them all.
Names are listed in one order whatever was looked up first: entry point by
entry point (sorted by name), then plugins registered otherwise.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, TypeVar

__all__ = [
    "Registry",
    "RegistryError",
    "UnknownNameError",
    "PluginError",
    "load_plugin_file",
    "load_all",
    "did_you_mean",
]

T = TypeVar("T")
#: A decorated plugin object (a function, or a class), returned unchanged.
F = TypeVar("F", bound=Callable[..., Any])

log = logging.getLogger("attrbench")


class RegistryError(ValueError):
    """A registration is invalid (a duplicate name, a wrong type)."""


#: What a plugin, method, metric, task or model name may be: it becomes a folder name.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def check_name(name: object, kind: str, origin: str = "") -> str:
    """``name`` if it is a short identifier (letters, digits, ``_``, ``-``; at most 64,
    not starting with ``_`` or ``-``); otherwise :class:`RegistryError` in one line naming
    the plugin. Names become folders of the results store, so nothing else is allowed."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        where = f" (registered by {origin})" if origin else ""
        raise RegistryError(
            f"{kind} name {name!r}{where} is not allowed: use letters, digits, '_' and '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


class UnknownNameError(KeyError):
    """A name that no plugin registered; the message lists close names."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class PluginError(RuntimeError):
    """A plugin module or file could not be loaded or registered nothing."""


def did_you_mean(name: str, known: Mapping[str, T], kind: str) -> T:
    """``known[name]``; an unknown name raises :class:`UnknownNameError` listing close names.

    Parameters
    ----------
    name : str
    known : mapping of str
    kind : str
        What the names are, for the message (``"method"``, ``"model of task 'T'"``).
    """
    if name in known:
        return known[name]
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    raise UnknownNameError(
        f"unknown {kind} {name!r}{hint} (known: {', '.join(sorted(known)) or 'none'})"
    )


class Registry(Generic[T]):
    """Name -> plugin record, filled by decorators and entry points.

    Parameters
    ----------
    kind : str
        ``"task"``, ``"method"`` or ``"metric"``: used in messages.
    group : str
        The entry-point group whose modules register into this registry.
    """

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._rank: dict[str, tuple[float, int]] = {}
        self._loaded = False
        self._tried: set[tuple[str, str]] = set()
        self._eps: list[Any] | None = None
        self._loading: float = float("inf")
        self._failed: dict[str, str] = {}

    def add(self, name: str, item: T, origin: str = "") -> T:
        """Register ``item`` under ``name``; a name already taken or not a short identifier
        (:func:`check_name`) is an error."""
        check_name(name, self.kind, origin)
        if name in self._items:
            raise RegistryError(
                f"{self.kind} {name!r} is registered twice "
                f"(by {self._origin[name] or 'unknown'} and by {origin or 'unknown'})"
            )
        self._items[name] = item
        self._origin[name] = origin
        self._rank[name] = (self._loading, len(self._rank))
        return item

    def get(self, name: str) -> T:
        """The plugin called ``name``; raise :class:`UnknownNameError` with close names, or
        :class:`PluginError` when the entry point that would provide it failed to load."""
        if name in self._items:
            return self._items[name]
        self._load_one(name)
        if name in self._items:
            return self._items[name]
        self.load()
        if name not in self._items and self._failed:
            if name in self._failed:
                raise PluginError(self._failed[name])
            try:
                return did_you_mean(name, self._items, self.kind)
            except UnknownNameError as exc:
                raise UnknownNameError(
                    f"{exc}; not loaded: {'; '.join(self._failed.values())}"
                ) from None
        return did_you_mean(name, self._items, self.kind)

    def origin(self, name: str) -> str:
        """The module that registered ``name`` (``""`` if unknown)."""
        self.get(name)
        return self._origin[name]

    def from_entry_point(self, name: str) -> bool:
        """Whether ``name`` was registered by an entry point's module, so that any fresh
        process with this environment finds it too (not by a plugin file or at run time)."""
        self.get(name)
        return self._rank[name][0] != float("inf")

    @property
    def failed(self) -> dict[str, str]:
        """Entry-point name -> why it failed to load (those plugins are left out)."""
        self.load()
        return dict(self._failed)

    def names(self) -> list[str]:
        """Registered names: entry point by entry point (sorted by name), then the others in
        registration order."""
        self.load()
        return sorted(self._items, key=self._rank.__getitem__)

    def __contains__(self, name: str) -> bool:
        self.load()
        return name in self._items

    def __iter__(self) -> Iterator[T]:
        return iter([self._items[n] for n in self.names()])

    def __len__(self) -> int:
        self.load()
        return len(self._items)

    def _entry_points(self) -> list[Any]:
        """This group's entry points sorted by name (read once)."""
        if self._eps is None:
            self._eps = sorted(entry_points(group=self.group), key=lambda e: e.name)
        return self._eps

    def load(self) -> None:
        """Import every module of this registry's entry-point group, once."""
        if self._loaded:
            return
        self._loaded = True
        for rank, ep in enumerate(self._entry_points()):
            self._import(rank, ep)

    def _load_one(self, name: str) -> None:
        """Import the module of the entry point called ``name``, if there is one."""
        for rank, ep in enumerate(self._entry_points()):
            if ep.name == name:
                self._import(rank, ep)

    def _import(self, rank: int, ep: Any) -> None:
        """Import one entry point's module (once); what it registers ranks at ``rank``."""
        if (ep.name, ep.value) in self._tried:
            return
        self._tried.add((ep.name, ep.value))
        outer, self._loading = self._loading, rank
        try:
            ep.load()
        except Exception as exc:
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())
            self._failed[ep.name] = (
                f"{self.kind} plugin {ep.name!r} ({ep.value}) failed to load: {reason}"
            )
            log.warning("%s; left out", self._failed[ep.name])
        finally:
            self._loading = outer
        module = ep.value.partition(":")[0]
        for name, origin in self._origin.items():  # registered by an earlier plain import
            if self._rank[name][0] == float("inf") and (
                origin == module or origin.startswith(module + ".")
            ):
                self._rank[name] = (rank, self._rank[name][1])

    def decorator(self, make: Callable[..., T]) -> Callable[..., Callable[[F], F]]:
        """Build a ``@register(name, **fields)`` decorator from a record factory.

        ``make(name, obj, **fields)`` turns the decorated object into the record.
        """

        def register(name: str, **fields: Any) -> Callable[[F], F]:
            def wrap(obj: F) -> F:
                origin = getattr(obj, "__module__", "")
                self.add(name, make(name, obj, **fields), origin)
                return obj

            return wrap

        return register


def load_all() -> None:
    """Load the entry points of all three registries."""
    from attrbench.core.plugin import METHODS, METRICS, TASKS

    for registry in (TASKS, METHODS, METRICS):
        registry.load()


def load_plugin_file(path: str | Path) -> list[str]:
    """Import a user's plugin file; it must register at least one plugin.

    Returns
    -------
    names : list of str
        ``"kind:name"`` of every plugin the file registered.
    """
    from attrbench.core.plugin import METHODS, METRICS, TASKS

    path = Path(path)
    if not path.is_file():
        raise PluginError(f"plugin file {str(path)!r} does not exist")
    load_all()
    before = {r.kind: set(r.names()) for r in (TASKS, METHODS, METRICS)}
    name = f"attrbench_user_plugin_{path.stem}_{abs(hash(path.resolve())) % 10**8}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {str(path)!r} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except RegistryError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin file {str(path)!r} failed to import: {exc}") from exc
    added = [
        f"{r.kind}:{n}"
        for r in (TASKS, METHODS, METRICS)
        for n in r.names()
        if n not in before[r.kind]
    ]
    if not added:
        raise PluginError(
            f"plugin file {str(path)!r} registered nothing: decorate a function with "
            "@attrbench.register_method(...), register_metric(...) or register_task(...)"
        )
    return added
