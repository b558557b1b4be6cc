"""The side-by-side summary printed at the end of a run: one column per task x mode."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .types import MODES

# The rows printed at the end of a run; metrics.json holds every metric.
HEADLINE = (
    "format_rate", "n_candidates", "hit_at_k", "top1_accuracy", "recall", "precision", "ambigqa_f1",
    "pass_at_set", "pass_at_1", "pass_at_3", "ddx_ddf1", "ddx_gtpa_at_1", "unique_answers", "duplicate_rate",
    "brier", "ece", "auroc", "set_brier", "prompt_tokens", "completion_tokens", "errors",
)


def _fmt(value: float, unit: str | None) -> str:
    if unit == "count" and float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}" if unit in ("tokens", "count", "characters") and abs(value) >= 10 else f"{value:.3f}"


def _cell(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "[dim]n/a[/dim]"
    unit = entry.get("unit")
    text = _fmt(value, unit)
    if entry.get("ci_low") is not None and entry.get("ci_high") is not None:
        text += f" [dim][{_fmt(entry['ci_low'], unit)}, {_fmt(entry['ci_high'], unit)}][/dim]"
    return text


def summary_table(metrics: dict[str, dict[str, dict[str, Any]]], title: str,
                  comparison: dict[str, dict[str, Any]] | None = None) -> Table:
    """Headline metrics with 95% bootstrap CIs, one column per task x mode, then paired multi - bok rows."""
    columns = [(task, mode) for task in sorted(metrics) for mode in MODES if mode in metrics[task]]
    table = Table(title=title, title_justify="left", caption="value [95% CI]", caption_justify="left")
    table.add_column("metric", style="bold")
    for task, mode in columns:
        table.add_column(f"{task}\n{mode}", justify="right")
    table.add_row("questions", *[str(_n(metrics[t][m])) for t, m in columns])
    for name in HEADLINE:
        entries = [metrics[t][m].get(name, {}) for t, m in columns]
        if all(e.get("value") is None for e in entries):
            continue
        unit = next((e.get("unit") for e in entries if e.get("unit")), "")
        table.add_row(f"{name} [dim]({unit})[/dim]", *[_cell(e) for e in entries])
    for task, result in sorted((comparison or {}).items()):
        for name, diff in result.get("paired", {}).items():
            if diff.get("diff") is None:
                continue
            cells = ["" for _ in columns]
            at = next(i for i, (t, m) in enumerate(columns) if t == task and m == "multi")
            ci = (f" [{diff['ci_low']:+.3f}, {diff['ci_high']:+.3f}]" if diff.get("ci_low") is not None else "")
            p = f" p={diff['p_value']:.3g}" if diff.get("p_value") is not None else ""
            cells[at] = f"{diff['diff']:+.3f}{ci}{p}"
            table.add_row(f"Δ {name} [dim](multi − bok)[/dim]", *cells)
    return table


def _n(group: dict[str, dict[str, Any]]) -> int:
    return max((e.get("n") or 0 for e in group.values()), default=0)


def backend_line(errors: int, stats: dict[str, Any]) -> str:
    """One line under the table: failed questions, cache hit rate, retries and where token counts came from."""
    parts = [f"errors: {errors}" + (" (failed questions; rerun the same command, or add --resume, to retry them)"
                                    if errors else "")]
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
