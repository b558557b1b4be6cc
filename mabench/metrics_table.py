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
        out[task][mode] = compute_metrics(group, CORE_METRICS)
    return dict(out)
