"""Facts about a metric live in its spec, and the specs tell the truth about what the metrics compute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mabench.leaderboards.leaderboard import LeaderboardRow
from mabench.metrics import DEFAULT_METRICS, HEADLINE_METRICS, PAIRED_METRICS, SPECS, metric
from mabench.metrics.entry import MetricEntry

GOLDEN = json.loads((Path(__file__).parents[1] / "data" / "golden" / "metrics.json").read_text())


def test_binary_specs_hold_only_zero_one_outcomes():
    """McNemar needs 0/1 outcomes: a spec marked binary that is not would make paired tests raise."""
    seen = set()
    for modes in GOLDEN.values():
        for entries in modes.values():
            for name, raw in entries.items():
                entry = MetricEntry.read(raw)
                if name in SPECS and SPECS[name].binary and entry.paired_values:
                    assert {v for v in entry.paired_values.values() if v is not None} <= {0.0, 1.0}, name
                    seen.add(name)
    assert {"hit_at_k", "top1_accuracy", "format_rate"} <= seen


def test_every_headline_metric_has_its_leaderboard_columns_and_paired_ones_are_per_question():
    columns = set(LeaderboardRow.model_fields)
    for name in HEADLINE_METRICS:
        assert {name, f"{name}_ci_low", f"{name}_ci_high"} <= columns
    assert all(SPECS[name].per_question for name in PAIRED_METRICS)
    assert len(SPECS) == len(DEFAULT_METRICS)


def test_a_pooled_metric_cannot_be_declared_paired():
    with pytest.raises(ValueError, match="paired=True needs per-question values"):
        metric("pooled_thing", "score", per_question=False, paired=True)(lambda table: None)


def test_an_entry_read_and_written_again_is_the_same_json():
    for modes in GOLDEN.values():
        for entries in modes.values():
            for raw in entries.values():
                assert MetricEntry.read(raw).to_json() == raw
