"""The side-by-side summary printed at the end of a run: one column per task x mode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich import box
from rich.console import Group
from rich.markup import escape
from rich.table import Table

from .lmeval import LMEVAL_MODE
from .metrics import SUMMARY_METRICS, MetricEntry
from .types import MODES

# The rows printed at the end of a run, as the metrics' specs say (metrics.json holds every metric).
HEADLINE = (*SUMMARY_METRICS, "errors")


def _fmt(value: float, unit: str | None) -> str:
    if unit == "count" and float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}" if unit in ("tokens", "count", "characters") and abs(value) >= 10 else f"{value:.3f}"


def _cell(raw: dict[str, Any]) -> str:
    entry = MetricEntry.read(raw)
    if entry.value is None:
        return "[dim]n/a[/dim]"
    text = _fmt(entry.value, entry.unit)
    if entry.ci_low is not None and entry.ci_high is not None:
        text += f"\n[dim][{_fmt(entry.ci_low, entry.unit)}, {_fmt(entry.ci_high, entry.unit)}][/dim]"
    return text


def summary_table(metrics: dict[str, dict[str, dict[str, Any]]], title: str,
                  comparison: dict[str, dict[str, Any]] | None = None, synthetic: Iterable[str] = ()) -> Group:
    """Headline metrics with 95% bootstrap CIs: one table per task, its modes side by side, then the paired
    multi - bok difference. A value and its CI sit on two lines, so that a task fits in 80 columns however many
    tasks a run has; metrics.json holds every metric."""
    synthetic = set(synthetic)
    tables: list[Table] = []
    for task in sorted(metrics):
        modes = [m for m in (*MODES, LMEVAL_MODE) if m in metrics[task]]
        paired = (comparison or {}).get(task, {}).get("paired", {})
        label = f"{task} [yellow](synthetic sample)[/yellow]" if task in synthetic else task
        table = Table(title=f"{label}: {_n_all(metrics[task], modes)} questions", title_justify="left",
                      box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("metric", style="bold", no_wrap=True)
        for mode in modes:
            table.add_column(mode, justify="right", no_wrap=True)
        if paired:
            table.add_column("multi − bok", justify="right", no_wrap=True)
        names = [n for n in metrics[task].get(LMEVAL_MODE, {}) if n != "errors"] if modes == [LMEVAL_MODE] else HEADLINE
        for name in names:  # an lm-eval task: all of lm-eval's metrics
            entries = [metrics[task][m].get(name, {}) for m in modes]
            if all(e.get("value") is None for e in entries):
                continue
            unit = next((e.get("unit") for e in entries if e.get("unit")), "")
            row = [f"{name}\n[dim]({unit})[/dim]" if unit else name, *[_cell(e) for e in entries]]
            if paired:
                row.append(_diff_cell(paired.get(name), unit))
            table.add_row(*row)
        tables.append(table)
    return Group(f"[bold]{escape(title)}[/bold]", *tables, "[dim]value, then its 95% CI; multi − bok: paired "
                 "difference, 95% CI and p-value[/dim]")


def _diff_cell(diff: dict[str, Any] | None, unit: str | None) -> str:
    if not diff or diff.get("diff") is None:
        return ""
    digits = 1 if unit in ("tokens", "count", "characters") and abs(diff["diff"]) >= 10 else 3
    text = f"{diff['diff']:+.{digits}f}"
    if diff.get("ci_low") is not None:
        text += f"\n[dim][{diff['ci_low']:+.{digits}f}, {diff['ci_high']:+.{digits}f}][/dim]"
    if diff.get("p_value") is not None:
        text += f"\n[dim]p={diff['p_value']:.2g}[/dim]"
    return text


def _n_all(group: dict[str, dict[str, dict[str, Any]]], modes: list[str]) -> str:
    counts = sorted({_n(group[m]) for m in modes})
    return " / ".join(map(str, counts))


def _n(group: dict[str, dict[str, Any]]) -> int:
    return max((e.get("n") or 0 for e in group.values()), default=0)


def backend_line(errors: int, stats: dict[str, Any], exited_early: int = 0) -> str:
    """One line under the table: failed questions, programs that exited early, cache hit rate, retries and
    where token counts came from."""
    parts = [f"errors: {errors}" + (" (failed questions; rerun the same command, or add --resume, to retry them)"
                                    if errors else "")]
    if exited_early:  # a reward-hacking signal: exit(), os._exit, a signal... before the tests ended
        parts.append(f"exited early: {exited_early} programs (ended before their tests did; scored as failures)")
    cache = stats.get("cache") or {}
    if cache.get("lookups"):
        parts.append(f"cache hits: {cache['hits']}/{cache['lookups']} samples ({cache['hits'] / cache['lookups']:.0%})")
    elif cache:
        parts.append("cache hits: 0/0 samples")
    requests = stats.get("requests") or {}
    if requests:
        parts.append(f"requests: {requests.get('attempts', 0)} sent, {requests.get('retries', 0)} retried, "
                     f"{requests.get('failed', 0)} failed for good")
    usage = stats.get("usage_source") or {}
    if usage:
        parts.append("token usage from " + ", ".join(f"{source} ({n})" for source, n in sorted(usage.items())))
    return "; ".join(parts)


def train_overlap_line(overlap: dict[str, dict[str, list[str] | None]], excluded: bool) -> str | None:
    """One line under the table: per task and mode, the evaluation questions the mode's checkpoint was trained
    on (`mabench.contamination`); None when no model of the run lists its training questions."""
    if all(ids is None for modes in overlap.values() for ids in modes.values()):
        return None
    cells = "; ".join(f"{task}: " + ", ".join(f"{mode} {'unknown' if ids is None else len(ids)}"
                                              for mode, ids in modes.items())
                      for task, modes in sorted(overlap.items()))
    what = ("dropped before the run (--exclude-train-overlap)" if excluded
            else "scored although the checkpoint was trained on them (--exclude-train-overlap drops them)")
    return f"train overlap: {cells} evaluation questions, {what}"
