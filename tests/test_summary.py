"""The summary printed at the end of a run reads at 80 columns, however many tasks the run has."""

from __future__ import annotations

from rich.console import Console

from mabench.summary import summary_table


def entry(value: float, low: float, high: float, unit: str = "fraction") -> dict:
    return {"value": value, "ci_low": low, "ci_high": high, "unit": unit, "n": 120}


def metrics_of_one_task() -> dict:
    return {mode: {"format_rate": entry(0.95, 0.9, 0.98), "hit_at_k": entry(0.25, 0.18, 0.33),
                   "set_brier": entry(0.412, 0.371, 0.455),
                   "completion_tokens": entry(113.1, 89.3, 139.1, "tokens")} for mode in ("multi", "bok")}


def test_two_tasks_fit_80_columns_with_every_value_and_ci_whole():
    metrics = {"ambigqa": metrics_of_one_task(), "medqa": metrics_of_one_task()}
    paired = {"hit_at_k": {"diff": -0.125, "ci_low": -0.21, "ci_high": -0.04, "p_value": 0.0031}}
    console = Console(width=80, record=True, color_system=None)
    console.print(summary_table(metrics, "mabench run abc (default)", {"ambigqa": {"paired": paired}},
                                synthetic=["medqa"]))
    text = console.export_text()
    assert max(map(len, text.splitlines())) <= 80
    assert "…" not in text  # nothing cut
    assert text.count("[0.180, 0.330]") == 4 and text.count("113.1") == 4 and "[89.3, 139.1]" in text
    assert "-0.125" in text and "[-0.210, -0.040]" in text and "p=0.0031" in text
    assert "medqa (synthetic sample)" in text and "ambigqa (synthetic" not in text
