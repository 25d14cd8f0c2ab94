"""Model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps").

An attribution map that explains the model must change when the model's weights
are destroyed. The layers of the model (the modules that hold parameters, in
registration order; the last is the top) are re-initialised cascading from the
top down, the method is called again on each randomised copy with the options it
ran with (less its per-input optimisation, :attr:`~attrbench.core.plugin.Method.rerun_options`,
unless ``refine_copies=True``), and the position scores of the copy are compared with those of the
trained model by the Spearman correlation over real positions. A method whose
map barely changes explains the input, not the model.

This is a pass/fail check, not a rank (it never enters a summary). The
randomised copies are drawn once per (model, seed, cascade step, draw) from a
generator that does not depend on the method (:func:`copy_generator`), so every
method is compared on the same copies, and there are ``draws`` (>= 3) of them.
The method is also re-run on the trained model itself (``same_model``): 1 for a
deterministic method, the method's own re-draw correlation for a stochastic one
(about 0 for the random control), so a map that is noise earns no credit for
"changing". The per-sequence score is ``drop = same_model - cascade_auc``, where
``cascade_auc`` is the area under the cascade curve (the mean of its steps,
top layer first, then the top 25/50/75% and all layers). A method PASSes when
the lower end of the cell's bootstrap interval of ``drop`` exceeds
:data:`PASS_DROP` (:func:`verdict`); a model-independent method has drop 0 and
FAILs, the random control has drop about 0 and FAILs.

By default the correlation is of the absolute position scores (Adebayo et al.'s
"absolute value" variant): a re-initialised output layer often flips the sign of
a whole map, which leaves its structure intact and would read as a strongly
negative (falsely "good") correlation on signed scores. ``absolute=False`` gives
the signed variant.

Columns: ``drop`` (the main score), ``cascade_auc``, ``same_model``, then the
cascade curve: ``top_1`` (the top layer only), ``top_25%``, ``top_50%``,
``top_75%`` (the top ceil(q * n_layers) layers) and ``full`` (every layer).

Re-initialisation draws: weights (and biases) uniform in
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

from attrbench.core.plugin import POSITIVE_INT, Explanation, NotApplicable, Option, register_metric
from attrbench.metrics._common import position_scores_of
from attrbench.metrics.shift import masked_pearson
from attrbench.reporting.stats import average_ranks
from attrbench.running.plan import seed_of

__all__ = [
    "layers",
    "reinitialise",
    "randomised_copy",
    "spearman",
    "reattribute",
    "randomization",
    "copy_generator",
    "shared_copy",
    "verdict",
    "COLUMNS",
    "DRAWS",
    "PASS_DROP",
]

COLUMNS = ("drop", "cascade_auc", "same_model", "top_1", "top_25%", "top_50%", "top_75%", "full")
#: Randomised copies per cascade step.
DRAWS = 3
#: A method PASSes when the lower end of its ``drop`` interval exceeds this.
PASS_DROP = 0.2
_FRACTIONS = {"top_25%": 0.25, "top_50%": 0.5, "top_75%": 0.75}


def layers(model: nn.Module) -> list[str]:
    """Names of the modules that hold parameters themselves, bottom (first registered) to top."""
    return [
        name for name, m in model.named_modules() if any(True for _ in m.parameters(recurse=False))
    ]


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
        draw = torch.rand(
            p.shape, generator=generator, device=generator.device, dtype=torch.float64
        )
        p.copy_((draw * 2 * b - b).to(p))


def randomised_copy(model: nn.Module, top: int, generator: torch.Generator) -> nn.Module:
    """A deep copy of ``model`` with its ``top`` highest layers re-initialised (see :func:`layers`)."""
    twin = copy.deepcopy(model)
    modules = dict(twin.named_modules())
    names = layers(twin)
    for name in reversed(names[len(names) - top :]):
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


def reattribute(
    ex: Explanation, model: nn.Module, batch_size: int, refine: bool = False
) -> torch.Tensor:
    """Position scores (N, L) of ``ex.method`` with ``ex.method_options`` on ``model``.

    The options are the method's re-run options (:meth:`~attrbench.core.plugin.Method.rerun`;
    ``refine``: as they ran). The method gets the cell's generator and background,
    and the reference the cell used (``ex.baseline``) when it has one. A learned
    method is refused: it is never refitted per randomised copy, and its fit to the
    trained model would not say whether the map follows the model.
    """
    if ex.method.fit is not None:
        raise NotApplicable(
            f"randomization: {ex.method.name} is fitted to the trained model "
            "and would need refitting on every randomised copy (never done per copy)"
        )
    X, mask, target = ex.X.to(ex.device), ex.mask.to(ex.device), ex.target.to(ex.device)
    out = []
    for lo in range(0, X.shape[0], batch_size):
        part = slice(lo, lo + batch_size)
        extra = {} if ex.baseline is None else {"baseline": ex.baseline[part]}
        options = {**ex.method.rerun(ex.method_options, refine), **extra}
        attr = ex.method(
            model,
            X[part],
            target[part],
            mask[part],
            generator=ex.generator,
            background=ex.background,
            **options,
        )
        out.append(position_scores_of(ex, attr.detach(), X[part]))
    return torch.cat(out)


def _cascade(n_layers: int) -> dict[str, int]:
    """Cascade column -> number of top layers re-initialised (top layer first, then down)."""
    steps = {"top_1": min(1, n_layers)}
    steps.update({c: math.ceil(q * n_layers) for c, q in _FRACTIONS.items()})
    steps["full"] = n_layers
    return steps


def copy_generator(ex: Explanation, seed: int, draw: int, top: int) -> torch.Generator:
    """The generator of randomised copy ``draw`` of ``ex.model`` with ``top`` layers re-drawn.

    It depends only on the model (its zoo name and checkpoint hash), the seed,
    the draw and the cascade step, never on the method: every method of a
    (model, seed) is compared on the same randomised copies.
    """
    model = ex.model
    name = getattr(model, "zoo_name", type(model).__name__)
    return torch.Generator().manual_seed(
        seed_of("randomization", seed, name, getattr(model, "checkpoint_hash", ""), draw, top)
    )


def shared_copy(ex: Explanation, seed: int, draw: int, top: int) -> nn.Module:
    """Randomised copy ``draw`` of ``ex.model`` (cached in ``ex.cache`` for the cell)."""
    cache = ex.cache.setdefault("randomization.copies", {})
    key = (seed, draw, top)
    if key not in cache:
        cache[key] = randomised_copy(ex.model, top, copy_generator(ex, seed, draw, top))
    model: nn.Module = cache[key]
    return model


@register_metric(
    "randomization",
    higher_is_better=True,
    columns=COLUMNS,
    column_directions={
        "cascade_auc": False,
        "same_model": True,
        "top_1": False,
        "top_25%": False,
        "top_50%": False,
        "top_75%": False,
        "full": False,
    },
    # refine_copies is left out of the defaults (they enter cell keys): off unless asked
    defaults={"batch_size": 32, "absolute": True, "cascade": True, "draws": DRAWS, "seed": 0},
    option_schema={
        "refine_copies": Option(bool),
        "batch_size": POSITIVE_INT,
        "absolute": Option(bool),
        "cascade": Option(bool),
        "draws": POSITIVE_INT,
        "seed": Option(int, low=0),
    },
    description="Adebayo et al. 2018 model-randomisation check (PASS / FAIL, never ranked).",
)
def randomization(
    ex: Explanation,
    batch_size: int = 32,
    absolute: bool = True,
    cascade: bool = True,
    draws: int = DRAWS,
    seed: int = 0,
    refine_copies: bool = False,
) -> torch.Tensor:
    """How much a method's map changes when the model's weights are destroyed (module notes).

    Parameters
    ----------
    ex : Explanation
    batch_size : int
        Sequences per call of the method.
    absolute : bool
        Correlate the absolute position scores (default) instead of the signed ones.
    cascade : bool
        The whole cascade (default); False computes only ``full`` (the other
        cascade columns NaN, ``cascade_auc`` = ``full``).
    draws : int
        Randomised copies per cascade step (at least 3 by default), shared by every method.
    seed : int
        Seed of the copies (with the model's name and checkpoint).
    refine_copies : bool
        Run the method's per-input optimisation on every copy (default: the re-run
        options, :meth:`~attrbench.core.plugin.Method.rerun`).

    Returns
    -------
    scores : torch.Tensor, shape=(N, 8), float64
        Columns ``drop`` (``same_model - cascade_auc``, the main score),
        ``cascade_auc``, ``same_model``, then the cascade ``top_1`` ... ``full``,
        each the mean over draws of the Spearman correlation.
    """
    names = layers(ex.model)
    if not names:
        raise NotApplicable("randomization: the model has no parameters to re-initialise")
    fold = torch.abs if absolute else (lambda v: v)
    reference, mask = fold(ex.scores.to(ex.device)), ex.mask.to(ex.device)
    same = spearman(reference, fold(reattribute(ex, ex.model, batch_size, refine_copies)), mask)
    steps = _cascade(len(names))
    done: dict[int, torch.Tensor] = {}
    out = {}
    for column, top in steps.items():
        if column != "full" and not cascade:
            continue
        if top not in done:
            done[top] = torch.stack(
                [
                    spearman(
                        reference,
                        fold(
                            reattribute(
                                ex, shared_copy(ex, seed, d, top), batch_size, refine_copies
                            )
                        ),
                        mask,
                    )
                    for d in range(draws)
                ]
            ).mean(0)
        out[column] = done[top]
    curve = torch.stack([out[c] for c in steps if c in out], 1)
    auc = curve.mean(1)
    nan = torch.full_like(same, float("nan"))
    cols = [same - auc, auc, same, *[out.get(c, nan) for c in steps]]
    return torch.stack(cols, 1)


def verdict(drop_low: float) -> str:
    """PASS when the lower end of the cell's interval of ``drop`` exceeds :data:`PASS_DROP`."""
    return "PASS" if math.isfinite(drop_low) and drop_low > PASS_DROP else "FAIL"
