"""Aggregate a run's records into metrics.json: {task: {mode: {metric: {...}}}}."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from mabench.metrics import CORE_METRICS, compute_metrics

from .types import SampleRecord


def aggregate(records: Sequence[SampleRecord]) -> dict[str, dict[str, dict[str, Any]]]:
    groups: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.task, r.mode, r.question_id)):
        groups[(record.task, record.mode)].append(record)
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (task, mode), group in groups.items():
        ok = [r for r in group if r.error is None]
        # Failed generations are counted, never scored as wrong answers.
        out[task][mode] = compute_metrics(ok, CORE_METRICS) if ok else {}
        out[task][mode]["errors"] = {"value": float(len(group) - len(ok)), "unit": "count", "n": len(group),
                                     "stderr": None, "higher_is_better": False}
    return dict(out)
