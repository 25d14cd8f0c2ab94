"""Test plugin: ``fit_counted``, a learned method whose fits and calls are counted.

``FITS`` gets the training-set size of every fit, ``CALLS`` ``(rows, refine)`` of every
call; ``refine`` stands for a per-input optimisation (like the scramblers' fine-tuning):
an explain-only option (``fit_ignores``) that re-runs on modified copies turn off
(``rerun_options``).
"""

import torch

from attrbench import register_method

FITS: list[int] = []
CALLS: list[tuple[int, int]] = []


def _fit(model, train, background, generator, scale: float = 2.0, **_) -> dict:
    FITS.append(len(train))
    return {"scale": torch.tensor(float(scale))}


@register_method(
    "fit_counted",
    fit=_fit,
    defaults={"scale": 2.0, "refine": 1},
    fit_ignores=("refine",),
    rerun_options={"refine": 0},
)
def fit_counted(model, X, target, mask, state=None, scale: float = 2.0, refine: int = 1):
    """The fitted scale times saliency; records ``(rows, refine)`` of the call."""
    from attrbench.core.plugin import METHODS

    CALLS.append((len(X), int(refine)))
    return METHODS.get("saliency")(model, X, target, mask) * state["scale"].to(X.device)
