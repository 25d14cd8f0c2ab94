"""Reports of the ``promoter`` task: the model table with its baselines."""

from __future__ import annotations

from pathlib import Path

from attrbench_tasks.common.baselines import model_table, zoo_rows

from .data import data

__all__ = ["model_rows", "models_report"]


def model_rows(checkpoint_dir: str | Path | None = None, models: list[str] | None = None,
               **data_options) -> list[dict]:
    """Baselines and zoo models on the test split, as records (see ``common.baselines``).

    Parameters
    ----------
    checkpoint_dir : Path, optional
        Where the checkpoints are (default: the shipped ones).
    models : list of str, optional
        Zoo models to score (default: every model with a checkpoint).
    **data_options
        Passed to ``data`` (e.g. ``fasta``).
    """
    from attrbench.plugin import TASKS

    train, test = data("train", **data_options), data("test", **data_options)
    return zoo_rows(TASKS.get("promoter"), train, test, checkpoint_dir, models)


def models_report(**options) -> str:
    """The model table in markdown (options: those of :func:`model_rows`)."""
    return model_table(model_rows(**options), "promoter models on the test split")
