"""``psl_planted``: SCL2205 with planted C-terminal sorting signals, labels following them.

On the real SCL2205 test split only 10 of 2,631 proteins carry a C-terminal
ER-retention or PTS1 signal in the matching class, and the shipped ``psl``
models do not use them (``truth_reliance`` +0.021 [-0.019, 0.061], n = 10), so
``psl``'s ground-truth columns are gated out. p-scldata ships no per-residue
annotations, and no registry package ships annotated signal peptides, transit
peptides or NLS offline, so this semi-synthetic variant makes a ground truth the
model uses *by construction*:

* in every split, a fixed share of proteins (:data:`RATE` per signal kind,
  :data:`SIGNALS`) is drawn by a seeded hash of the accession among proteins
  of other classes; each gets a canonical signal **appended** to its
  C-terminus (``KDEL``/``HDEL`` -> relabelled ``ER``; ``SKL``/``SRL``/``AKL``
  -> relabelled ``Peroxisome``) and its class (and ``extra["locations"]``)
  follows the signal;
* the ground truth is exactly the planted positions (the last 3 or 4 encoded
  residues of a planted protein: trimming keeps the C-terminal 500 residues);
  unplanted proteins carry none, natural signals included;
* every other protein, label and residue is SCL2205's.

A planted signal is the only evidence of its class in a protein drawn from
another class, so a model that fits the labels must read it: replacing the
planted residues by background draws removes the class. The real task
``psl`` stays the flagship and is unchanged; this task shares its data
loading, encoding, background, method options and architectures, with its own
checkpoints (``tasks/checkpoints/psl_planted/``) because its training labels
differ. Its zoo (:data:`MODELS`): ``bilstm`` (default; it reads the forward
state at the last residue, learns the signals from the first epoch and
predicts every planted held-out protein into its class) and ``bilstm_att``
(its attention pools about 500 positions and never learned them in 15
epochs: it predicts none of them into the planted class), both with
``psl``'s training configuration.

The draw is a pure function of (:data:`SEED`, split, accession): the same
proteins are planted on every machine and every run.
"""

from __future__ import annotations

import dataclasses
import functools

from attrbench.core.data import Dataset, GroundTruth, Motif, content_hash
from attrbench.core.plugin import ModelSpec, Task, register_task
from attrbench_tasks.common.alphabets import PROTEIN

from . import METHOD_OPTIONS, METRIC_OPTIONS
from . import data as psl_data
from . import models as psl_models

__all__ = [
    "SIGNALS",
    "RATE",
    "SEED",
    "MODELS",
    "CHECKPOINT_DIR",
    "plant",
    "planted_data",
    "ground_truth",
    "TASK",
]

#: Planted signal kinds: (kind, class they relabel to, the forms planted, cycled by hash).
SIGNALS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ER_retention", "ER", ("KDEL", "HDEL")),
    ("PTS1", "Peroxisome", ("SKL", "SRL", "AKL")),
)
#: Share of each split planted with each signal kind (exact: ``round(RATE * N)`` proteins).
RATE = 0.05
#: Seed of the planting draw.
SEED = 0
#: Zoo models of the variant (each trained on the planted training split); the first is the default.
MODELS = ("bilstm", "bilstm_att")
CHECKPOINT_DIR = psl_models.CHECKPOINT_DIR.parent / "psl_planted"


def _draw_order(ids: list[str], split: str, seed: int) -> list[int]:
    """Indices of ``ids`` sorted by a seeded hash of (seed, split, accession): the planting order."""
    keys = [content_hash(f"psl_planted:{seed}:{split}:{acc}") for acc in ids]
    return sorted(range(len(ids)), key=lambda i: (keys[i], ids[i]))


def plant(
    seqs: list[str],
    labels: list[str],
    ids: list[str],
    split: str,
    rate: float = RATE,
    seed: int = SEED,
) -> tuple[list[str], list[str], list[str]]:
    """Append signals to a seeded share of proteins and relabel them.

    For each kind of :data:`SIGNALS` in turn, the first ``round(rate * N)``
    proteins in the seeded hash order (:func:`_draw_order`) that are not of the
    kind's class and not planted yet get one of its forms (the forms cycle in
    draw order) appended, and the kind's class as label.

    Parameters
    ----------
    seqs, labels, ids : list of str
        Residues, class names and accessions of one split (N each).
    split : str
        Enters the hash, so the splits are drawn independently.
    rate : float
    seed : int

    Returns
    -------
    seqs, labels : list of str
        New lists (N each).
    planted : list of str
        The form planted in each protein, ``""`` for an unplanted one.
    """
    seqs, labels, planted = list(seqs), list(labels), [""] * len(seqs)
    order = _draw_order(ids, split, seed)
    k = round(rate * len(seqs))
    for _kind, cls, forms in SIGNALS:
        picked = [i for i in order if not planted[i] and labels[i] != cls][:k]
        for j, i in enumerate(picked):
            form = forms[j % len(forms)]
            seqs[i], labels[i], planted[i] = seqs[i] + form, cls, form
    return seqs, labels, planted


def _kind_of(form: str) -> str:
    """The signal kind of a planted form (``"KDEL"`` -> ``"ER_retention"``)."""
    return next(kind for kind, _cls, forms in SIGNALS if form in forms)


def ground_truth(ds: Dataset) -> GroundTruth:
    """The planted positions: the last ``len(form)`` encoded residues of each planted protein.

    Parameters
    ----------
    ds : Dataset
        With ``extra["planted"]`` (the form planted per protein, ``""`` if none).

    Returns
    -------
    gt : GroundTruth
        One motif (kind ``"ER_retention"`` or ``"PTS1"``) per planted protein.
    """
    ends = ds.mask.sum(1).tolist()  # the C-terminus: trimming keeps the last residues
    return GroundTruth(
        [
            [Motif(_kind_of(form), int(end) - len(form), int(end))] if form else []
            for form, end in zip(ds.extra["planted"], ends, strict=True)
        ]
    )


@functools.lru_cache(maxsize=3)
def _load(split: str) -> Dataset:
    """One planted split of SCL2205 (``p-scldata`` 2025.6.0), encoded; cached in process."""
    import scldata.loader as scl

    df = scl.load(psl_data.SPLITS[split])
    ids = [str(i) for i in df.index]
    seqs, labels, planted = plant(df["seq"].tolist(), df["scl"].tolist(), ids, split)
    ds = psl_data.make_dataset(seqs, labels, ids, extra={"planted": planted})
    return dataclasses.replace(ds, ground_truth=ground_truth(ds))


def planted_data(split: str) -> Dataset:
    """A split of the variant: SCL2205 with planted signals (see the module docstring).

    Returns
    -------
    ds : Dataset
        ``extra``: ``locations``, ``length`` (after planting), ``planted``; its
        ``ground_truth`` is the planted positions.
    """
    if split not in psl_data.SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(psl_data.SPLITS)}")
    ds = _load(split)
    return dataclasses.replace(ds, extra=dict(ds.extra))


def _zoo() -> dict[str, ModelSpec]:
    """The variant's models: ``psl``'s architectures, trained on the planted data."""
    return {
        name: ModelSpec(
            name=name,
            build=functools.partial(psl_models.build_model, name),
            config={"arch": psl_models.ARCHS[name], "train": psl_models.TRAIN[name]},
            description=f"{psl_models.zoo()[name].description}, trained on planted signals",
        )
        for name in MODELS
    }


def _letters_ok() -> None:
    """Every planted form is spelled in the task's alphabet (checked at import)."""
    for _kind, _cls, forms in SIGNALS:
        for form in forms:
            PROTEIN.codes([form], ["planted form"])


_letters_ok()

TASK = register_task(
    Task(
        name="psl_planted",
        version="1",
        alphabet=PROTEIN,
        classes=psl_data.CLASSES,
        data=planted_data,
        models=_zoo(),
        default_model=MODELS[0],
        checkpoint_dir=CHECKPOINT_DIR,
        ground_truth=ground_truth,
        background=psl_data.background,
        default_n=50,
        method_n={"ism": 8},
        description=(
            "psl with planted signals: KDEL/HDEL (-> ER) and SKL/SRL/AKL (-> Peroxisome) "
            f"appended to {RATE:.0%} of proteins per kind, labels following; ground truth: "
            "the planted positions"
        ),
        method_options=METHOD_OPTIONS,
        metric_options=METRIC_OPTIONS,
        ground_truth_n=1000,
    )
)
