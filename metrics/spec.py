"""The `@metric` decorator, the `MetricSpec` it attaches, and the output types a metric returns.

The registry (which metrics a run reports, and the lookup of a spec by name) is `core.py`; this module is what
every metric module imports, so it imports none of them.

A metric is one function over the per-sample table of one task x mode, carrying a frozen spec.

The decorator follows inspect_ai's `@metric` style: `@metric("hit_at_k", "fraction")` on a function
`SampleTable -> output`. The output says how the headline and its bootstrap are formed:

- `PerQuestion(values)` (or a bare array): one value per question, NaN where undefined; headline = mean.
- `Pooled(stats, combine)`: additive per-question statistics; headline = combine(column sums). Resampling
  questions re-weights the rows, so a pooled Brier/ECE/AUROC is bootstrapped over question ids too.
- `Skipped(reason)` (or None): not applicable to these records; the reason is recorded.

Naming rule (`tests/metrics/test_metric_names.py` checks it over every registered metric):
- a registered metric is bound, in the module that defines it, to its registered name; a `def` under `@metric`
  is that name (`def brier` for "brier", never `brier_metric`). Factories of a family are named for the family
  (`hit_at_top(j)` builds `hit_at_top{j}`, `pass_at(k)` builds `pass_at_{k}`), or `<name>_metric(...)` when
  they build one metric from a part given at run time (`semantic_diversity_metric(embedder)`);
- array-level functions (plain values in, a number out) never take a registered metric's name: they say what
  they compute, calibration and F1 scores end in `_score` (`brier_score`, `ece_score`, `ambigqa_f1_score`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Union

import numpy as np
import scipy.sparse as sp

from mabench.types import SampleRecord

from .table import SampleTable


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str  # "fraction", "count", "tokens", "score", ...
    higher_is_better: bool | None
    per_question: bool  # True: one value per question and the headline is their mean; False: pooled
    description: str
    group: str = "other"  # coverage, diversity, calibration, tokens, format, task
    # Facts every reader of metrics.json takes from here (summary, leaderboard, compare, check, comparison.json),
    # so that no module keeps its own list of metric names:
    headline: bool = False  # a leaderboard column with its CI, compared by default, a row of every run summary
    summary: bool = False  # a row of the summary printed at the end of a run (headline metrics always are)
    paired: bool = False  # comparison.json holds its paired multi - bok difference (per-question metrics only)
    binary: bool = False  # per-question values are 0/1: paired tests use exact McNemar, else a permutation test
    checked: bool = False  # `mabench check` looks for a regression in it by default

    @property
    def paired_test(self) -> str:
        """The paired test of two runs' per-question values: "mcnemar_exact" or "paired_permutation"."""
        return "mcnemar_exact" if self.binary else "paired_permutation"


@dataclass(frozen=True)
class PerQuestion:
    values: np.ndarray  # (Q,) float, NaN where the metric is undefined for that question
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pooled:
    stats: np.ndarray | sp.csr_matrix  # (Q, s): per-question additive statistics
    combine: Callable[[np.ndarray], np.ndarray]  # (..., s) column sums -> (...) metric values
    n_items: int  # how many pooled items (e.g. candidates) the value rests on
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    reason: str


MetricOutput = Union[PerQuestion, Pooled, Skipped, np.ndarray, None]  # noqa: UP007 (runtime alias)


class Metric(Protocol):
    spec: MetricSpec

    def __call__(self, data: SampleTable | Sequence[SampleRecord]) -> MetricOutput: ...


def metric(
    name: str,
    unit: str,
    *,
    higher_is_better: bool | None = True,
    per_question: bool = True,
    group: str = "other",
    headline: bool = False,
    summary: bool = False,
    paired: bool = False,
    binary: bool = False,
    checked: bool = False,
) -> Callable[[Callable[[SampleTable], MetricOutput]], Metric]:
    """Attach a `MetricSpec` to a function of the `SampleTable`. The docstring's first paragraph becomes its
    description. The wrapped function also accepts a sequence of `SampleRecord` and builds the table.
    `headline`, `summary`, `paired`, `binary` and `checked` are the facts readers need (see `MetricSpec`)."""

    def wrap(fn: Callable[[SampleTable], MetricOutput]) -> Metric:
        first_paragraph = (fn.__doc__ or "").strip().split("\n\n")[0]
        description = " ".join(first_paragraph.split()) or name
        if paired and not per_question:
            raise ValueError(f"metric {name}: paired=True needs per-question values (per_question=True)")
        spec = MetricSpec(name, unit, higher_is_better, per_question, description, group,
                          headline=headline, summary=summary or headline, paired=paired, binary=binary, checked=checked)

        @functools.wraps(fn)
        def run(data: SampleTable | Sequence[SampleRecord]) -> MetricOutput:
            return fn(as_table(data))

        run.spec = spec  # type: ignore[attr-defined]
        return run  # type: ignore[return-value]

    return wrap


def as_table(data: SampleTable | Sequence[SampleRecord]) -> SampleTable:
    return data if isinstance(data, SampleTable) else SampleTable.from_records(data)


def ratio(
    numerator: np.ndarray, denominator: np.ndarray, *, n_items: int, extra: Mapping[str, Any] | None = None
) -> Pooled:
    """Pooled sum(numerator) / sum(denominator) over questions (NaN when the denominator sums to 0)."""
    stats = np.column_stack([numerator, denominator]).astype(float)
    return Pooled(stats, ratio_combine, n_items, dict(extra or {}))


def ratio_combine(sums: np.ndarray) -> np.ndarray:
    """Column 0 over column 1 of (..., 2) sums; NaN where the denominator is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            sums[..., 1] > 0, sums[..., 0] / np.where(sums[..., 1] > 0, sums[..., 1], 1.0), np.nan
        )
