"""The side-by-side summary printed at the end of a run: one column per task x mode."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .types import MODES


def _cell(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "[dim]n/a[/dim]"
    text = f"{value:.1f}" if entry.get("unit") == "tokens" else f"{value:.3f}"
    stderr = entry.get("stderr")
    if stderr is not None:
        text += f" ± {stderr:.1f}" if entry.get("unit") == "tokens" else f" ± {stderr:.3f}"
    return text


def summary_table(metrics: dict[str, dict[str, dict[str, Any]]], title: str) -> Table:
    columns = [(task, mode) for task in sorted(metrics) for mode in MODES if mode in metrics[task]]
    table = Table(title=title, title_justify="left")
    table.add_column("metric", style="bold")
    for task, mode in columns:
        table.add_column(f"{task}\n{mode}", justify="right")
    names: list[str] = []
    for task, mode in columns:
        names.extend(n for n in metrics[task][mode] if n not in names)
    first = metrics[columns[0][0]][columns[0][1]] if columns else {}
    table.add_row("questions", *[str(_n(metrics[t][m])) for t, m in columns])
    for name in names:
        unit = first.get(name, {}).get("unit", "")
        table.add_row(f"{name} [dim]({unit})[/dim]", *[_cell(metrics[t][m].get(name, {})) for t, m in columns])
    return table


def _n(group: dict[str, dict[str, Any]]) -> int:
    return max((e.get("n") or 0 for e in group.values()), default=0)
