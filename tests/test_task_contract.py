"""Contract tests, run once per registered task (STYLE 11, MTEB's metadata test).

Every task is checked the day it is registered: splits hashed, stable and disjoint,
the default model in the zoo with a shipped checkpoint that loads, a background
that is a distribution, and ground truth inside the real positions.
"""

from __future__ import annotations

import functools

import pytest
import torch

from attrbench.core.contract import validate_inputs
from attrbench.core.plugin import TASKS
from attrbench.running.training import load_model

SPLITS = ("train", "valid", "test")


@functools.lru_cache(maxsize=1)
def _splits(name: str) -> dict:
    task = TASKS.get(name)
    return {s: task.data(s) for s in SPLITS}


@pytest.mark.parametrize("name", TASKS.names())
def test_splits_are_hashed_stable_and_disjoint(name):
    task, splits = TASKS.get(name), _splits(name)
    for split, ds in splits.items():
        assert len(ds) > 0, split
        assert len(ds.hash) == 16 and ds.hash == task.data(split).hash, f"{split} hash unstable"
        validate_inputs(ds.X[:64], ds.mask[:64], ds.y[:64], len(task.alphabet))
        assert int(ds.y.max()) < len(task.classes)
    ids = [set(splits[s].ids) for s in SPLITS]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])


@pytest.mark.parametrize("name", TASKS.names())
def test_default_model_ships_and_loads(name):
    task = TASKS.get(name)
    assert task.default_model in task.models
    model = load_model(task, task.default_model, train_hash=_splits(name)["train"].hash)
    test = _splits(name)["test"]
    with torch.no_grad():
        logits = model(test.X[:4])
    assert logits.shape == (min(4, len(test)), len(task.classes))


@pytest.mark.parametrize("name", TASKS.names())
def test_background_is_a_distribution(name):
    task, train = TASKS.get(name), _splits(name)["train"]
    bg = task.background(train) if task.background else None
    if bg is None:
        pytest.skip(f"{name} uses the default background")
    probs = bg.probs_for(train.X.shape[2])
    assert probs.shape == (len(task.alphabet), train.X.shape[2])
    assert (probs >= 0).all()
    torch.testing.assert_close(probs.sum(0), torch.ones(probs.shape[1]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", TASKS.names())
def test_ground_truth_lies_on_real_positions(name):
    task = TASKS.get(name)
    if task.ground_truth is None:
        pytest.skip(f"{name} has no ground truth")
    test = _splits(name)["test"]
    gt = test.ground_truth or task.ground_truth(test)
    assert len(gt) == len(test)
    covered = gt.positions(test.X.shape[2])
    assert covered.any(), "ground truth that marks nothing"
    assert not (covered & ~test.mask).any(), "ground truth on padding"
