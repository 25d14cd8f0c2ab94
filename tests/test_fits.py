"""Learned-method fits (:mod:`attrbench.running.fits`): shipped fits are used as they are, other fits are
cached once per user (not per results folder), a bad or mismatched file is never unpickled nor
used, and metrics that re-run a method never refit or refine it per copy unless asked."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
import torch

from attrbench.cli import main
from attrbench.core.plugin import METHODS, TASKS
from attrbench.core.registry import load_plugin_file
from attrbench.running import fits
from attrbench.running.calling import resolve_method_options
from attrbench.running.fits import (
    FITS_ENV,
    BadFit,
    cache_file,
    ensure_fit,
    fit_key,
    fits_dir,
    load_fit,
    read_fit,
    shipped_file,
    training_background,
)
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run
from attrbench.running.training import load_model

PLUGIN = Path(__file__).with_name("fits_plugin.py")
SHIPPED = Path(__file__).parents[1] / "tasks" / "checkpoints" / "utr5" / "cnn.pt"


class Payload:
    """Would write ``marker`` if it were ever unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


@pytest.fixture()
def counted():
    """The ``fit_counted`` plugin's module globals, its counters emptied."""
    if "fit_counted" not in METHODS.names():
        load_plugin_file(PLUGIN)
    module = METHODS.get("fit_counted").fn.__globals__
    module["FITS"].clear()
    module["CALLS"].clear()
    return module


@pytest.fixture()
def ckpt(tmp_path) -> Path:
    """A checkpoint folder of one's own holding the shipped utr5 CNN (no fits)."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    shutil.copy(SHIPPED, folder / "cnn.pt")
    return folder


def _run(results: Path, ckpt: Path | None, metric: str = "motif_recall", **kw) -> list:
    config = RunConfig(
        task="utr5",
        methods=["fit_counted"],
        metrics=[metric],
        n=4,
        device="cpu",
        progress=False,
        checkpoint_dir=ckpt,
        **kw,
    )
    records = run(config, ResultStore(results))
    assert {r.status for r in records if r.key.method == "fit_counted"} == {"ok"}
    return records


def _cost(records: list):
    (cost,) = [r for r in records if r.key.metric == "seconds_per_seq"]
    return cost


def test_the_fits_folder_is_the_env_var_else_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(FITS_ENV, str(tmp_path / "mine"))
    assert fits_dir() == tmp_path / "mine"
    monkeypatch.delenv(FITS_ENV)
    monkeypatch.setenv("ATTRBENCH_CACHE", str(tmp_path / "cache"))
    assert fits_dir() == tmp_path / "cache" / "fits"


def test_a_shipped_fit_is_loaded_without_fitting(counted, ckpt, tmp_path, capsys):
    """``train --fits`` writes the fit beside the checkpoints; a run then fits nothing."""
    code = main(
        ["train", "--task", "utr5", "--fits", "--out", str(ckpt), "--method", "fit_counted"]
    )
    assert code == 0
    assert counted["FITS"] == [40_000], "train --fits fits once on the training split"
    (shipped,) = (ckpt / "fits").rglob("*.pt")
    assert shipped.parent == ckpt / "fits" / "cnn" and shipped.name.startswith("fit_counted-")
    assert f"-> {shipped}" in capsys.readouterr().out
    saved = torch.load(shipped, weights_only=True)
    assert saved["meta"]["checkpoint_hash"] == load_model(TASKS.get("utr5"), "cnn").checkpoint_hash
    assert float(saved["state"]["scale"]) == 2.0
    records = _run(tmp_path / "r", ckpt)
    assert counted["FITS"] == [40_000], "the shipped fit is used: no fit call"
    assert not list(fits_dir().rglob("*.pt")), "nothing is cached"
    assert not (tmp_path / "r" / "fits").exists(), "nothing is written under --results"
    assert _cost(records).extra["fit_seconds"] == saved["seconds"], "the shipped fit's time counts"


def test_a_fit_is_cached_once_for_every_results_folder(counted, tmp_path, monkeypatch):
    monkeypatch.setenv(FITS_ENV, str(tmp_path / "cache"))
    first = _run(tmp_path / "r1", None)
    assert counted["FITS"] == [40_000]
    (cached,) = (tmp_path / "cache").rglob("*.pt")
    assert cached.parent == tmp_path / "cache" / "utr5" / "cnn"
    second = _run(tmp_path / "r2", None)
    assert counted["FITS"] == [40_000], "a fresh results folder does not refit"
    assert not (tmp_path / "r1" / "fits").exists() and not (tmp_path / "r2" / "fits").exists()
    seconds = torch.load(cached, weights_only=True)["seconds"]
    assert _cost(first).extra["fit_seconds"] == _cost(second).extra["fit_seconds"] == seconds
    bench = ["bench", "--task", "utr5", "--method", "fit_counted", "--n", "4", "--threads", "1"]
    assert main([*bench, "--results", str(tmp_path / "r3")]) == 0
    assert counted["FITS"] == [40_000], "attrbench bench reads the cached fit"


def test_a_new_explain_only_option_reuses_the_fit(counted, tmp_path):
    _run(tmp_path / "r", None)
    _run(tmp_path / "r", None, metric="motif_auroc", method_options={"fit_counted": {"refine": 3}})
    assert counted["FITS"] == [40_000], "refine is in fit_ignores: same fit"
    _run(tmp_path / "r", None, metric="motif_auprc", method_options={"fit_counted": {"scale": 3.0}})
    assert counted["FITS"] == [40_000, 40_000], "a fit option is another fit"
    assert len(list(fits_dir().rglob("*.pt"))) == 2


def _planted(ckpt: Path, counted, how: str, marker: Path) -> Path:
    """The path the shipped fit of fit_counted on ``ckpt`` would have, holding ``how``."""
    task = TASKS.get("utr5")
    train = task.data("train")
    model = load_model(task, "cnn", directory=ckpt)
    method = METHODS.get("fit_counted")
    key = fit_key(task, train, model, method, dict(method.defaults))
    path = shipped_file(key, ckpt)
    path.parent.mkdir(parents=True)
    if how == "payload":
        torch.save({"state": Payload(marker), "seconds": 1.0, "meta": key.fields()}, path)
    elif how == "truncated":
        torch.save({"state": {"scale": torch.tensor(5.0)}, "seconds": 1.0}, path)
        path.write_bytes(path.read_bytes()[:60])
    else:  # a sound file fitted for another checkpoint, under this key's name
        meta = {**key.fields(), "checkpoint_hash": "0" * 16}
        torch.save({"state": {"scale": torch.tensor(5.0)}, "seconds": 1.0, "meta": meta}, path)
    return path


@pytest.mark.parametrize("how", ["payload", "truncated", "mismatched"])
def test_a_bad_shipped_fit_is_named_never_run_and_passed_over(how, counted, ckpt, tmp_path, caplog):
    marker = tmp_path / "pwned"
    path = _planted(ckpt, counted, how, marker)
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        records = _run(tmp_path / "r", ckpt)
    assert not marker.exists(), "the payload ran"
    assert str(path) in caplog.text and "not using it" in caplog.text
    if how == "mismatched":
        assert "checkpoint_hash '0000000000000000'" in caplog.text
    assert counted["FITS"] == [40_000], "fitted once, into the cache"
    (cached,) = fits_dir().rglob("*.pt")
    assert float(torch.load(cached, weights_only=True)["state"]["scale"]) == 2.0
    assert _cost(records).status == "ok"


def test_read_fit_refuses_a_fit_of_another_key(counted, ckpt):
    path = _planted(ckpt, counted, "mismatched", Path("unused"))
    with pytest.raises(BadFit, match="fitted for checkpoint_hash '0000000000000000'"):
        read_fit(path, fit_key_of(ckpt))
    assert read_fit(path) == 1.0, "without a key only the format is checked"


def fit_key_of(ckpt: Path):
    task = TASKS.get("utr5")
    method = METHODS.get("fit_counted")
    model = load_model(task, "cnn", directory=ckpt)
    return fit_key(task, task.data("train"), model, method, dict(method.defaults))


def test_a_corrupt_cached_fit_is_refitted(counted, tmp_path, caplog):
    _run(tmp_path / "r", None)
    (cached,) = fits_dir().rglob("*.pt")
    assert cached == cache_file(fit_key_of(SHIPPED.parent))
    cached.write_bytes(cached.read_bytes()[:50])
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        _run(tmp_path / "r2", None)
    assert str(cached) in caplog.text and "fitting again" in caplog.text
    assert counted["FITS"] == [40_000, 40_000]


@pytest.mark.parametrize("task_name", ["utr5", "codon", "promoter", "psl"])
def test_each_default_model_ships_both_scrambler_fits(task_name, monkeypatch):
    """The package's fits match the shipped checkpoints and default options: found, not fitted."""

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted instead of using the shipped fit")

    monkeypatch.setattr(fits, "fit_state", no_fit)
    task = TASKS.get(task_name)
    train = task.data("train")
    model = load_model(task, task.default_model, train_hash=train.hash)
    for name in ("scrambler_inclusion", "scrambler_occlusion"):
        method = METHODS.get(name)
        options = resolve_method_options(task, method)
        bg = training_background(task, train)
        fit = ensure_fit(task, model, method, options, train, bg, seed=0)
        assert fit.source == "shipped"
        assert fit.path.parent == task.checkpoint_dir / "fits" / task.default_model
        assert fit.path.stat().st_size < 512 * 1024, "a fit is small"
        state = load_fit(fit.path)
        assert state["occlusion"] == (name == "scrambler_occlusion")
        assert not list(fits_dir().rglob("*.pt")), "nothing is cached"


def test_the_shipped_fits_are_package_data():
    from pathlib import PurePosixPath

    import tomllib

    root = Path(__file__).parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["attrbench_tasks"]
    shipped = sorted((root / "tasks").glob("checkpoints/*/fits/*/*.pt"))
    assert len(shipped) >= 8, "both scramblers of the four default models"
    for path in shipped:
        rel = PurePosixPath(path.relative_to(root / "tasks").as_posix())
        # setuptools' glob: "*" stays within one folder
        assert any(
            len(PurePosixPath(p).parts) == len(rel.parts) and rel.match(p) for p in patterns
        ), rel


# --------------------------------------------------------------------------- re-runs on copies


def test_shift_invariance_neither_refits_nor_refines_the_copies(counted, tmp_path):
    _run(tmp_path / "r", None, metric="shift_invariance")
    assert counted["FITS"] == [40_000], "one fit for the cell"
    # the cell's 4 sequences as the method ran (refine=1), then 4 shifted copies of them
    assert counted["CALLS"] == [(4, 1)] + [(4, 0)] * 4
    counted["CALLS"].clear()
    _run(
        tmp_path / "r",
        None,
        metric="shift_invariance",
        metric_options={"shift_invariance": {"refine_copies": True}},
    )
    assert counted["FITS"] == [40_000], "asking to refine the copies still does not refit"
    assert counted["CALLS"] == [(4, 1)] + [(4, 1)] * 4


def test_the_scramblers_do_not_fine_tune_by_default_nor_on_copies():
    for name in ("scrambler_inclusion", "scrambler_occlusion"):
        method = METHODS.get(name)
        for task in TASKS:
            options = {**method.defaults, **task.method_options.get(name, {})}
            assert options["finetune_steps"] == options["finetune_steps_long"] == 0, task.name
        rerun = method.rerun({**method.defaults, "finetune_steps": 100})
        assert rerun["finetune_steps"] == 0, "a re-run on shifted copies is not fine-tuned"
        assert method.rerun({"finetune_steps": 100}, refine=True)["finetune_steps"] == 100
