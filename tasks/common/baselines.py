"""Model tables of the DNA tasks: zoo models next to logistic-regression baselines.

Baselines (fitted here, deterministic: zero start, full-batch L-BFGS on
standardized features, small L2): ``logreg_gc`` on the GC content of each
window, ``logreg_kmer`` on the normalized counts of every k-mer with k = 1..4
(4 + 16 + 64 + 256 features). Each row gives accuracy with its 95 % bootstrap
interval, F1 macro, AUROC for binary tasks, and training minutes; a zoo model
whose accuracy does not exceed both baselines' is marked in the table.
"""

from __future__ import annotations

import torch
from tabulate import tabulate
from torch import nn

from attrbench.core.data import Dataset
from attrbench.core.plugin import Report
from attrbench.reporting.stats import average_ranks, bootstrap_mean, classification_scores

__all__ = [
    "models_report",
    "gc_features",
    "kmer_features",
    "logreg",
    "auroc",
    "score_row",
    "baseline_rows",
    "model_table",
]


def gc_features(X: torch.Tensor) -> torch.Tensor:
    """GC content (N, 1) of one-hot X (N, 4, L)."""
    return X[:, 1:3].sum((1, 2))[:, None] / X.sum((1, 2)).clamp(min=1)[:, None]


def kmer_features(X: torch.Tensor, max_k: int = 4) -> torch.Tensor:
    """Normalized counts (N, sum 4**k) of every k-mer, k = 1..max_k, of one-hot X (N, 4, L)."""
    feats, P = [], X
    for k in range(1, max_k + 1):
        if k > 1:
            T = X.shape[2] - k + 1
            P = (P[:, :, None, :T] * X[:, None, :, k - 1 : k - 1 + T]).reshape(len(X), -1, T)
        feats.append(P.sum(2) / P.shape[2])
    return torch.cat(feats, 1)


def logreg(
    F_train: torch.Tensor, y: torch.Tensor, F_test: torch.Tensor, n_classes: int, l2: float = 1e-4
) -> torch.Tensor:
    """Multinomial logistic regression fitted on ``F_train``; logits (M, n_classes) of ``F_test``."""
    mean, std = F_train.mean(0), F_train.std(0).clamp(min=1e-6)
    A, B = (F_train - mean) / std, (F_test - mean) / std
    W = torch.zeros(A.shape[1], n_classes, requires_grad=True)
    b = torch.zeros(n_classes, requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(A @ W + b, y) + l2 * W.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return B @ W + b


def auroc(y: torch.Tensor, score: torch.Tensor) -> float:
    """Area under the ROC curve of ``score`` (N,) for binary labels ``y`` (N,), ties averaged."""
    r = average_ranks(score.double().numpy())
    pos = y.numpy() == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def score_row(
    name: str,
    kind: str,
    y: torch.Tensor,
    logits: torch.Tensor,
    n_classes: int,
    seconds: float | None,
) -> dict:
    """One table row: accuracy [95 % CI], F1 macro, AUROC (binary), train minutes."""
    pred = logits.argmax(1)
    acc = bootstrap_mean((pred == y).double())
    row = {
        "model": name,
        "kind": kind,
        "accuracy": acc.mean,
        "acc_low": acc.low,
        "acc_high": acc.high,
        **classification_scores(y, pred, n_classes),
        "n": len(y),
        "train_minutes": None if seconds is None else seconds / 60,
    }
    if n_classes == 2:
        row["auroc"] = auroc(y, logits[:, 1] - logits[:, 0])
    return row


def baseline_rows(train: Dataset, test: Dataset, n_classes: int) -> list[dict]:
    """The GC and k-mer logistic regressions, scored on ``test``."""
    rows = []
    for name, feats in (("logreg_gc", gc_features), ("logreg_kmer", kmer_features)):
        logits = logreg(feats(train.X), train.y, feats(test.X), n_classes)
        rows.append(score_row(name, "baseline", test.y, logits, n_classes, None))
    return rows


def model_table(rows: list[dict], title: str) -> str:
    """Markdown table of baseline and model rows; models not above both baselines are marked."""
    best_base = max((r["accuracy"] for r in rows if r["kind"] == "baseline"), default=0.0)
    binary = any("auroc" in r for r in rows)
    headers = [
        "model",
        "kind",
        "accuracy [95% CI]",
        "F1 macro",
        *(["AUROC"] if binary else []),
        "train min",
        "beats baselines",
    ]
    body = []
    for r in rows:
        beats = "-" if r["kind"] == "baseline" else ("yes" if r["accuracy"] > best_base else "NO")
        body.append(
            [
                r["model"],
                r["kind"],
                f"{r['accuracy']:.3f} [{r['acc_low']:.3f}, {r['acc_high']:.3f}]",
                f"{r['f1_macro']:.3f}",
                *([f"{r['auroc']:.3f}"] if binary else []),
                "-" if r["train_minutes"] is None else f"{r['train_minutes']:.1f}",
                beats,
            ]
        )
    n = rows[0]["n"] if rows else 0
    return f"{title} (n = {n})\n\n" + tabulate(body, headers=headers, tablefmt="github")


def zoo_rows(
    task, train: Dataset, test: Dataset, checkpoint_dir=None, models: list[str] | None = None
) -> list[dict]:
    """Baselines and every zoo model with a checkpoint, scored on ``test``."""
    from attrbench.running.training import CheckpointError, load_model, predict

    n_classes = len(task.classes)
    rows = baseline_rows(train, test, n_classes)
    for name in models or list(task.models):
        try:
            model = load_model(task, name, directory=checkpoint_dir, train_hash=train.hash)
        except CheckpointError:
            continue
        logits = predict(model, test.X)
        rows.append(
            score_row(
                name, model.kind, test.y, logits, n_classes, model.checkpoint.get("train_seconds")
            )
        )
    return rows


def models_report(task_name: str, data) -> Report:
    """The ``models`` report of a task: baselines and zoo models on its test split.

    Parameters
    ----------
    task_name : str
        The registered task (looked up when the report runs).
    data : callable
        The task's ``data(split, **options)``.
    """

    def render(
        records: list | None = None,
        checkpoint_dir: str | None = None,
        models: list[str] | None = None,
        fasta: str | None = None,
        gff: str | None = None,
        path: str | None = None,
    ) -> str:
        """The model table in markdown; ``fasta``/``gff``/``path``: the task's data options."""
        from attrbench.core.plugin import TASKS

        options = {k: v for k, v in {"fasta": fasta, "gff": gff, "path": path}.items() if v}
        train, test = data("train", **options), data("test", **options)
        rows = zoo_rows(TASKS.get(task_name), train, test, checkpoint_dir, models)
        return model_table(rows, f"{task_name} models on the test split")

    return Report(
        "models",
        render,
        description=f"{task_name}: accuracy, F1 (and AUROC) of the "
        "zoo next to logistic regressions on GC content and on k-mer counts",
    )
