"""The run-level step: a run's records in, the contents of metrics.json and comparison.json out.

metrics.json is {task: {mode: {metric: entry}}}: `compute_metrics` on each task x mode's successful records,
plus the `errors` entry. comparison.json is {task: {"paired": {metric: ...}, "equal_budget": ...}}: multi
against bok on the same questions, for the metrics whose spec says `paired`, with the paired test the spec
chooses (`binary_outcomes`, the rule `compare` and `check` use too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from mabench.types import SampleRecord

from .budget import equal_budget
from .compute import compute_metrics
from .core import DEFAULT_METRICS, PAIRED_METRICS, binary_outcomes
from .entry import MetricEntry, errors_entry
from .spec import Metric
from .stats import paired_compare

MetricsJson = dict[str, dict[str, dict[str, Any]]]


def by_task_mode(records: Sequence[SampleRecord]) -> dict[tuple[str, str], list[SampleRecord]]:
    """Records grouped by (task, mode), each group in question-id order."""
    groups: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.task, r.mode, r.question_id)):
        groups[(record.task, record.mode)].append(record)
    return groups


def run_metrics(records: Sequence[SampleRecord], metrics: Sequence[Metric] | None = None, *,
                task_metrics: Mapping[str, Collection[str]] | None = None) -> MetricsJson:
    """metrics.json of these records (one record per task x mode x question). `metrics`: DEFAULT_METRICS if None.

    `task_metrics`: each task's declared task-specific metrics (`TaskSpec.metrics`). A metric that a task of the
    run declares is computed only for the tasks that declare it; the others report it as not applicable, in the
    metric's own words (`not_applicable`). Metrics no task declares apply to every task."""
    chosen = tuple(DEFAULT_METRICS if metrics is None else metrics)
    declared = task_metrics or {}
    specific = {name for names in declared.values() for name in names}
    out: MetricsJson = defaultdict(dict)
    for (task, mode), group in by_task_mode(records).items():
        ok = [r for r in group if r.error is None]
        mine = set(declared.get(task, ()))
        skipped = [fn for fn in chosen if fn.spec.name in specific and fn.spec.name not in mine]
        # Failed generations are counted, never scored as wrong answers.
        entries = compute_metrics(ok, [fn for fn in chosen if fn not in skipped]) if ok else {}
        if ok:
            entries.update({fn.spec.name: not_applicable(fn) for fn in skipped})
            entries = {fn.spec.name: entries[fn.spec.name] for fn in chosen}  # the catalogue's order
        out[task][mode] = entries
        out[task][mode]["errors"] = errors_entry(len(group), len(group) - len(ok)).to_json()
    return dict(out)


def not_applicable(fn: Metric) -> dict[str, Any]:
    """The entry of a metric for a task it does not apply to: skipped, with the reason the metric gives when
    no record carries its evidence (computed on no records, so it never depends on the task's data)."""
    entry = compute_metrics([], [fn], n_resamples=0)[fn.spec.name]
    if entry.get("skipped") is None:
        raise ValueError(f"metric {fn.spec.name}: a task-specific metric must skip itself on records without "
                         "its evidence")
    return entry


def paired_difference(name: str, a: MetricEntry, b: MetricEntry, **options: Any) -> dict[str, Any]:
    """`paired_compare` of a minus b over their shared questions, with the test `name`'s spec chooses
    (`options`: paired_compare's n_resamples, seed, level)."""
    return paired_compare(a.per_question or {}, b.per_question or {}, binary_outcomes(name), **options)


def compare_modes(records: Sequence[SampleRecord], metrics: MetricsJson) -> dict[str, dict[str, Any]]:
    """comparison.json: paired multi-minus-bok differences per task, and bok's accuracy-vs-tokens curve with
    multi on it."""
    groups = by_task_mode([r for r in records if r.error is None])
    out: dict[str, dict[str, Any]] = {}
    for task, modes in metrics.items():
        if not {"multi", "bok"} <= set(modes) or not groups.get((task, "multi")) or not groups.get((task, "bok")):
            continue
        paired = {}
        for name in PAIRED_METRICS:
            a, b = MetricEntry.read(modes["multi"].get(name)), MetricEntry.read(modes["bok"].get(name))
            if a.paired_values and b.paired_values:
                paired[name] = paired_difference(name, a, b)
        out[task] = {"paired": paired, "equal_budget": equal_budget(groups[(task, "bok")], groups[(task, "multi")])}
    return out
