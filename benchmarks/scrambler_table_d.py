"""Seed 004 Table D on utr5: motif recall per logic set, paired against the scramblers.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/scrambler_table_d.py --n-per-set 100 [--kl]

Fits both scramblers on utr5's training split (their default options), explains
``--n-per-set`` sequences of each of the four logic sets with every method, and
prints per set the paper's motif recall (whole start + whole stop in the top 6)
with a 95% bootstrap interval, and the paired difference scrambler_inclusion -
method on the same sequences (paired bootstrap, 95%). ``--kl`` adds the
inclusion / occlusion KL (mean over q) on all explained sequences.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from attrbench.core.data import GroundTruth
from attrbench.core.plugin import METHODS, TASKS, Explanation
from attrbench.metrics.motif import motif_recall
from attrbench.metrics.perturbation import inclusion_kl, occlusion_kl
from attrbench.reporting.stats import bootstrap_mean
from attrbench.running.training import load_model

METHODS_D = ("scrambler_inclusion", "scrambler_occlusion", "saliency", "ig", "deepshap", "ism")


def _attribute(name, model, X, target, mask, bg, state, seed=0):
    method = METHODS.get(name)
    gen = torch.Generator().manual_seed(seed)
    base = method.reference(X, bg, gen, **method.defaults) if method.reference else None
    out = []
    for s in _slices(len(X), 100):
        kwargs = {"background": bg, "generator": gen, "state": state}
        if base is not None:
            kwargs["baseline"] = base[s]
        out.append(method(model, X[s], target[s], mask[s], **kwargs))
    return torch.cat(out), method


def _slices(n, step):
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-per-set", type=int, default=100)
    parser.add_argument("--kl", action="store_true")
    parser.add_argument("--methods", default=",".join(METHODS_D))
    parser.add_argument("--states", default=None, help="torch.save'd dict of fitted states")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = TASKS.get("utr5")
    train, test = task.data("train"), task.data("test")
    bg = task.background(train)
    model = load_model(task, "cnn")
    sets = np.array(test.extra["logic_set"])
    pick = np.concatenate(
        [np.flatnonzero(sets == s)[: args.n_per_set] for s in dict.fromkeys(sets)]
    )
    X, mask = test.X[pick], test.mask[pick]
    gt = GroundTruth([test.ground_truth.motifs[i] for i in pick])
    with torch.no_grad():
        target = model(X).argmax(1)
    states = torch.load(args.states, map_location="cpu", weights_only=True) if args.states else {}
    recall, kl = {}, {}
    for name in args.methods.split(","):
        method = METHODS.get(name)
        if method.fit is not None and name not in states:
            t = time.time()
            states[name] = method.fit(
                model,
                train,
                background=bg,
                generator=torch.Generator().manual_seed(0),
                **method.defaults,
            )
            print(f"fitted {name} in {time.time() - t:.0f} s")
        t = time.time()
        attr, method = _attribute(name, model, X, target, mask, bg, states.get(name))
        ex = Explanation(
            X=X,
            mask=mask,
            y=test.y[pick],
            target=target,
            attributions=attr,
            model=model,
            explain=None,
            method=method,
            background=bg,
            generator=torch.Generator().manual_seed(1),
            dataset=None,
            ground_truth=gt,
        )
        recall[name] = motif_recall(ex).numpy()
        if args.kl:
            kl[name] = (inclusion_kl(ex)[:, 0].mean().item(), occlusion_kl(ex)[:, 0].mean().item())
        print(f"{name}: {time.time() - t:.1f} s for {len(X)} sequences")
    _report(recall, sets[pick], kl)


def _report(recall: dict, sets: np.ndarray, kl: dict) -> None:
    ref = recall.get("scrambler_inclusion", next(iter(recall.values())))
    np.savez("/tmp/scrambler_recall.npz", sets=sets, **recall)
    print("| method | " + " | ".join(dict.fromkeys(sets)) + " |")
    print("|---" * (1 + len(set(sets))) + "|")
    for name, v in recall.items():
        cells = []
        for s in dict.fromkeys(sets):
            m = sets == s
            a = bootstrap_mean(v[m])
            d = bootstrap_mean(ref[m] - v[m])
            cells.append(
                f"{a.mean:.2f} [{a.low:.2f}, {a.high:.2f}]; Δinc {d.mean:+.2f} "
                f"[{d.low:+.2f}, {d.high:+.2f}]"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    for name, (inc, occ) in kl.items():
        print(f"KL {name}: inclusion {inc:.3f}  occlusion {occ:.3f}")


if __name__ == "__main__":
    main()
