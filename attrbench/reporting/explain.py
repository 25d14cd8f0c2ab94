"""``attrbench explain``: one sequence's attributions under several methods, as one figure.

The sequence is a task sequence (by id) or a user's FASTA record, encoded with
the task's alphabet; every method attributes the predicted class with the
options, reference and background the runner gives it (:mod:`attrbench.running.calling`); the figure
stacks one logo (or heatmap row, for long sequences) per method, ground-truth
motifs shaded, the predicted class and its probability in the title.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrbench.core.contract import SequenceError
from attrbench.core.data import Background, Dataset, GroundTruth, fasta_records
from attrbench.core.plugin import METHODS, Method, Task, _accepted
from attrbench.running.calling import call_method, resolve_method_options
from attrbench.running.fits import ensure_fit, load_fit, training_background

__all__ = [
    "Setup",
    "prepare",
    "attribute",
    "task_sequence",
    "fasta_sequence",
    "explain",
    "parse_region",
]


@dataclass
class Setup:
    """A task's model and data as the runner uses them."""

    task: Task
    model: nn.Module
    train: Dataset
    background: Background
    device: torch.device
    checkpoint_dir: Path | None = None


def prepare(
    task_name: str,
    model_name: str = "default",
    device: str = "cpu",
    checkpoint_dir: Path | None = None,
) -> Setup:
    """Load ``task_name``'s training split, background and model ``model_name`` on ``device``."""
    from attrbench.core.plugin import TASKS
    from attrbench.running.timing import resolve_device
    from attrbench.running.training import load_model

    task = TASKS.get(task_name)
    name = task.default_model if model_name == "default" else model_name
    dev = resolve_device(device)
    train = task.data("train")
    background = training_background(task, train)
    model = load_model(task, name, dev, checkpoint_dir, train.hash)
    return Setup(task, model, train, background, dev, checkpoint_dir)


def attribute(
    setup: Setup,
    method: Method,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator,
    options: dict[str, Any] | None = None,
    state: Any = None,
) -> torch.Tensor:
    """Attributions (N, A, L), on the CPU, of ``method`` called as the runner calls it.

    ``options`` are the user's: they are resolved over the method's and the task's
    defaults (:func:`attrbench.running.calling.resolve_method_options`), then the method is
    called through :func:`attrbench.running.calling.call_method` (reference drawn first).
    """
    mopts = resolve_method_options(setup.task, method, options)
    X, target, mask = (t.to(setup.device) for t in (X, target, mask))
    return call_method(
        setup.model,
        method,
        X,
        target,
        mask,
        options=mopts,
        background=setup.background,
        generator=generator,
        state=state,
    ).attributions.cpu()


def task_sequence(task: Task, seq_id: str) -> Dataset:
    """The task sequence named ``seq_id`` (test split first, then valid and train), with ground truth."""
    for split in ("test", "valid", "train"):
        try:
            ds = task.data(split)
        except (ValueError, FileNotFoundError):
            continue
        if seq_id in ds.ids:
            one = ds.subset([ds.ids.index(seq_id)])
            if one.ground_truth is None and task.ground_truth is not None:
                one.ground_truth = task.ground_truth(one)
            return one
    raise ValueError(
        f"task {task.name!r} has no sequence {seq_id!r} in its test, valid or train split"
    )


def fasta_sequence(task: Task, path: Path, length: int, record: str | None = None) -> Dataset:
    """One FASTA record (the first, or the one whose id is ``record``) encoded for ``task``.

    Its label ``y`` is unknown (-1); :func:`explain` sets it to the predicted class
    before asking the task for ground truth (e.g. a sorting signal of that class).

    Letters outside the task's alphabet and sequences longer than ``length``
    raise :class:`attrbench.core.contract.SequenceError` naming the record (and position).
    """
    for _, header, seq in fasta_records(Path(path)):
        name = header.split()[0] if header else header
        if record is None or name == record:
            if len(seq) > length:
                raise SequenceError(
                    f"{path}: record {name!r} has {len(seq)} letters; task {task.name!r} reads "
                    f"sequences of at most {length}: put the part to explain in the FASTA record"
                )
            X = task.alphabet.encode([seq], length, ids=[name])
            return Dataset(X=X, mask=X.sum(1) > 0, y=torch.full((1,), -1), ids=[name])
    raise ValueError(f"{path}: no record named {record!r}")


def parse_region(text: str | None) -> tuple[int, int] | None:
    """``"START:END"`` (0-based, END exclusive) -> ``(start, end)``."""
    if not text:
        return None
    start, sep, end = text.partition(":")
    if (
        not sep
        or not start.strip().isdigit()
        or not end.strip().isdigit()
        or int(end) <= int(start)
    ):
        raise ValueError(
            f"--region {text!r}: expected START:END with 0 <= START < END, e.g. 100:160"
        )
    return int(start), int(end)


def _ground_truth(task: Task, ds: Dataset, predicted: int) -> list[Any]:
    if ds.ground_truth is not None:
        return ds.ground_truth.motifs[0]
    if task.ground_truth is None:
        return []
    labelled = Dataset(X=ds.X, mask=ds.mask, y=torch.tensor([predicted]), ids=ds.ids)
    gt: GroundTruth | None = task.ground_truth(labelled)
    return gt.motifs[0] if gt is not None else []


def explain(
    setup: Setup,
    ds: Dataset,
    methods: list[str],
    out: Path | str,
    region: tuple[int, int] | None = None,
    seed: int = 0,
    heatmap: bool | None = None,
    hypothetical: bool = False,
) -> Path:
    """Draw the attributions of ``methods`` for the one sequence of ``ds`` into ``out``.

    Parameters
    ----------
    setup : Setup
    ds : Dataset
        One sequence (:func:`task_sequence` or :func:`fasta_sequence`).
    methods : list of str
        Method names; a method that cannot explain the model is drawn as an empty
        track labelled with the reason.
    out : Path
        ``.png``, ``.svg`` or ``.pdf``.
    region : (int, int), optional
        Positions ``start:end`` to draw.
    hypothetical : bool
        Draw the per-letter map (every letter at every position): the method's
        ``hypothetical=True`` output where it has that option (deepshap, deeplift,
        ig, grad_x_input), its own (A, L) map otherwise (ism, saliency are per
        letter already).

    Returns
    -------
    out : Path
    """
    from attrbench.reporting.plots import Track, draw_tracks
    from attrbench.running.training import predict

    probs = predict(setup.model, ds.X).softmax(1)[0]
    predicted = int(probs.argmax())
    motifs = _ground_truth(setup.task, ds, predicted)
    target = torch.tensor([predicted])
    codes = torch.where(ds.mask[0], ds.X[0].argmax(0), -1).numpy()
    tracks = []
    for name in methods:
        method = METHODS.get(name)
        reason = method.why_not(setup.model)
        if reason:
            tracks.append(Track(name, codes * 0.0, codes, motifs, note=f"not applicable: {reason}"))
            continue
        state = fitted_state(setup, method, seed)
        gen = torch.Generator().manual_seed(seed)
        opts = (
            {"hypothetical": True}
            if hypothetical and "hypothetical" in _accepted(method.fn)
            else None
        )
        attr = attribute(setup, method, ds.X, target, ds.mask, gen, options=opts, state=state)
        letter = attr[0].numpy() if hypothetical else None
        tracks.append(
            Track(name, (attr[0] * ds.X[0]).sum(0).numpy(), codes, motifs, letter_scores=letter)
        )
    if region is not None and region[1] > len(codes):
        raise ValueError(
            f"--region {region[0]}:{region[1]} ends after the sequence ({len(codes)} positions)"
        )
    classes = setup.task.classes
    title = (
        f"{setup.task.name} / {setup.model.zoo_name}: {ds.ids[0]}, predicted {classes[predicted]} "
        f"(p = {float(probs[predicted]):.3f})"
        + (f", true {classes[int(ds.y[0])]}" if ds.y[0] >= 0 else "")
    )
    return draw_tracks(tracks, setup.task.alphabet.letters, out, title, region, heatmap)


def fitted_state(
    setup: Setup, method: Method, seed: int, options: dict[str, Any] | None = None
) -> Any:
    """The fitted state of a method that learns, else None: shipped beside the checkpoints,
    else cached, else fitted now on the training split and cached
    (:func:`attrbench.running.fits.ensure_fit`), with the options
    :func:`attrbench.running.calling.resolve_method_options` gives."""
    if method.fit is None:
        return None
    mopts = resolve_method_options(setup.task, method, options)
    fit = ensure_fit(
        setup.task,
        setup.model,
        method,
        mopts,
        setup.train,
        setup.background,
        seed,
        setup.device,
        setup.checkpoint_dir,
    )
    return load_fit(fit.path, setup.device)
