"""Metric functions follow one naming rule (written in `mabench.metrics.spec`'s docstring).

A registered metric is found in its module under the name it is reported by (`calibration.brier` is the "brier"
metric), and no other function anywhere in `mabench.metrics` carries a registered metric's name: the array-level
scores say what they compute (`brier_score`), so `from mabench.metrics.calibration import brier` can never hand
a reader the wrong one.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import mabench.metrics
from mabench.metrics import DEFAULT_METRICS
from mabench.metrics.spec import Metric

REGISTERED: dict[str, Metric] = {fn.spec.name: fn for fn in DEFAULT_METRICS}


def _metrics_modules() -> list[ModuleType]:
    names = [info.name for info in pkgutil.iter_modules(mabench.metrics.__path__, "mabench.metrics.")]
    return [mabench.metrics, *(importlib.import_module(name) for name in sorted(names))]


@pytest.mark.parametrize("fn", DEFAULT_METRICS, ids=lambda fn: fn.spec.name)
def test_a_registered_metric_is_bound_in_its_module_to_its_registered_name(fn: Metric) -> None:
    module = importlib.import_module(fn.__module__)
    assert getattr(module, fn.spec.name, None) is fn, (
        f"{fn.__module__}.{fn.spec.name} must be the {fn.spec.name!r} metric (the function is {fn.__name__})"
    )


@pytest.mark.parametrize("fn", DEFAULT_METRICS, ids=lambda fn: fn.spec.name)
def test_a_metric_written_as_a_def_has_its_registered_name(fn: Metric) -> None:
    inner = fn.__wrapped__  # type: ignore[attr-defined]  (set by functools.wraps in @metric)
    if "<locals>" in inner.__qualname__:  # built by a factory (hit_at_top(j), pass_at(k)): bound by name above
        return
    assert inner.__name__ == fn.spec.name


def test_no_name_in_the_metrics_package_means_a_registered_metric_unless_it_is_that_metric() -> None:
    clashes = [
        f"{module.__name__}.{name}"
        for module in _metrics_modules()
        for name, fn in REGISTERED.items()
        if hasattr(module, name) and getattr(module, name) is not fn
    ]
    assert clashes == []
