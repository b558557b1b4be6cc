"""The report's figures, drawn with matplotlib's object API (no pyplot, no global backend state) as PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.figure import Figure

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
DPI = 100


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def png(fig: Figure) -> bytes:
    """The figure as PNG (figures use the constrained layout, so one draw suffices)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def reliability_png(bins: Sequence[dict[str, Any]] | None, title: str, tint: str = PALETTE[0]) -> bytes:
    """Accuracy per confidence bin against the diagonal; bar labels are the bins' candidate counts."""
    fig = Figure(figsize=(3.4, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], linestyle="--", color="#999999", linewidth=1, label="calibrated")
    filled = [b for b in bins or () if b.get("count") and b.get("accuracy") is not None]
    if filled:
        lefts = [b["lower"] for b in filled]
        widths = [b["upper"] - b["lower"] for b in filled]
        bars = ax.bar(lefts, [b["accuracy"] for b in filled], width=widths, align="edge", color=tint, alpha=0.75,
                      edgecolor="white", label="accuracy")
        ax.bar_label(bars, labels=[str(b["count"]) for b in filled], fontsize=6, padding=1)
        ax.plot([b["mean_confidence"] for b in filled], [b["accuracy"] for b in filled], "o", color="black",
                markersize=3, label="mean confidence")
        ax.legend(fontsize=6, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no candidate stated\na confidence", ha="center", va="center", fontsize=9, color="#555555")
    ax.set(xlim=(0, 1), ylim=(0, 1.08), xlabel="confidence", ylabel="accuracy")
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    return png(fig)


@dataclass(frozen=True)
class BudgetSeries:
    label: str
    color: str
    result: dict[str, Any]  # `mabench.metrics.equal_budget` output


def budget_png(series: Sequence[BudgetSeries], title: str) -> bytes:
    """bok coverage (hit@k, solid) and pass@k (dashed) against tokens per question for k = 1..n, with the
    multi point (star) at its own cost on the same axes; a dotted line joins it to bok at equal cost."""
    fig = Figure(figsize=(9.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    for s in series:
        r = s.result
        bok, multi = r["bok"], r["multi"]
        ax.plot(bok["tokens"], bok["hit_at_k"], "o-", color=s.color, label=f"{s.label}: bok hit@k")
        ax.plot(bok["tokens"], bok["pass_at_k"], "s--", color=s.color, alpha=0.6, markersize=4,
                label=f"{s.label}: bok pass@k")
        for k, x, y in zip(bok["k"], bok["tokens"], bok["hit_at_k"], strict=True):
            ax.annotate(f"k={k}", (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6, color=s.color)
        ax.plot([multi["tokens"]], [multi["hit_at_k"]], "*", color=s.color, markersize=15, markeredgecolor="black",
                label=f"{s.label}: multi hit@K ({multi['n_candidates']:.1f} answers parsed per question)")
        at = r["bok_at_multi_cost"]
        if at.get("hit_at_k") is not None:
            ax.plot([multi["tokens"]] * 2, [at["hit_at_k"], multi["hit_at_k"]], ":", color=s.color, linewidth=1)
    ax.set(xlabel=f"{series[0].result['budget'] if series else 'completion'} tokens per question",
           ylabel="coverage (hit@k) / pass@k", ylim=(-0.03, 1.05))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.legend(fontsize=7, loc="outside right center")
    return png(fig)


@dataclass(frozen=True)
class BarSeries:
    label: str
    color: str
    light: bool  # drawn paler (bok), beside the solid bars (multi)
    values: Sequence[float | None]  # one per task
    lows: Sequence[float | None]
    highs: Sequence[float | None]


def bars_png(metric: str, tasks: Sequence[str], series: Sequence[BarSeries], ylabel: str) -> bytes:
    """Grouped bars: one group per task holding a bar for each run x mode that has a value there, with its
    95% CI as an error bar."""
    per_task = [[s for s in series if s.values[t] is not None] for t in range(len(tasks))]
    widest = max((len(group) for group in per_task), default=1) or 1
    fig = Figure(figsize=(min(12.0, 3.0 + 0.5 * sum(len(g) for g in per_task) + 0.6 * len(tasks)), 3.2),
                 layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / widest
    labelled: set[str] = set()
    for t, group in enumerate(per_task):
        for i, s in enumerate(group):
            value, low, high = float(s.values[t]), s.lows[t], s.highs[t]  # type: ignore[arg-type]
            below = max(0.0, value - low) if low is not None else 0.0
            above = max(0.0, high - value) if high is not None else 0.0
            ax.bar(t + (i - (len(group) - 1) / 2) * width, value, width=width * 0.95, color=s.color,
                   alpha=0.5 if s.light else 1.0, yerr=[[below], [above]], capsize=3, ecolor="black",
                   label=None if s.label in labelled else s.label)
            labelled.add(s.label)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set(ylabel=ylabel)
    ax.set_title(metric, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if series:
        fig.legend(fontsize=7, loc="outside right center")
    return png(fig)
