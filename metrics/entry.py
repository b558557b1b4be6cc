"""One metric's entry in metrics.json, as a type: every writer builds one, every reader reads one.

The layout (see METRICS.md): value, stderr, ci_low, ci_high, n, unit, higher_is_better, aggregation ("mean" |
"pooled"), group, description; plus, where they apply: per_question ({question_id: value}), n_items (pooled),
skipped (the reason a metric does not apply), format_failures (calibration metrics), total (token and character
counts), bins (reliability tables) and any other extra a metric reports (kept as given). Entries from other
evaluators (lm-eval's, `paper_*`) use a subset of these fields, so every field is optional.

`to_json()` writes exactly the fields that were set, so an entry read and written again is the same JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Number = float | int  # int kept as int: an entry read back writes the same JSON


class MetricEntry(BaseModel):
    model_config = ConfigDict(extra="allow", validate_assignment=False)

    value: Number | None = None
    stderr: Number | None = None
    ci_low: Number | None = None
    ci_high: Number | None = None
    n: int = 0
    unit: str | None = None
    higher_is_better: bool | None = None
    aggregation: Literal["mean", "pooled"] | None = None
    group: str | None = None
    description: str | None = None
    per_question: dict[str, Any] | None = None  # {question_id: value or None}; not validated item by item
    n_items: int | None = None
    skipped: str | None = None
    format_failures: dict[str, int] | None = None
    total: Number | None = None

    @classmethod
    def read(cls, raw: Mapping[str, Any] | MetricEntry | None) -> MetricEntry:
        """An entry of metrics.json (a missing one reads as an empty entry, with no value)."""
        if isinstance(raw, MetricEntry):
            return raw
        return cls.model_validate(dict(raw or {}))

    def to_json(self) -> dict[str, Any]:
        """The JSON object of metrics.json: the fields that were set, extras included."""
        return self.model_dump(exclude_unset=True)

    def update(self, fields: Mapping[str, Any]) -> None:
        """Set fields (declared or extra) from a mapping, e.g. a metric's `extra`."""
        for key, value in fields.items():
            setattr(self, key, value)

    @property
    def has_value(self) -> bool:
        return self.value is not None

    @property
    def has_ci(self) -> bool:
        return self.ci_low is not None and self.ci_high is not None

    @property
    def paired_values(self) -> dict[str, Any] | None:
        """{question_id: value} where the metric kept per-question values (pooled metrics do not)."""
        return self.per_question if isinstance(self.per_question, dict) and self.per_question else None


def errors_entry(n_records: int, n_failed: int) -> MetricEntry:
    """The `errors` entry of each task x mode: failed generations are counted, never scored as wrong answers."""
    return MetricEntry(value=float(n_failed), unit="count", n=n_records, stderr=None, higher_is_better=False)
