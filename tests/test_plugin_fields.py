"""Plugin records check their fields where they are made, with one-line errors naming the plugin."""

from __future__ import annotations

import dataclasses

import pytest

from attrbench.core.plugin import (
    METHODS,
    METRICS,
    TASKS,
    Method,
    Metric,
    PluginFieldError,
    register_method,
    register_metric,
)
from attrbench.core.registry import RegistryError


def _fn(*args, **kwargs):
    return None


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"fn": 3}, "method 'm': fn must be callable fn(model, X, target, mask, **options), got 3"),
        ({"complete": "yes"}, "method 'm': complete must be a bool, got 'yes'"),
        ({"needs_attention": 1}, "method 'm': needs_attention must be a bool, got 1"),
        ({"reference": "zeros"}, "method 'm': reference must be None or callable, got 'zeros'"),
        (
            {"fit_ignores": ("steps", 2)},
            "method 'm': fit_ignores must be a tuple of option names (str), got ('steps', 2)",
        ),
        (
            {"defaults": {1: 2}},
            "method 'm': defaults must be a dict of options by name (str keys), got {1: 2}",
        ),
    ],
)
def test_method_fields(fields, message):
    with pytest.raises(PluginFieldError) as err:
        Method(**{"name": "m", "fn": _fn, **fields})
    assert str(err.value) == message and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"higher_is_better": None}, "metric 'q': higher_is_better must be a bool, got None"),
        (
            {"columns": ["a"]},
            "metric 'q': columns must be a tuple of column names (str), got ['a']",
        ),
        (
            {"needs_resources": "kb"},
            "metric 'q': needs_resources must be a tuple of resource names (str), got 'kb'",
        ),
        ({"invalid_above": "0.1"}, "metric 'q': invalid_above must be None or a number, got '0.1'"),
        (
            {"columns": ("a",), "column_directions": {"b": True}},
            "metric 'q': column_directions names columns it does not have: b (columns: a)",
        ),
    ],
)
def test_metric_fields(fields, message):
    with pytest.raises(PluginFieldError) as err:
        Metric(**{"name": "q", "fn": _fn, **fields})
    assert str(err.value) == message


@pytest.mark.parametrize(
    "fields, message",
    [
        (
            {"classes": ["none", "uorf"]},
            "task 'utr5': classes must be a non-empty tuple of class names (str), got ['none', 'uorf']",
        ),
        (
            {"models": {}},
            "task 'utr5': models must be a non-empty dict of model name to ModelSpec, got {}",
        ),
        (
            {"default_model": "nope"},
            "task 'utr5': default_model 'nope' is not one of its models (cnn, cnn_attention)",
        ),
        (
            {"quality_split": "eval"},
            "task 'utr5': quality_split must be one of 'train', 'valid', 'test', got 'eval'",
        ),
        (
            {"method_n": {"ism": 0}},
            "task 'utr5': method_n must be a dict of method name to a positive int, got {'ism': 0}",
        ),
        (
            {"method_options": {"ig": "background"}},
            "task 'utr5': method_options must be a dict of method name to a dict of options, got {'ig': 'background'}",
        ),
        (
            {"data": None},
            "task 'utr5': data must be callable data(split, **options) -> Dataset, got None",
        ),
    ],
)
def test_task_fields(fields, message):
    task = TASKS.get("utr5")
    if "default_model" in fields:
        message = message.replace("cnn, cnn_attention", ", ".join(task.models))
    with pytest.raises(PluginFieldError) as err:
        dataclasses.replace(task, **fields)
    assert str(err.value) == message


def test_an_unknown_registration_field_is_named_with_a_close_one():
    with pytest.raises(
        PluginFieldError,
        match=r"method 'typo': unknown field 'needs_atention' "
        r"\(did you mean 'needs_attention'\?\)",
    ):
        register_method("typo", needs_atention=True)(_fn)
    with pytest.raises(PluginFieldError, match=r"metric 'typo': unknown field 'higher_better'"):
        register_metric("typo", higher_better=True)(_fn)
    assert "typo" not in METHODS and "typo" not in METRICS


def test_field_errors_are_registry_errors_and_every_registered_plugin_passes():
    assert issubclass(PluginFieldError, RegistryError)
    for registry in (TASKS, METHODS, METRICS):
        for record in registry:
            dataclasses.replace(record)  # re-checks its fields
