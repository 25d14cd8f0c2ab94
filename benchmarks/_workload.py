"""Workloads the threads benchmark runs in fresh processes (thread settings are read at import).

``python benchmarks/_workload.py utr5``: the cells of a small utr5 job on its CNN
(64 sequences: ig, deepshap, inclusion and occlusion KL of the ig map).
``python benchmarks/_workload.py psl_kl``: one psl inclusion-KL cell on
``bilstm_att`` (8 proteins of 400 residues, 4 fractions x 32 samples).
Prints ``{"wall": s, "cpu": s, "threads": n}`` of the work (imports excluded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

import attrbench_tasks  # noqa: E402
from attrbench.core.data import Background  # noqa: E402
from attrbench.core.plugin import METHODS, Explanation, Method  # noqa: E402
from attrbench.metrics.perturbation import inclusion_kl, occlusion_kl  # noqa: E402
from attrbench.testing import random_onehot  # noqa: E402


def _load(build, task: str, name: str) -> torch.nn.Module:
    model = build()
    path = Path(attrbench_tasks.__file__).parent / "checkpoints" / task / f"{name}.pt"
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    return model.eval()


def _explanation(model, X, mask, attributions, background) -> Explanation:
    with torch.no_grad():
        target = model(X).argmax(1)
    return Explanation(
        X=X,
        mask=mask,
        y=target,
        target=target,
        attributions=attributions,
        model=model,
        explain=None,
        method=Method("given", None),
        background=background,
        generator=torch.Generator().manual_seed(0),
        dataset=None,
    )


def utr5() -> None:
    from attrbench_tasks.utr5 import _build_cnn

    model = _load(_build_cnn, "utr5", "cnn")
    X, mask = random_onehot(64, 50, seed=0)
    background = Background(torch.full((4,), 0.25))
    with torch.no_grad():
        target = model(X).argmax(1)
    attr = METHODS.get("ig")(model, X, target, mask)
    METHODS.get("deepshap")(
        model, X, target, mask, background=background, generator=torch.Generator().manual_seed(1)
    )
    ex = _explanation(model, X, mask, attr, background)
    inclusion_kl(ex)
    occlusion_kl(ex)


def psl_kl() -> None:
    from attrbench_tasks.psl.models import build_model

    model = _load(lambda: build_model("bilstm_att"), "psl", "bilstm_att")
    X, mask = random_onehot(8, 400, seed=0, a=21)
    attr = torch.randn(X.shape, generator=torch.Generator().manual_seed(1))
    inclusion_kl(_explanation(model, X, mask, attr, Background(torch.full((21,), 1 / 21))))


if __name__ == "__main__":
    work = {"utr5": utr5, "psl_kl": psl_kl}[sys.argv[1]]
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    print(
        json.dumps(
            {
                "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu,
                "threads": torch.get_num_threads(),
            }
        )
    )
