"""Reports of the ``psl`` task: the model table (the paper's Table 1 on our data).

:func:`model_rows` returns the numbers as records (one dict per model and
attention intervention); :func:`models_report` renders them as a markdown table.
Every zoo model is loaded from its shipped checkpoint and scored on the test
split (accuracy, F1 micro, F1 macro), next to two baselines trained here:
the majority class and a logistic regression on amino-acid composition. Each
model with learned or preset attention is also scored with its attention
replaced at inference by uniform, permuted (a seeded permutation of its weights
over the real residues) and random (seeded, normalized) weights.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), Table 1.
Vashishth, S. et al. (2019). Attention interpretability across NLP tasks.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from tabulate import tabulate
from torch import nn

from attrbench.data import Dataset
from attrbench.stats import classification_scores
from attrbench.training import predict

from .data import CLASSES, data
from .models import AttentionNet, _uniform

__all__ = [
    "ATTENTION_MODELS", "INTERVENTIONS", "model_rows", "models_report", "baseline_rows", "intervention_logits",
]

#: Models whose attention the interventions replace (learned, or preset from bilstm_att).
ATTENTION_MODELS = ("bilstm_att", "cnn_bilstm_small_att", "cnn_bilstm_big_att", "mlp_trained", "mlp_preset")
INTERVENTIONS = ("uniform", "permuted", "random")


def intervention_logits(
    model: AttentionNet, X: torch.Tensor, generator: torch.Generator, batch_size: int = 256
) -> dict[str, torch.Tensor]:
    """Logits with the model's own attention and with each intervention.

    The features are computed once per batch and pooled with each set of weights.

    Parameters
    ----------
    model : AttentionNet
        In eval mode.
    X : torch.Tensor, shape=(N, 21, L)
    generator : torch.Generator
        Draws the permutations and random weights.

    Returns
    -------
    logits : dict of str to torch.Tensor, shape=(N, 13)
        Keys ``"own"`` and :data:`INTERVENTIONS`.
    """
    from attrbench_methods.attention import permute_weights, random_weights

    out: dict[str, list[torch.Tensor]] = {k: [] for k in ("own", *INTERVENTIONS)}
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            x = X[i : i + batch_size]
            enc = model.backbone(x)
            own = model.attend(enc, x)
            weights = {
                "own": own, "uniform": _uniform(enc.mask),
                "permuted": permute_weights(own, enc.mask, generator),
                "random": random_weights(enc.mask, generator),
            }
            for key, w in weights.items():
                out[key].append(model.classify(enc, w))
    return {k: torch.cat(v) for k, v in out.items()}


def _composition(ds: Dataset) -> torch.Tensor:
    """Amino-acid composition (N, 21): letter counts over length."""
    counts = ds.X.sum(2)
    return counts / counts.sum(1, keepdim=True).clamp(min=1)


def _logreg(train: Dataset, test: Dataset, l2: float = 1e-4) -> torch.Tensor:
    """Class-weighted multinomial logistic regression on composition; test predictions (N,).

    Zero initialization and full-batch L-BFGS: deterministic, no seed needed.
    """
    F_train, F_test = _composition(train), _composition(test)
    mean, std = F_train.mean(0), F_train.std(0).clamp(min=1e-6)
    F_train, F_test = (F_train - mean) / std, (F_test - mean) / std
    counts = torch.bincount(train.y, minlength=len(CLASSES)).float().clamp(min=1)
    weight = counts.sum() / (len(CLASSES) * counts)
    W = torch.zeros(F_train.shape[1], len(CLASSES), requires_grad=True)
    b = torch.zeros(len(CLASSES), requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(F_train @ W + b, train.y, weight=weight)
        loss = loss + l2 * W.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return (F_test @ W + b).argmax(1)


def baseline_rows(train: Dataset, test: Dataset) -> list[dict]:
    """Majority class and composition logistic regression, scored on ``test``."""
    majority = torch.full_like(test.y, int(torch.bincount(train.y).argmax()))
    rows = []
    for name, pred in (("majority", majority), ("logreg_composition", _logreg(train, test))):
        scores = classification_scores(test.y, pred, len(CLASSES))
        rows.append({"model": name, "kind": "baseline", "attention": "-", **scores,
                     "n": len(test), "train_seconds": None})
    return rows


def model_rows(
    seed: int = 0, checkpoint_dir: str | Path | None = None, path: str | Path | None = None,
    models: list[str] | None = None,
) -> list[dict]:
    """The model table as records: baselines, every zoo model, every attention intervention.

    Parameters
    ----------
    seed : int
        Seeds the permuted and random attention (one generator per model).
    checkpoint_dir : Path, optional
        Where the checkpoints are (default: the shipped ones).
    path : Path, optional
        A DeepLoc FASTA file instead of SCL2205 (its checkpoints must be trained on it).
    models : list of str, optional
        Zoo models to score (default: all).

    Returns
    -------
    rows : list of dict
        Keys ``model``, ``kind``, ``attention`` (``"own"``, ``"-"`` for models
        without attention and baselines, or an intervention), ``accuracy``,
        ``f1_micro``, ``f1_macro``, ``n``, ``train_seconds``.
    """
    from attrbench.plugin import TASKS
    from attrbench.training import load_model

    task = TASKS.get("psl")
    train, test = data("train", path=path), data("test", path=path)
    rows = baseline_rows(train, test)
    for name in models or list(task.models):
        model = load_model(task, name, directory=checkpoint_dir, train_hash=train.hash)
        seconds = model.checkpoint.get("train_seconds")
        if name in ATTENTION_MODELS:
            gen = torch.Generator().manual_seed(seed)
            logits = intervention_logits(model, test.X, gen)
        else:
            logits = {"-": predict(model, test.X)}
        for attention, lg in logits.items():
            scores = classification_scores(test.y, lg.argmax(1), len(CLASSES))
            rows.append({"model": name, "kind": model.kind, "attention": attention, **scores,
                         "n": len(test), "train_seconds": seconds})
    return rows


def models_report(**options) -> str:
    """The model table in markdown (options: those of :func:`model_rows`).

    One line per model: accuracy, F1 micro and F1 macro on the test split, then
    F1 micro / macro with the attention replaced by uniform, permuted and random
    weights (attention models only), and the training time.
    """
    rows = model_rows(**options)
    table: dict[str, dict] = {}
    for r in rows:
        line = table.setdefault(r["model"], {"model": r["model"], "kind": r["kind"]})
        if r["attention"] in ("own", "-"):
            line.update({"accuracy": r["accuracy"], "F1 micro": r["f1_micro"],
                         "F1 macro": r["f1_macro"]})
        else:
            line[f"F1 mi/ma {r['attention']}"] = f"{r['f1_micro']:.3f} / {r['f1_macro']:.3f}"
        seconds = r["train_seconds"]
        line["train min"] = f"{seconds / 60:.1f}" if seconds is not None else "-"
    headers = ["model", "kind", "accuracy", "F1 micro", "F1 macro",
               *(f"F1 mi/ma {k}" for k in INTERVENTIONS), "train min"]
    body = [[line.get(h, "-") for h in headers] for line in table.values()]
    n = rows[0]["n"] if rows else 0
    title = f"psl models on the test split (n = {n}); attention interventions at inference\n\n"
    return title + tabulate(body, headers=headers, tablefmt="github", floatfmt=".3f")


models_report.__signature__ = inspect.signature(model_rows)
