"""``attrbench bench``: the cost of each method on a model, as records.

For each method: sequences per second and peak memory (through
:func:`attrbench.running.timing.measure`: synchronised on CUDA, ``max_memory_allocated``
there, resident memory on CPU) after one warm-up batch; the forward and backward
passes it used, counted with hooks on the model (rows through ``forward`` and
``attention_weights``, rows of gradient through their outputs); and the ratio of
those passes to the method's declared floor (:attr:`attrbench.core.plugin.Method.floor`,
the passes it inherently needs done in one batch). One record per (model,
method, device), metric :data:`BENCH_METRIC`, columns :data:`COLUMNS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrbench.core.data import Dataset
from attrbench.core.examples import pack_examples
from attrbench.core.plugin import Method
from attrbench.reporting.explain import Setup, attribute, fitted_state
from attrbench.reporting.tables import BENCH_METRIC
from attrbench.running.calling import resolve_method_options
from attrbench.running.results import CellKey, Record, ResultStore
from attrbench.running.timing import measure

__all__ = ["BENCH_METRIC", "COLUMNS", "Passes", "count_passes", "bench_method", "floor_of"]

#: Column -> higher is better.
COLUMNS = {
    "seqs_per_second": True,
    "peak_mb": False,
    "forward_per_seq": False,
    "backward_per_seq": False,
    "floor_ratio": False,
}
#: Model entry points other than ``forward`` that methods call: attention methods read
#: ``attention_weights``; ISM asks ``mutant_logits`` for its mutants' logits, one row each.
_ENTRY_POINTS = ("attention_weights", "mutant_logits")


@dataclass
class Passes:
    """Model calls and rows (sequences) through them, forward and backward."""

    forward_calls: int = 0
    backward_calls: int = 0
    forward_rows: int = 0
    backward_rows: int = 0


def _watch(passes: Passes, out: Any) -> None:
    """Count the rows of ``out`` (a tensor) forward, and its gradient's rows backward."""
    if not isinstance(out, torch.Tensor) or out.dim() == 0:
        return
    passes.forward_calls += 1
    passes.forward_rows += out.shape[0]
    if out.requires_grad:

        def on_grad(grad: torch.Tensor) -> None:
            passes.backward_calls += 1
            passes.backward_rows += grad.shape[0]

        out.register_hook(on_grad)


@contextlib.contextmanager
def count_passes(model: nn.Module) -> Iterator[Passes]:
    """Count the model's forward and backward passes inside the block.

    Examples
    --------
    >>> m = nn.Linear(3, 2)
    >>> with count_passes(m) as p:
    ...     m(torch.ones(4, 3, requires_grad=True)).sum().backward()
    >>> (p.forward_rows, p.backward_rows)
    (4, 4)
    """
    passes = Passes()
    depth = [0]  # entry-point calls under way: what they run inside is counted by their output

    def on_forward(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
        if not depth[0]:
            _watch(passes, out)

    handle = model.register_forward_hook(on_forward)
    patched: list[str] = []
    for name in _ENTRY_POINTS:
        original = getattr(model, name, None)
        if callable(original):

            def counted(*args: Any, _f: Callable[..., Any] = original, **kwargs: Any) -> Any:
                depth[0] += 1
                try:
                    out = _f(*args, **kwargs)
                finally:
                    depth[0] -= 1
                if not depth[0]:
                    _watch(passes, out)
                return out

            setattr(model, name, counted)
            patched.append(name)
    try:
        yield passes
    finally:
        handle.remove()
        for name in patched:
            delattr(model, name)


def floor_of(
    method: Method, options: dict[str, Any], X: torch.Tensor
) -> tuple[float, float] | None:
    """The (forward, backward) passes per sequence ``method`` inherently needs, or None if undeclared."""
    if method.floor is None:
        return None
    length = float((X.abs().sum(1) > 0).sum(1).float().mean())
    forward, backward = method.floor({**method.defaults, **options}, length, X.shape[1])
    return float(forward), float(backward)


def _column(value: float | None, higher: bool, n: int) -> dict[str, Any]:
    return {
        "mean": value,
        "low": None,
        "high": None,
        "n": n,
        "n_missing": 0,
        "higher_is_better": higher,
    }


def _key(
    setup: Setup,
    ds: Dataset,
    method: str,
    options: dict[str, Any],
    device: torch.device,
    batch_size: int,
    seed: int,
) -> CellKey:
    return CellKey(
        task=setup.task.name,
        task_version=setup.task.version,
        data_hash=ds.hash,
        model=str(setup.model.zoo_name),
        checkpoint_hash=str(setup.model.checkpoint_hash),
        method=method,
        method_options=options,
        metric=BENCH_METRIC,
        metric_options={"device": device.type, "batch_size": batch_size},
        n=len(ds),
        seed=seed,
    )


def _run_batches(
    setup: Setup,
    method: Method,
    ds: Dataset,
    target: torch.Tensor,
    batch_size: int,
    gen: torch.Generator,
    state: Any,
) -> torch.Tensor:
    outs = []
    for i in range(0, len(ds), batch_size):
        sl = slice(i, i + batch_size)
        outs.append(attribute(setup, method, ds.X[sl], target[sl], ds.mask[sl], gen, state=state))
    return torch.cat(outs)


def bench_method(
    setup: Setup,
    method: Method,
    ds: Dataset,
    target: torch.Tensor,
    batch_size: int = 64,
    seed: int = 0,
    state: Any = None,
) -> Record:
    """Time ``method`` on the sequences of ``ds`` (targets ``target``) and count its passes.

    Parameters
    ----------
    setup : Setup
    method : Method
    ds : Dataset
        The sequences to explain, N of them.
    target : torch.Tensor, shape=(N,), int64
    batch_size : int
        Sequences per method call.

    Returns
    -------
    record : Record
        Status ``ok`` with the :data:`COLUMNS`, or ``not_applicable`` with the reason.
    """
    options = resolve_method_options(setup.task, method)
    key = _key(setup, ds, method.name, options, setup.device, batch_size, seed)
    reason = method.why_not(setup.model)
    if reason:
        return Record(key, "not_applicable", reason=reason, device=str(setup.device))
    gen = torch.Generator().manual_seed(seed)
    attribute(
        setup,
        method,
        ds.X[:batch_size],
        target[:batch_size],
        ds.mask[:batch_size],
        gen,
        state=state,
    )
    gen.manual_seed(seed)
    with count_passes(setup.model) as passes, measure(setup.device) as timing:
        attr = _run_batches(setup, method, ds, target, batch_size, gen, state)
    n = len(ds)
    fwd, bwd = passes.forward_rows / n, passes.backward_rows / n
    floor = floor_of(method, options, ds.X)
    ratio = (fwd + bwd) / sum(floor) if floor and sum(floor) > 0 else None
    peak = timing.peak_bytes / 2**20 if timing.peak_bytes >= 0 else None
    values = {
        "seqs_per_second": n / timing.seconds,
        "peak_mb": peak,
        "forward_per_seq": fwd,
        "backward_per_seq": bwd,
        "floor_ratio": ratio,
    }
    columns = {c: _column(values[c], COLUMNS[c], n) for c in COLUMNS}
    extra = {
        "seconds": timing.seconds,
        "peak_bytes": timing.peak_bytes,
        "forward_calls": passes.forward_calls,
        "backward_calls": passes.backward_calls,
        "floor": list(floor) if floor else None,
        "examples": pack_examples(ds.ids, ds.X, attr, ds.ground_truth, setup.task.alphabet.letters),
    }
    return Record(
        key,
        "ok",
        True,
        values["seqs_per_second"],
        n_scored=n,
        columns=columns,
        extra=extra,
        device=timing.device,
        wall_time=timing.seconds,
    )


def run_bench(
    task: str,
    model: str,
    methods: list[str],
    device: str = "cpu",
    n: int = 64,
    batch_size: int = 64,
    seed: int = 0,
    store: ResultStore | None = None,
    checkpoint_dir: Path | None = None,
    force: bool = False,
) -> list[Record]:
    """Bench every method of ``methods`` on ``n`` seeded test sequences; write records to ``store``."""
    from attrbench.core.plugin import METHODS
    from attrbench.reporting.explain import prepare
    from attrbench.running.runner import resolve_names, select
    from attrbench.running.training import predict

    setup = prepare(task, model, device, checkpoint_dir)
    ds = select(setup.task.data("test"), n, seed)
    if ds.ground_truth is None and setup.task.ground_truth is not None:
        ds.ground_truth = setup.task.ground_truth(ds)
    target = predict(setup.model, ds.X).argmax(1)
    records = []
    for name in resolve_names(methods, METHODS):
        method = METHODS.get(name)
        key = _key(
            setup,
            ds,
            name,
            resolve_method_options(setup.task, method),
            setup.device,
            batch_size,
            seed,
        )
        found = None if force or store is None else store.get(key)
        if found is not None:
            records.append(found)
            continue
        state = _state(setup, method, seed)
        rec = bench_method(setup, method, ds, target, batch_size, seed, state)
        if store is not None:
            store.put(rec)
        records.append(rec)
    return records


def _state(setup: Setup, method: Method, seed: int) -> Any:
    """A learned method's fitted state, else None: the one ``attrbench run`` uses (shipped,
    else cached, else fitted now and cached: :func:`attrbench.reporting.explain.fitted_state`)."""
    if method.fit is None or method.why_not(setup.model):
        return None
    return fitted_state(setup, method, seed)
