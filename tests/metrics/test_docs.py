"""Every reported metric is documented: METRICS.md has a row with its unit, direction and aggregation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mabench.metrics import DEFAULT_METRICS

METRICS_MD = Path(__file__).resolve().parents[2] / "metrics" / "METRICS.md"
DIRECTION = {True: "higher", False: "lower", None: "none"}


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in METRICS_MD.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 6 and re.fullmatch(r"`[a-z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells
    return rows


@pytest.mark.parametrize("fn", DEFAULT_METRICS, ids=lambda fn: fn.spec.name)
def test_each_default_metric_has_a_row_with_its_unit_direction_and_aggregation(fn):
    row = _rows().get(fn.spec.name)
    assert row is not None, f"{fn.spec.name} missing from METRICS.md"
    assert row[1] == fn.spec.unit
    assert row[2] == DIRECTION[fn.spec.higher_is_better]
    assert row[3] == ("mean" if fn.spec.per_question else "pooled")
    assert row[4], "definition"


def test_the_table_lists_no_metric_that_does_not_exist():
    assert set(_rows()) == {fn.spec.name for fn in DEFAULT_METRICS}
