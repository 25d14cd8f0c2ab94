"""End to end on the shipped utr5 model: the CLI, resume, plugins, and a real measurement."""

from __future__ import annotations

import pytest

from attrbench.cli import main
from attrbench.running import cell
from attrbench.running.fits import fits_dir
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run

FAST = [
    "--n",
    "12",
    "--quiet",
    "--option",
    "ig.n_steps=8",
    "--option",
    "inclusion_kl.n_samples=4",
    "--option",
    "occlusion_kl.n_samples=4",
]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_then_leaderboard_in_every_format(tmp_path, capsys):
    code, out, _ = cli(
        capsys,
        "run",
        "--task",
        "utr5",
        "--method",
        "saliency,ig,random",
        "--results",
        str(tmp_path),
        *FAST,
    )
    assert code == 0
    assert "| saliency" in out and "motif_recall ↑" in out and "s/seq ↓" in out
    assert "completeness" in out and "n/a [" in out  # saliency claims no completeness
    records = ResultStore(tmp_path).records("utr5")
    assert {r.key.method for r in records} == {"(model)", "saliency", "ig", "random"}
    assert all(r.status in ("ok", "not_applicable") for r in records)
    for fmt, marker in [
        ("markdown", "| method"),
        ("html", "<table"),
        ("latex", "\\begin{tabular}"),
        ("csv", "task,task_version,model,method"),
    ]:
        code, out, _ = cli(capsys, "leaderboard", "--results", str(tmp_path), "--format", fmt)
        assert code == 0 and marker in out, fmt
    assert "**" in cli(capsys, "leaderboard", "--results", str(tmp_path))[1]


def test_interrupted_run_resumes_without_redoing_cells(tmp_path, capsys, monkeypatch):
    args = [
        "run",
        "--task",
        "utr5",
        "--method",
        "saliency,grad_x_input",
        "--results",
        str(tmp_path),
        *FAST,
    ]
    real, calls = cell._score, []

    def interrupt_third(*a, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **kw)

    monkeypatch.setattr(cell, "_score", interrupt_third)
    code, _, err = cli(capsys, *args)
    assert code == 130 and "resume" in err
    first = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    assert first and not list(tmp_path.rglob(".tmp-*"))
    monkeypatch.setattr(cell, "_score", real)
    assert cli(capsys, *args)[0] == 0
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    assert len(after) > len(first)
    assert all(after[p] == t for p, t in first.items()), "finished cells must not be recomputed"
    full = tmp_path / "full"
    assert cli(capsys, *args[: -len(FAST) - 2], "--results", str(full), *FAST)[0] == 0
    assert len(list(full.rglob("*.json"))) == len(after)


PLUGIN = '''
import torch
from attrbench import register_method

@register_method("needs_attention_method", needs_attention=True)
def att(model, X, target, mask):
    """Position scores from the model's attention."""
    return model.attention_weights(X)[:, None, :].expand_as(X).clone()

@register_method("edge_method")
def edge(model, X, target, mask):
    """Scores the first real position only."""
    out = torch.zeros_like(X)
    out[:, :, 0] = X[:, :, 0]
    return out
'''


def test_plugin_file_method_runs_and_inapplicable_is_reported(tmp_path, capsys):
    path = tmp_path / "plugin.py"
    path.write_text(PLUGIN)
    code, out, err = cli(
        capsys,
        "run",
        "--plugin",
        str(path),
        "--task",
        "utr5",
        "--method",
        "edge_method,needs_attention_method",
        "--metric",
        "motif_recall",
        "--results",
        str(tmp_path / "r"),
        *FAST[:2],
        "--quiet",
    )
    assert code == 0, err
    assert "| edge_method" in out and "needs a model with attention" in out


def test_bad_names_are_errors_with_close_names(capsys):
    code, _, err = cli(capsys, "run", "--task", "utr5", "--method", "integrated_gradient")
    assert code == 2 and "unknown method" in err
    code, _, err = cli(capsys, "run", "--task", "utr", "--method", "ig")
    assert code == 2 and "did you mean 'utr5'" in err
    code, _, err = cli(capsys, "run", "--task", "utr5", "--model", "cnnn")
    assert code == 2 and "did you mean 'cnn'" in err


def test_list_commands(capsys):
    for what, name in [
        ("tasks", "utr5"),
        ("methods", "deepshap"),
        ("metrics", "motif_recall"),
        ("models", "cnn"),
    ]:
        code, out, _ = cli(capsys, "list", what)
        assert code == 0 and name in out


@pytest.fixture(scope="module")
def recall(tmp_path_factory):
    """motif_recall of ig, deeplift and random on 200 test sequences of the shipped utr5 model."""
    store = ResultStore(tmp_path_factory.mktemp("recall"))
    config = RunConfig(
        task="utr5",
        methods=["ig", "deeplift", "random"],
        metrics=["motif_recall"],
        n=200,
        seed=0,
        device="cpu",
        progress=False,
    )
    return {r.key.method: r for r in run(config, store) if r.key.metric == "motif_recall"}


@pytest.mark.parametrize("method", ["ig", "deeplift"])
def test_gradient_methods_find_the_planted_codons_better_than_random(recall, method):
    ours, rand = recall[method], recall["random"]
    # only sequences explained for their truth's class are scored (the cnn misclassifies 1 of 200)
    assert ours.status == "ok" and ours.n_scored + ours.n_missing == 200 and ours.n_scored >= 190
    assert ours.low > rand.high, (
        f"{method} {ours.value:.3f} [{ours.low:.3f}, {ours.high:.3f}] vs random {rand.value:.3f} [{rand.low:.3f}, {rand.high:.3f}]"
    )


FITTED = '''
import torch
from attrbench import register_method

FITS = []

def fit(model, train, background, generator, scale=1.0):
    FITS.append(len(train))
    return {"mean": train.X.mean(0) * scale}

@register_method("fitted_method", fit=fit, defaults={"scale": 1.0})
def fitted(model, X, target, mask, state, scale=1.0):
    """Attributions from a state fitted once per (task, model)."""
    return state["mean"].to(X)[None].expand_as(X) * mask[:, None, :]
'''


def test_fitted_method_fits_once_and_is_cached(tmp_path, capsys):
    from attrbench.core.plugin import METHODS
    from attrbench.core.registry import load_plugin_file

    path = tmp_path / "fitted.py"
    path.write_text(FITTED)
    load_plugin_file(path)
    try:
        module = METHODS.get("fitted_method").fit.__globals__
        args = [
            "run",
            "--task",
            "utr5",
            "--method",
            "fitted_method",
            "--metric",
            "motif_recall",
            "--results",
            str(tmp_path / "r"),
            "--n",
            "8",
            "--quiet",
        ]
        assert cli(capsys, *args)[0] == 0
        assert cli(capsys, *args, "--metric", "motif_auroc")[0] == 0
        assert module["FITS"] == [40_000], (
            "fit runs once on the training split, then comes from the cache"
        )
        assert len(list(fits_dir().rglob("*.pt"))) == 1, "cached in the user's fits folder"
        assert not (tmp_path / "r" / "fits").exists(), "not under --results"
        bench = [
            "bench",
            "--task",
            "utr5",
            "--method",
            "fitted_method",
            "--n",
            "8",
            "--threads",
            "1",
            "--results",
            str(tmp_path / "r"),
        ]
        assert cli(capsys, *bench)[0] == 0
        assert module["FITS"] == [40_000], "attrbench bench reads the run's fit"
        assert cli(capsys, *bench[:-1], str(tmp_path / "other"))[0] == 0
        assert module["FITS"] == [40_000], "another results directory reuses the cached fit"
        out = tmp_path / "fitted.png"
        assert (
            cli(
                capsys,
                "explain",
                "--task",
                "utr5",
                "--method",
                "fitted_method",
                "--sequence",
                "2start_2stop-001",
                "--out",
                str(out),
            )[0]
            == 0
        )
        assert module["FITS"] == [40_000] and out.stat().st_size > 0, "explain reads it too"
    finally:
        METHODS._items.pop("fitted_method", None)


BROKEN = '''
from attrbench import NotApplicable, register_method, register_metric

@register_method("refusing_method")
def refusing(model, X, target, mask):
    """Refuses every model at call time."""
    raise NotApplicable("refusing_method never explains a dilated CNN")

@register_metric("broken_metric")
def broken(ex):
    """Always raises."""
    raise ZeroDivisionError("boom")
'''


def test_refusals_and_failures_are_recorded_not_fatal(tmp_path, capsys):
    from attrbench.core.plugin import METHODS, METRICS

    path = tmp_path / "broken.py"
    path.write_text(BROKEN)
    try:
        code, out, err = cli(
            capsys,
            "run",
            "--plugin",
            str(path),
            "--task",
            "utr5",
            "--method",
            "refusing_method,saliency",
            "--metric",
            "broken_metric,motif_recall",
            "--results",
            str(tmp_path / "r"),
            "--n",
            "8",
            "--quiet",
        )
        assert code == 0
        assert (
            "never explains a dilated CNN" in out
            and "failed [" in out
            and "ZeroDivisionError: boom" in out
        )
        status = {
            (r.key.method, r.key.metric): r.status for r in ResultStore(tmp_path / "r").records()
        }
        assert status[("refusing_method", "motif_recall")] == "not_applicable"
        assert status[("saliency", "broken_metric")] == "failed"
        assert status[("saliency", "motif_recall")] == "ok"
    finally:
        METHODS._items.pop("refusing_method", None)
        METRICS._items.pop("broken_metric", None)


def test_task_caps_a_costly_method_on_the_default_n_only(tmp_path, capsys, monkeypatch):
    from attrbench.core.plugin import TASKS

    task = TASKS.get("utr5")
    monkeypatch.setattr(task, "method_n", {"ism": 3})
    args = [
        "run",
        "--task",
        "utr5",
        "--method",
        "saliency,ism",
        "--metric",
        "motif_recall",
        "--quiet",
    ]
    code, out, _ = cli(capsys, *args, "--results", str(tmp_path / "default"))
    assert code == 0
    n = {
        r.key.method: r.key.n
        for r in ResultStore(tmp_path / "default").records("utr5")
        if r.key.metric == "motif_recall"
    }
    assert n == {"saliency": task.default_n, "ism": 3}
    assert "ism (n=3) [1]" in out and "explained a seeded subset" in out
    code, out, _ = cli(capsys, *args, "--n", "5", "--results", str(tmp_path / "explicit"))
    n = {
        r.key.method: r.key.n
        for r in ResultStore(tmp_path / "explicit").records("utr5")
        if r.key.metric == "motif_recall"
    }
    assert n == {"saliency": 5, "ism": 5} and "ism (n=" not in out
