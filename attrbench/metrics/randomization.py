"""Model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps").

An attribution map that explains the model must change when the model's weights
are destroyed. The layers of the model (the modules that hold parameters, in
registration order; the last is the top) are re-initialised cascading from the
top down, the method is called again on each randomised copy with the options it
ran with, and the position scores of the copy are compared with those of the
trained model by the Spearman correlation over real positions. A method whose
map barely changes explains the input, not the model: lower is better.

By default the correlation is of the absolute position scores (Adebayo et al.'s
"absolute value" variant): a re-initialised output layer often flips the sign of
a whole map, which leaves its structure intact and would read as a strongly
negative (falsely "good") correlation on signed scores. ``absolute=False`` gives
the signed variant.

Columns: ``full`` (every layer re-initialised, the main score), then the
cascade: ``top_1`` (the top layer only), ``top_25%``, ``top_50%``, ``top_75%``
(the top ceil(q * n_layers) layers).

Re-initialisation draws from ``ex.generator``: weights (and biases) uniform in
``+-1/sqrt(fan_in)``, PyTorch's default scale for linear, convolutional and
recurrent layers; normalisation layers are reset to their identity.

References
----------
Adebayo, J., Gilmer, J., Muelly, M., Goodfellow, I., Hardt, M., Kim, B. (2018).
Sanity checks for saliency maps. NeurIPS. https://arxiv.org/abs/1810.03292
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from attrbench.metrics._common import position_scores_of
from attrbench.metrics.shift import masked_pearson
from attrbench.plugin import POSITIVE_INT, Explanation, NotApplicable, Option, register_metric
from attrbench.stats import average_ranks

__all__ = ["layers", "reinitialise", "randomised_copy", "spearman", "reattribute", "randomization"]

COLUMNS = ("full", "top_1", "top_25%", "top_50%", "top_75%")
_FRACTIONS = {"top_25%": 0.25, "top_50%": 0.5, "top_75%": 0.75}


def layers(model: nn.Module) -> list[str]:
    """Names of the modules that hold parameters themselves, bottom (first registered) to top."""
    return [name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))]


@torch.no_grad()
def reinitialise(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw the parameters ``module`` holds itself from ``generator`` (in place).

    Parameters of dimension >= 2 and the biases next to them are uniform in
    ``+-1/sqrt(fan_in)`` (``fan_in`` = elements of one output row of the weight);
    a normalisation layer (one with only 1-D parameters) gets weight 1, bias 0.
    """
    params = dict(module.named_parameters(recurse=False))
    wide = [p for p in params.values() if p.dim() >= 2]
    if not wide:
        for name, p in params.items():
            p.fill_(1.0 if "weight" in name else 0.0)
        return
    bound = 1.0 / math.sqrt(wide[0][0].numel())
    for p in params.values():
        fan = p[0].numel() if p.dim() >= 2 else None
        b = 1.0 / math.sqrt(fan) if fan else bound
        draw = torch.rand(p.shape, generator=generator, device=generator.device, dtype=torch.float64)
        p.copy_((draw * 2 * b - b).to(p))


def randomised_copy(model: nn.Module, top: int, generator: torch.Generator) -> nn.Module:
    """A deep copy of ``model`` with its ``top`` highest layers re-initialised (see :func:`layers`)."""
    twin = copy.deepcopy(model)
    modules = dict(twin.named_modules())
    names = layers(twin)
    for name in reversed(names[len(names) - top:]):
        reinitialise(modules[name], generator)
    return twin.eval()


def spearman(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Spearman correlation of ``a`` and ``b`` (N, L) over the real positions of each row.

    Ties get the mean of their ranks. Returns (N,) float64; NaN where a row is
    constant on its real positions or has fewer than two.
    """
    ra, rb = (_ranks(v, mask) for v in (a, b))
    return masked_pearson(ra, rb, mask.cpu())


def _ranks(v: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    values = v.detach().double().cpu().numpy()
    m = mask.cpu().numpy()
    out = np.zeros_like(values)
    for i in range(values.shape[0]):
        out[i, m[i]] = average_ranks(values[i, m[i]])
    return torch.from_numpy(out)


def reattribute(ex: Explanation, model: nn.Module, batch_size: int) -> torch.Tensor:
    """Position scores (N, L) of ``ex.method`` with ``ex.method_options`` on ``model``.

    The method gets the cell's generator and background, and the reference the
    cell used (``ex.baseline``) when it has one.
    """
    if ex.method.fit is not None:
        raise NotApplicable(f"randomization: {ex.method.name} is fitted to the trained model "
                            "and would need refitting on every randomised copy")
    X, mask, target = ex.X.to(ex.device), ex.mask.to(ex.device), ex.target.to(ex.device)
    out = []
    for lo in range(0, X.shape[0], batch_size):
        part = slice(lo, lo + batch_size)
        extra = {} if ex.baseline is None else {"baseline": ex.baseline[part]}
        options = {**ex.method_options, **extra}
        attr = ex.method(model, X[part], target[part], mask[part], generator=ex.generator,
                         background=ex.background, **options)
        out.append(position_scores_of(ex, attr.detach(), X[part]))
    return torch.cat(out)


def _cascade(n_layers: int) -> dict[str, int]:
    """Column -> number of top layers re-initialised."""
    steps = {"full": n_layers, "top_1": min(1, n_layers)}
    steps.update({c: math.ceil(q * n_layers) for c, q in _FRACTIONS.items()})
    return steps


@register_metric(
    "randomization", higher_is_better=False, columns=COLUMNS,
    defaults={"batch_size": 32, "absolute": True, "cascade": True},
    option_schema={"batch_size": POSITIVE_INT, "absolute": Option(bool), "cascade": Option(bool)},
)
def randomization(
    ex: Explanation, batch_size: int = 32, absolute: bool = True, cascade: bool = True
) -> torch.Tensor:
    """Spearman correlation of position scores between the trained and re-initialised models.

    Parameters
    ----------
    ex : Explanation
    batch_size : int
        Sequences per call of the method.
    absolute : bool
        Correlate the absolute position scores (default) instead of the signed ones.
    cascade : bool
        Also the cascade columns (up to four more re-attributions); False leaves
        them NaN and costs one re-attribution.

    Returns
    -------
    correlation : torch.Tensor, shape=(N, 5), float64
        Columns ``full``, ``top_1``, ``top_25%``, ``top_50%``, ``top_75%``; NaN
        where a map is constant on the real positions.
    """
    names = layers(ex.model)
    if not names:
        raise NotApplicable("randomization: the model has no parameters to re-initialise")
    fold = torch.abs if absolute else (lambda v: v)
    reference, mask = fold(ex.scores.to(ex.device)), ex.mask.to(ex.device)
    done: dict[int, torch.Tensor] = {}
    out = []
    for column, top in _cascade(len(names)).items():
        if column != "full" and not cascade:
            out.append(torch.full_like(done[len(names)], float("nan")))
            continue
        if top not in done:
            twin = randomised_copy(ex.model, top, ex.generator)
            done[top] = spearman(reference, fold(reattribute(ex, twin, batch_size)), mask)
        out.append(done[top])
    return torch.stack(out, 1)
