"""Aggregate a run's records into metrics.json ({task: {mode: {metric: entry}}}) and comparison.json
({task: {"paired": {metric: ...}, "equal_budget": ...}}, multi against bok on the same questions)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from mabench.metrics import compute_metrics, equal_budget, paired_compare

from .types import SampleRecord

PAIRED_METRICS = ("hit_at_k", "top1_accuracy", "recall", "unique_answers", "completion_tokens")
BINARY_METRICS = ("hit_at_k", "top1_accuracy")  # 0/1 per question: exact McNemar; the rest: permutation test


def _by_task_mode(records: Sequence[SampleRecord]) -> dict[tuple[str, str], list[SampleRecord]]:
    groups: dict[tuple[str, str], list[SampleRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.task, r.mode, r.question_id)):
        groups[(record.task, record.mode)].append(record)
    return groups


def aggregate(records: Sequence[SampleRecord]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for (task, mode), group in _by_task_mode(records).items():
        ok = [r for r in group if r.error is None]
        # Failed generations are counted, never scored as wrong answers.
        out[task][mode] = compute_metrics(ok) if ok else {}
        out[task][mode]["errors"] = {"value": float(len(group) - len(ok)), "unit": "count", "n": len(group),
                                     "stderr": None, "higher_is_better": False}
    return dict(out)


def compare_modes(records: Sequence[SampleRecord], metrics: dict[str, dict[str, dict[str, Any]]]
                  ) -> dict[str, dict[str, Any]]:
    """Paired multi-minus-bok differences per task, and bok's accuracy-vs-tokens curve with multi on it."""
    groups = _by_task_mode([r for r in records if r.error is None])
    out: dict[str, dict[str, Any]] = {}
    for task, modes in metrics.items():
        if not {"multi", "bok"} <= set(modes) or not groups.get((task, "multi")) or not groups.get((task, "bok")):
            continue
        paired = {}
        for name in PAIRED_METRICS:
            a, b = modes["multi"].get(name, {}), modes["bok"].get(name, {})
            if a.get("per_question") and b.get("per_question"):
                paired[name] = paired_compare(a["per_question"], b["per_question"], binary=name in BINARY_METRICS)
        out[task] = {"paired": paired, "equal_budget": equal_budget(groups[(task, "bok")], groups[(task, "multi")])}
    return out
