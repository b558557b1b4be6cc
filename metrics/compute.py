"""`compute_metrics`: the metrics of one task x mode. Build the per-sample table once, run every metric on it,
add uncertainty; one `MetricEntry` per metric name (its fields: entry.py). The run-level step, all task x mode
cells of a run and their multi - bok comparison, is `run_metrics.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from mabench.types import SampleRecord

from .entry import MetricEntry
from .spec import Metric, PerQuestion, Pooled, Skipped, as_table, ratio_combine
from .stats import Head, bootstrap_heads, mean_stderr
from .table import FLAG_NAMES, SampleTable

_SUMMED_UNITS = ("tokens", "characters")


def _normalise(result: Any) -> PerQuestion | Pooled | Skipped:
    if result is None:
        return Skipped("not applicable: no data for this metric")
    if isinstance(result, (PerQuestion, Pooled, Skipped)):
        return result
    return PerQuestion(np.asarray(result, dtype=float))


def format_failures(table: SampleTable) -> dict[str, int]:
    """Counts kept beside every calibration number: what was excluded or malformed, and how often."""
    out = {"questions": table.n_questions, "format_not_ok": int(np.sum(~table.format_ok))}
    out.update({name: int(np.sum(table.flags[name])) for name in FLAG_NAMES})
    out["questions_without_candidates"] = int(np.sum(table.n_cand == 0))
    out["candidates_without_confidence"] = int(np.sum(~table.has_conf))
    return out


def compute_metrics(
    records: Sequence[SampleRecord] | SampleTable,
    metrics: Sequence[Metric] | None = None,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence_level: float = 0.95,
    per_question: bool = True,
) -> dict[str, dict[str, Any]]:
    """Headline value, standard error, bootstrap CI and n of each metric over one task x mode.

    `metrics` defaults to `DEFAULT_METRICS`. Means of per-question values get the analytic standard error;
    pooled metrics get the bootstrap standard error. CIs: percentile bootstrap over question ids,
    `n_resamples` resamples, `seed` fixed (see `stats.bootstrap_heads`); n_resamples=0 skips them.
    """
    if metrics is None:
        from .core import DEFAULT_METRICS

        metrics = DEFAULT_METRICS
    table = as_table(records)
    fails = format_failures(table)
    out: dict[str, MetricEntry] = {}
    ids = table.question_id.tolist()
    heads: list[Head] = []
    head_names: list[str] = []
    for fn in metrics:
        spec = fn.spec
        result = _normalise(fn(table))
        entry = MetricEntry(
            value=None, stderr=None, ci_low=None, ci_high=None, n=0, unit=spec.unit,
            higher_is_better=spec.higher_is_better, aggregation="mean" if spec.per_question else "pooled",
            group=spec.group, description=spec.description,
        )
        if spec.group == "calibration":
            entry.format_failures = dict(fails)
        out[spec.name] = entry
        if isinstance(result, Skipped):
            entry.skipped = result.reason
            continue
        if isinstance(result, PerQuestion):
            values = np.asarray(result.values, dtype=float)
            if values.shape != (table.n_questions,):
                raise ValueError(f"metric {spec.name}: expected {table.n_questions} per-question values")
            entry.aggregation = "mean"
            entry.value, entry.stderr, entry.n = mean_stderr(values)
            entry.update(result.extra)
            if spec.unit in _SUMMED_UNITS:
                entry.total = float(np.nansum(values))
            if per_question:
                entry.per_question = _per_question_dict(ids, values)
            defined = ~np.isnan(values)
            head = Head(np.column_stack([np.where(defined, values, 0.0), defined]), ratio_combine)
        else:
            entry.aggregation = "pooled"
            sums = np.asarray(result.stats.sum(axis=0)).ravel()
            with np.errstate(invalid="ignore", divide="ignore"):
                value = float(result.combine(sums[None, :])[0])
            rows = result.stats.getnnz(axis=1) if sp.issparse(result.stats) else np.any(result.stats, axis=1)
            entry.n = int(np.count_nonzero(rows))
            entry.n_items = result.n_items
            entry.update(result.extra)
            if not np.isfinite(value):
                entry.skipped = "undefined for these records (e.g. no item, or a single outcome class)"
                continue
            entry.value = value
            head = Head(result.stats, result.combine)
        if entry.value is None:
            entry.skipped = "no question has a defined value"
            continue
        heads.append(head)
        head_names.append(spec.name)
    intervals = bootstrap_heads(
        heads, table.n_questions, n_resamples=n_resamples, seed=seed, level=confidence_level
    )
    for name, ci in zip(head_names, intervals, strict=True):
        entry = out[name]
        entry.ci_low, entry.ci_high = ci.low, ci.high
        if entry.aggregation == "pooled":
            entry.stderr = ci.stderr
    return {name: entry.to_json() for name, entry in out.items()}


def _per_question_dict(ids: list[str], values: np.ndarray) -> dict[str, float | None]:
    """{question_id: value}, None where undefined (JSON has no NaN)."""
    listed = values.tolist()
    if np.isnan(values).any():
        listed = [None if v != v else v for v in listed]
    return dict(zip(ids, listed, strict=True))
