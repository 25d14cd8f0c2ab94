"""Your model, your sequences: benchmark attribution methods on any PyTorch model.

:func:`evaluate` builds a :class:`~attrbench.core.plugin.Task` at run time from a
user's model and sequences (named ``user-<hash12>`` after the content of both),
registers it and runs it through :func:`attrbench.running.runner.run`, so records,
resume and metrics are those of every built-in task. :func:`wrap` adapts models
that read (N, L, A) or token ids to the contract's (N, A, L).

Every input is checked before any method runs; a bad one raises
:class:`UserInputError` with one line naming the file and what to do (the CLI
prints it and exits 2).
"""

from __future__ import annotations

import importlib
import math
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from attrbench.core.contract import Alphabet, SequenceError
from attrbench.core.data import Background, Dataset, GroundTruth, Motif, content_hash, fasta_records
from attrbench.core.tokens import kmer_ids, kmer_indicator

if TYPE_CHECKING:
    import pandas as pd

    from attrbench.core.plugin import Task
    from attrbench.running.results import Record

__all__ = [
    "ALPHABETS",
    "UserInputError",
    "UserModel",
    "UserData",
    "wrap",
    "evaluate",
    "per_sequence",
    "encode_sequences",
    "read_truth",
    "read_labels",
    "load_user_model",
    "user_task",
    "frame",
]

#: The alphabets a user's sequences may be in (``alphabet=`` / ``--alphabet``).
ALPHABETS = {
    "dna": Alphabet("dna", "ACGT"),
    "rna": Alphabet("rna", "ACGU"),
    "protein": Alphabet(
        "protein", "ACDEFGHIKLMNPQRSTVWYX", (("B", "X"), ("Z", "X"), ("U", "X"), ("O", "X"))
    ),
}

#: Version of user tasks (bumped when the way they are built changes scores).
VERSION = "1"
#: The single zoo entry of a user task.
MODEL = "model"


class UserInputError(ValueError):
    """A user's model, sequences, truth or labels cannot be used; the message says what to do."""


# --------------------------------------------------------------------------- models


class UserModel(nn.Module):
    """A user's model in the contract: X (N, A, L) -> logits (N, C); an (N,) output becomes (N, 1)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, C) of one-hot X (N, A, L)."""
        out: torch.Tensor = self.inner(X)
        return out[:, None] if out.dim() == 1 else out


class _NLA(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(X.transpose(1, 2))
        return out


class _Given(nn.Module):
    """Stands in for an embedding layer: returns the embeddings computed from X."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.weight = weight
        self.value: torch.Tensor | None = None

    def forward(self, ids: torch.Tensor) -> torch.Tensor | None:
        return self.value


class _Tokens(nn.Module):
    """A token model read differentiably from X: its embedding layer gets ``indicator @ W``."""

    def __init__(self, model: nn.Module, embedding: str, k: int):
        super().__init__()
        self.model, self.k, self.name = model, k, embedding
        layer = model.get_submodule(embedding)
        if not isinstance(layer, nn.Embedding):
            raise UserInputError(
                f"wrap: model.{embedding} is a {type(layer).__name__}, not an nn.Embedding"
            )
        parent, _, child = embedding.rpartition(".")
        self.given = _Given(layer.weight)
        setattr(model.get_submodule(parent) if parent else model, child, self.given)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        P = kmer_indicator(X, self.k)
        if P.shape[1] != self.given.weight.shape[0]:
            raise UserInputError(
                f"wrap: {X.shape[1]}**{self.k} = {P.shape[1]} k-mers but the embedding has "
                f"{self.given.weight.shape[0]} rows; pass the k the model was trained with"
            )
        self.given.value = P.transpose(1, 2) @ self.given.weight
        try:
            out: torch.Tensor = self.model(kmer_ids(X, self.k))
            return out
        finally:
            self.given.value = None


def wrap(
    model: nn.Module, layout: str = "NLA", *, embedding: str = "embedding", k: int = 1
) -> nn.Module:
    """Adapt ``model`` to read one-hot X (N, A, L).

    Parameters
    ----------
    model : nn.Module
    layout : {"NLA", "tokens"}
        ``"NLA"``: the model takes (N, L, A). ``"tokens"``: the model takes token
        ids (N, L - k + 1) of overlapping k-mers (``sum_j a_j A**(k-1-j)``) and
        embeds them with its ``nn.Embedding`` at ``embedding`` (a dotted name);
        the lookup is replaced by the same embedding written as a function of X,
        so gradient methods explain it.
    embedding : str
    k : int

    Returns
    -------
    model : nn.Module, X (N, A, L) -> the model's output
    """
    if layout == "NLA":
        return _NLA(model)
    if layout == "tokens":
        return _Tokens(model, embedding, k)
    raise UserInputError(f"wrap: layout {layout!r}: use 'NLA' or 'tokens'")


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise UserInputError(f"--model-class {spec}: write it as pkg.module:Factory")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UserInputError(f"--model-class {spec}: {exc}; put the module on PYTHONPATH") from None


def load_user_model(
    model_file: Path | None = None, model_class: str | None = None, weights: Path | None = None
) -> tuple[nn.Module, str]:
    """A model from a TorchScript file, or from a factory and a state dict (no unpickling).

    Returns
    -------
    model, digest : the module and the content hash of its weights
    """
    if model_file is not None:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*deprecated.*")
                model = torch.jit.load(str(model_file), map_location="cpu")
        except Exception as exc:
            raise UserInputError(
                f"--model-file {model_file}: not a TorchScript file ({_last_line(exc)}); "
                "save your model with torch.jit.save(torch.jit.script(model), PATH), or pass "
                "--model-class pkg.module:Factory --weights state_dict.pt"
            ) from None
        return model, _weights_digest(model)
    if model_class is None or weights is None:
        raise UserInputError(
            "give --model-file TORCHSCRIPT, or --model-class pkg.module:Factory --weights FILE"
        )
    model = _import(model_class)()
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        if (
            isinstance(state, dict)
            and "state_dict" in state
            and isinstance(state["state_dict"], dict)
        ):
            state = state["state_dict"]
        model.load_state_dict(state)
    except Exception as exc:
        raise UserInputError(
            f"--weights {weights}: does not match {model_class} "
            f"({_last_line(exc)}); save model.state_dict() of that class"
        ) from None
    return model, _weights_digest(model)


def _last_line(exc: Exception, width: int = 160) -> str:
    """The last line of an exception's message (TorchScript's carry a traceback), shortened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= width else text[: width - 3] + "..."


def _weights_digest(model: nn.Module) -> str:
    """Content hash of the parameter names and values: the same weights give the same task
    name from Python, a TorchScript file or a state dict."""
    parts = []
    for name, t in model.state_dict().items():
        parts += [name, t.detach().cpu().contiguous().numpy().tobytes()]
    return content_hash(*parts)


# --------------------------------------------------------------------------- sequences


def _alphabet(alphabet: str | Alphabet) -> Alphabet:
    if isinstance(alphabet, Alphabet):
        return alphabet
    if alphabet not in ALPHABETS:
        raise UserInputError(f"--alphabet {alphabet}: use one of {', '.join(ALPHABETS)}")
    return ALPHABETS[alphabet]


def encode_sequences(sequences: Any, alphabet: Alphabet) -> tuple[torch.Tensor, list[str], str]:
    """Letter codes (N, L) int8 (-1 on padding), ids and a name for messages.

    ``sequences``: strings, a FASTA path, or one-hot (N, A, L).
    """
    if isinstance(sequences, torch.Tensor):
        if sequences.dim() != 3 or sequences.shape[1] != len(alphabet):
            raise UserInputError(
                f"sequences: a tensor of shape {tuple(sequences.shape)}; give one-hot (N, "
                f"{len(alphabet)}, L) for the {alphabet.name} alphabet"
            )
        ds = Dataset(
            sequences.float(),
            y=torch.zeros(len(sequences), dtype=torch.long),
            ids=[f"seq{i}" for i in range(len(sequences))],
        )
        return ds.codes, ds.ids, "sequences"
    if isinstance(sequences, (str, Path)) and Path(sequences).is_file():
        source = str(sequences)
        records = [
            (h.split()[0] if h.split() else f"seq{i}", s)
            for i, (_, h, s) in enumerate(fasta_records(Path(sequences), UserInputError))
        ]
    elif isinstance(sequences, (str, Path)):
        raise UserInputError(
            f"{sequences}: no such FASTA file; give a path, a list of strings or a tensor"
        )
    else:
        source = "sequences"
        records = [(f"seq{i}", str(s)) for i, s in enumerate(sequences)]
    if not records:
        raise UserInputError(f"{source}: no sequences")
    ids = [r[0] for r in records]
    if len(set(ids)) != len(ids):
        raise UserInputError(f"{source}: sequence names are not unique; name each record once")
    seqs = [r[1] for r in records]
    try:
        flat = alphabet.codes(seqs, ids)
    except SequenceError as exc:
        raise UserInputError(
            f"{source}: {exc}; use --alphabet for its letters or clean the file"
        ) from None
    lens = [len(s) for s in seqs]
    codes = torch.full((len(seqs), max(lens)), -1, dtype=torch.int8)
    off = 0
    for i, n in enumerate(lens):
        codes[i, :n] = torch.from_numpy(flat[off : off + n])
        off += n
    return codes, ids, source


def _motifs_of_mask(row: np.ndarray) -> list[Motif]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
    return [Motif("motif", int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)]


def read_truth(truth: Any, ids: list[str], lengths: list[int]) -> GroundTruth | None:
    """Ground truth from a BED file, per-sequence (start, end, kind) lists, or a bool mask (N, L)."""
    if truth is None:
        return None
    if isinstance(truth, (str, Path)):
        return _read_bed(Path(truth), ids, lengths)
    if isinstance(truth, (torch.Tensor, np.ndarray)):
        mask = np.asarray(truth, dtype=bool)
        if mask.ndim != 2 or mask.shape[0] != len(ids) or mask.shape[1] < max(lengths):
            raise UserInputError(
                f"truth: a mask of shape {mask.shape}; give (N, L) = ({len(ids)}, {max(lengths)})"
            )
        if any(mask[i, n:].any() for i, n in enumerate(lengths)):
            raise UserInputError("truth: the mask marks positions past the end of a sequence")
        return GroundTruth([_motifs_of_mask(r[:n]) for r, n in zip(mask, lengths, strict=True)])
    truth = list(truth)
    if len(truth) != len(ids):
        raise UserInputError(
            f"truth: {len(truth)} lists for {len(ids)} sequences; give one list per sequence"
        )
    motifs = []
    for i, row in enumerate(truth):
        motifs.append(
            [_motif(ids[i], int(s), int(e), str(kind), lengths[i], "truth") for s, e, kind in row]
        )
    return GroundTruth(motifs)


def _motif(seq: str, start: int, end: int, kind: str, length: int, source: str) -> Motif:
    if not 0 <= start < end <= length:
        raise UserInputError(
            f"{source}: interval {start}-{end} on {seq} is outside the sequence "
            f"(length {length}); use 0-based starts and exclusive ends"
        )
    return Motif(kind, start, end)


def _read_bed(path: Path, ids: list[str], lengths: list[int]) -> GroundTruth:
    """BED: ``name start end [kind]`` per line, 0-based, end exclusive; ``#``/track lines skipped."""
    if not path.is_file():
        raise UserInputError(f"--truth {path}: no such file")
    index = {s: i for i, s in enumerate(ids)}
    motifs: list[list[Motif]] = [[] for _ in ids]
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        where = f"{path}:{lineno}"
        if len(fields) < 3 or not fields[1].isdigit() or not fields[2].isdigit():
            raise UserInputError(f"{where}: not a BED line (name, start, end[, kind])")
        if fields[0] not in index:
            raise UserInputError(
                f"{where}: sequence {fields[0]!r} is not in the FASTA; name a record of it"
            )
        i = index[fields[0]]
        kind = fields[3] if len(fields) > 3 and fields[3] else "motif"
        motifs[i].append(_motif(fields[0], int(fields[1]), int(fields[2]), kind, lengths[i], where))
    return GroundTruth(motifs)


def read_labels(labels: Any, ids: list[str]) -> torch.Tensor | None:
    """True classes (N,) int64 from a sequence of ints or a TSV of ``name<TAB>class index``."""
    if labels is None:
        return None
    if isinstance(labels, (str, Path)):
        path = Path(labels)
        if not path.is_file():
            raise UserInputError(f"--labels {path}: no such file")
        table = {}
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            fields = line.split("\t") if "\t" in line else line.split()
            if not fields or line.startswith("#"):
                continue
            if len(fields) < 2 or not fields[1].lstrip("-").isdigit():
                raise UserInputError(f"{path}:{lineno}: write 'name<TAB>class index'")
            table[fields[0]] = int(fields[1])
        missing = [s for s in ids if s not in table]
        if missing:
            raise UserInputError(
                f"--labels {path}: no label for {missing[0]} ({len(missing)} missing)"
            )
        return torch.tensor([table[s] for s in ids], dtype=torch.long)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    if y.shape != (len(ids),):
        raise UserInputError(
            f"labels: shape {tuple(y.shape)}; give one class index per sequence ({len(ids)})"
        )
    return y


# --------------------------------------------------------------------------- checks


def check_model(model: nn.Module, codes: torch.Tensor, alphabet: Alphabet, source: str) -> int:
    """Run the model on a few sequences; the number of outputs C, or :class:`UserInputError`."""
    X = Dataset(
        codes=codes[:4],
        n_letters=len(alphabet),
        y=torch.zeros(min(4, len(codes))),
        ids=[""] * min(4, len(codes)),
    ).X
    try:
        with torch.no_grad():
            out = model.eval()(X)
    except Exception as exc:
        raise UserInputError(
            f"{source}: the model fails on one-hot input of shape (N, {len(alphabet)}, L) for the "
            f"{alphabet.name} alphabet ({_last_line(exc)}); check --alphabet, or "
            "adapt it with attrbench.wrap(model, layout='NLA'|'tokens')"
        ) from None
    if not isinstance(out, torch.Tensor) or out.dim() not in (1, 2) or out.shape[0] != len(X):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserInputError(
            f"{source}: the model returns {shape} for {len(X)} sequences; it must return logits "
            "(N, C) or one output (N,)"
        )
    if not torch.isfinite(out).all():
        raise UserInputError(
            f"{source}: the model returns NaN or inf on valid input; fix the model or its weights"
        )
    return 1 if out.dim() == 1 else out.shape[1]


# --------------------------------------------------------------------------- task


@dataclass
class UserData:
    """A user's checked inputs: everything a user task is built from."""

    model: nn.Module
    model_digest: str
    alphabet: Alphabet
    dataset: Dataset
    n_classes: int
    background: Background | None = None

    @property
    def name(self) -> str:
        """``user-<hash12>``: the content hash of model and sequences (truth and labels included)."""
        gt = self.dataset.ground_truth
        truth = repr(gt.motifs) if gt is not None else ""
        bg = self.background.probs if self.background is not None else ""
        return (
            "user-"
            + content_hash(self.model_digest, self.dataset.hash, truth, self.alphabet.letters, bg)[
                :12
            ]
        )


def prepare(
    model: nn.Module,
    sequences: Any,
    alphabet: str | Alphabet = "dna",
    target: Any = None,
    truth: Any = None,
    background: Any = None,
    model_digest: str | None = None,
    source: str | None = None,
) -> UserData:
    """Check and encode a user's inputs (raises :class:`UserInputError` on any bad one)."""
    abc = _alphabet(alphabet)
    codes, ids, seq_source = encode_sequences(sequences, abc)
    user = UserModel(model)
    n_classes = check_model(user, codes, abc, source or type(model).__name__)
    lengths = (codes >= 0).sum(1).tolist()
    gt = read_truth(truth, ids, lengths)
    y = read_labels(target, ids)
    if y is None:
        y = _predicted(user, codes, len(abc))
    elif (y < 0).any() or (y >= n_classes).any():
        raise UserInputError(
            f"labels: class indices must be in 0..{n_classes - 1} (the model has {n_classes} outputs)"
        )
    ds = Dataset(codes=codes, n_letters=len(abc), y=y, ids=ids, ground_truth=gt)
    bg = _background(background, ds)
    digest = model_digest or _weights_digest(model)
    return UserData(user, digest, abc, ds, n_classes, bg)


def _predicted(model: nn.Module, codes: torch.Tensor, n_letters: int) -> torch.Tensor:
    X = Dataset(
        codes=codes, n_letters=n_letters, y=torch.zeros(len(codes)), ids=[""] * len(codes)
    ).X
    with torch.no_grad():
        return torch.cat([model(X[i : i + 256]).argmax(1) for i in range(0, len(X), 256)])


def _background(background: Any, ds: Dataset) -> Background | None:
    if background is None or isinstance(background, Background):
        return background
    X = background if isinstance(background, torch.Tensor) else None
    if X is None or X.dim() != 3 or X.shape[1] != ds.n_letters:
        raise UserInputError("background: give a Background or one-hot sequences (M, A, L)")
    return Background.from_dataset(X)


def user_task(data: UserData, checkpoint_dir: Path) -> Task:
    """The :class:`~attrbench.core.plugin.Task` of ``data``, its model saved as a checkpoint in
    ``checkpoint_dir`` (so the runner loads it like a zoo model)."""
    from attrbench.core.plugin import ModelSpec, Task
    from attrbench.running.training import save_checkpoint

    ds, name = data.dataset, data.name
    gt = ds.ground_truth
    metric_options: dict[str, dict[str, Any]] = {}
    if gt is not None:
        longest = max((len(m) for row in gt.motifs for m in row), default=6)
        metric_options = {"motif_recall": {"k": longest}, "logic_accuracy": {"k": longest}}
    task = Task(
        name=name,
        version=VERSION,
        alphabet=data.alphabet,
        classes=tuple(f"output{i}" for i in range(data.n_classes)),
        data=lambda split="test", **_: ds,
        models={MODEL: ModelSpec(MODEL, lambda: data.model)},
        default_model=MODEL,
        checkpoint_dir=Path(checkpoint_dir),
        ground_truth=(lambda d: d.ground_truth) if gt is not None else None,
        background=(lambda _: bg) if (bg := data.background) is not None else None,
        default_n=len(ds),
        metric_options=metric_options,
        description=f"your model on your {len(ds)} {data.alphabet.name} sequences",
    )
    meta = {
        "task": name,
        "model": MODEL,
        "task_version": VERSION,
        "config": {},
        "data_hash": ds.hash,
    }
    save_checkpoint(data.model, meta, Path(checkpoint_dir) / f"{MODEL}.pt")
    return task


def register(data: UserData, root: Path) -> Task:
    """Build the user task (checkpoint under ``root/.user/<name>``) and register it, once per name."""
    from attrbench.core.plugin import TASKS

    task = user_task(data, Path(root) / ".user" / data.name)
    if task.name in TASKS:
        TASKS._items[task.name] = task  # same content hash: the same task, rebuilt in this process
    else:
        TASKS.add(task.name, task, __name__)
    return task


# --------------------------------------------------------------------------- evaluate

#: Columns of the frame :func:`evaluate` returns.
COLUMNS = ("method", "metric", "value", "ci_low", "ci_high", "n", "status", "reason", "seconds")


def evaluate(
    model: nn.Module,
    sequences: Any,
    *,
    alphabet: str | Alphabet = "dna",
    target: Any = None,
    truth: Any = None,
    background: Any = None,
    methods: str | Sequence[str] = "all",
    metrics: str | Sequence[str] = "all",
    n: int | None = None,
    seed: int = 0,
    device: str = "auto",
    results: str | Path | None = None,
    batch_size: int = 64,
    options: dict[str, dict[str, Any]] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Benchmark attribution methods on ``model`` and ``sequences``.

    Parameters
    ----------
    model : nn.Module
        Maps one-hot X (N, A, L) to logits (N, C) or one output (N,); see :func:`wrap`.
    sequences : list of str, FASTA path, or torch.Tensor, shape=(N, A, L)
        Variable lengths are right-padded and masked.
    alphabet : {"dna", "rna", "protein"} or Alphabet
    target : sequence of int or TSV path, optional
        True classes (``name<TAB>class`` in a TSV); default: the model's predictions
        (then accuracy is 1 by construction). The explained class is always the
        predicted one, as in the built-in tasks.
    truth : BED path, list of lists of (start, end, kind), or bool (N, L), optional
        Ground-truth motifs. Without it, the ground-truth metrics are n/a with the reason.
    background : Background or torch.Tensor (M, A, L), optional
        Reference distribution (default: letter frequencies per position of ``sequences``).
    methods, metrics : "all" or list of names
    n : int, optional
        Sequences explained (default all).
    seed : int
    device : str
    results : path, optional
        A results directory: records are written there exactly as ``attrbench run``
        writes them (``leaderboard``, ``compare``, ``publish`` read them); reruns reuse them.
    options : dict of dict, optional
        Options per method or metric name, as ``--option NAME.KEY=VALUE``.

    Returns
    -------
    frame : pandas.DataFrame
        One row per (method, metric) with :data:`COLUMNS`; ``frame.attrs["records"]``
        holds the records, read by :func:`per_sequence`.
    """
    data = prepare(model, sequences, alphabet, target, truth, background)
    return run_user(data, methods, metrics, n, seed, device, results, batch_size, options, progress)


def run_user(
    data: UserData,
    methods: Any = "all",
    metrics: Any = "all",
    n: int | None = None,
    seed: int = 0,
    device: str = "auto",
    results: str | Path | None = None,
    batch_size: int = 64,
    options: dict[str, Any] | None = None,
    progress: bool = False,
    executor: Any = None,
    force: bool = False,
) -> pd.DataFrame:
    """Run a checked user task through the runner; the records as a frame (see :func:`evaluate`)."""
    from attrbench.core.plugin import METHODS, METRICS
    from attrbench.running.results import ResultStore
    from attrbench.running.runner import RunConfig, run

    options = options or {}
    with tempfile.TemporaryDirectory(prefix="attrbench-") as tmp:
        store = ResultStore(Path(results) if results is not None else Path(tmp))
        task = register(data, store.root)
        config = RunConfig(
            task=task.name,
            models=[MODEL],
            methods=_names(methods),
            metrics=_names(metrics),
            n=-1 if n is None else n,
            seed=seed,
            device=device,
            batch_size=batch_size,
            force=force,
            method_options={k: v for k, v in options.items() if k in METHODS},
            metric_options={k: v for k, v in options.items() if k in METRICS},
            checkpoint_dir=task.checkpoint_dir,
            progress=progress,
        )
        records = run(config, store, executor)
    return frame(records)


def _names(names: str | Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def frame(records: list[Record]) -> pd.DataFrame:
    """A long-form frame of records: one row per (method, metric), cost and quality rows included."""
    import pandas as pd

    rows = []
    for r in records:
        k = r.key
        seconds = r.extra.get("seconds", r.wall_time) if r.extra else r.wall_time
        rows.append(
            {
                "method": k.method,
                "metric": k.metric,
                "value": _num(r.value),
                "ci_low": _num(r.low),
                "ci_high": _num(r.high),
                "n": r.n_scored if r.status == "ok" else k.n,
                "status": r.status,
                "reason": r.reason,
                "seconds": float(seconds or 0.0),
            }
        )
    df: pd.DataFrame = pd.DataFrame(rows, columns=list(COLUMNS))
    df.attrs["records"] = list(records)
    return df


def _num(v: float | None) -> float:
    return math.nan if v is None else float(v)


def per_sequence(df: Any, method: str | None = None, metric: str | None = None) -> Any:
    """Every sequence's score behind a frame of :func:`evaluate`: columns method, metric, column,
    sequence, value (one row per sequence and metric column)."""
    import pandas as pd

    rows = []
    for r in df.attrs.get("records", []):
        values = r.sequence_values()
        if (
            values is None
            or (method and r.key.method != method)
            or (metric and r.key.metric != metric)
        ):
            continue
        for column, scores in values.columns.items():
            rows += [
                {
                    "method": r.key.method,
                    "metric": r.key.metric,
                    "column": column,
                    "sequence": s,
                    "value": float(v),
                }
                for s, v in zip(values.ids, scores, strict=True)
            ]
    return pd.DataFrame(rows, columns=["method", "metric", "column", "sequence", "value"])
