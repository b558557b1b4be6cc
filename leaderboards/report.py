"""One self-contained HTML report over run directories: every figure is a PNG embedded as a data URI, with
no script, stylesheet or font from outside the file.

Sections: notes (runs in progress, mismatched tasks), runs, leaderboard, per-task bars with 95% CIs, coverage
and pass@k against tokens (bok curve with the multi point on it), reliability diagrams per run x task x mode,
and every metric of every run x task x mode.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mabench.types import MODES

from .compare import Budget, equal_budget_for
from .leaderboard import HEADLINE_METRICS, MARKDOWN_HEADER, leaderboard_rows, markdown_cells
from .plots import BarSeries, BudgetSeries, bars_png, budget_png, color, reliability_png
from .rundir import RunDir, coverage_notes, duplicate_notes, running_notes
from .textfmt import interval, num, signed

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; max-width: 1400px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.notes { border: 1px solid #999; background: #f7f7f7; padding: 8px 12px; }
.running { font-weight: bold; text-decoration: underline; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; } figcaption { font-size: 11px; color: #555; }
"""


def build_report(runs: Sequence[RunDir], *, title: str = "mabench report", budget: Budget = "completion") -> str:
    colors = {run.path: color(i) for i, run in enumerate(runs)}
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p>{len(runs)} run(s); generated {datetime.now(timezone.utc).isoformat(timespec='seconds')}</p>"]
    notes = [*running_notes(runs), *coverage_notes(runs), *duplicate_notes(runs)]
    if notes:
        parts.append('<div class="notes"><b>Notes</b><ul>' + "".join(f"<li>{_e(n)}</li>" for n in notes)
                     + "</ul></div>")
    parts += ["<h2>Runs</h2>", _runs_table(runs), "<h2>Leaderboard</h2>", _leaderboard_table(runs),
              "<h2>Per-task metrics with 95% CIs</h2>", _bars(runs, colors),
              "<h2>Coverage and pass@k against tokens</h2>", _budget_section(runs, colors, budget),
              "<h2>Reliability diagrams</h2>", _reliability(runs, colors),
              "<h2>All metrics</h2>", *(_all_metrics(run, t, m) for run in runs for t, m in run.cells)]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def write_report(runs: Sequence[RunDir], path: Path, **options: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(build_report(runs, **options), encoding="utf-8")
    return path


def _e(text: Any) -> str:
    return html.escape(str(text))


def _img(data: bytes, alt: str) -> str:
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode()}" alt="{_e(alt)}">'


def _figure(data: bytes, caption: str) -> str:
    return f"<figure>{_img(data, caption)}<figcaption>{_e(caption)}</figcaption></figure>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = classes[i] if i < len(classes) else ""
        cells = "".join(f"<td>{_e(c)}</td>" for c in row)
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _short(run: RunDir) -> str:
    name = Path(run.model.removeprefix("hf:")).name or run.model
    return f"{name} [{run.run_id[:6]}]" + (" RUNNING" if run.running else "")


def _runs_table(runs: Sequence[RunDir]) -> str:
    keys = ("k", "limit", "seed", "temperature", "max_new_tokens")
    rows = [[_short(r), r.model, str(r.path), r.run_id, r.status, ", ".join(r.tasks),
             ", ".join(sorted({m for _, m in r.cells})), *(str(r.config.get(k, "")) for k in keys),
             str(r.manifest.get("created", ""))] for r in runs]
    header = ("label", "model", "path", "run id", "status", "tasks", "modes", *keys, "created")
    return _table(header, rows, ["running" if r.running else "" for r in runs])


def _leaderboard_table(runs: Sequence[RunDir]) -> str:
    rows = leaderboard_rows(runs)
    return _table(MARKDOWN_HEADER, [markdown_cells(r) for r in rows], ["running" if r.status == "running" else ""
                                                                      for r in rows])


def _bars(runs: Sequence[RunDir], colors: dict[Path, str]) -> str:
    tasks = sorted({t for r in runs for t in r.tasks})
    figures = []
    for metric in (*HEADLINE_METRICS, "format_rate", "completion_tokens"):
        series = []
        unit = ""
        for run in runs:
            for mode in [m for m in MODES if any(m == cm for _, cm in run.cells)]:
                entries = [run.entries(t, mode).get(metric, {}) for t in tasks]
                if not any(e.get("value") is not None for e in entries):
                    continue
                unit = unit or next((e.get("unit", "") for e in entries if e), "")
                series.append(BarSeries(f"{_short(run)} {mode}", colors[run.path], mode == "bok",
                                        [e.get("value") for e in entries], [e.get("ci_low") for e in entries],
                                        [e.get("ci_high") for e in entries]))
        if series:
            figures.append(_figure(bars_png(metric, tasks, series, unit), f"{metric} per task (95% CI)"))
    return f'<div class="grid">{"".join(figures)}</div>' if figures else "<p>No metric values to plot.</p>"


def _budget_section(runs: Sequence[RunDir], colors: dict[Path, str], budget: Budget) -> str:
    out = []
    for task in sorted({t for r in runs for t in r.tasks}):
        series, rows = [], []
        for run in runs:
            if not {"multi", "bok"} <= set(run.metrics.get(task, {})):
                continue
            bc = equal_budget_for(task, "run", run, "run", run, budget)
            if bc.result is None:
                rows.append([_short(run), "", "", "", "", "", f"not computed: {bc.note}"])
                continue
            r = bc.result
            series.append(BudgetSeries(_short(run), colors[run.path], r))
            at, adv = r["bok_at_multi_cost"], r["advantage"]
            rows.append([_short(run), num(r["multi"]["tokens"], 1), num(r["multi"]["hit_at_k"]),
                         num(at["k_equivalent"], 2), num(at["hit_at_k"]), signed(adv["hit_at_k"]),
                         f"multi cost {r['position']} the bok curve (k = 1..{r['bok']['k'][-1]})"])
        if not rows:
            continue
        if series:
            out.append(_figure(budget_png(series, f"{task}: bok curve and the multi point"),
                               f"{task}: coverage and pass@k against {budget} tokens per question"))
        out.append(_table(("run", "multi tokens/q", "multi hit@K", "bok k at that cost", "bok hit@k at that cost",
                           "multi - bok", "note"), rows))
    return "".join(out) or "<p>No run has both multi and bok results for a task.</p>"


def _reliability(runs: Sequence[RunDir], colors: dict[Path, str]) -> str:
    figures = []
    for run in runs:
        for task, mode in run.cells:
            entry = run.entries(task, mode).get("ece", {})
            caption = f"{_short(run)} {task}/{mode}: ECE {num(entry.get('value'))}"
            figures.append(_figure(reliability_png(entry.get("bins"), caption, colors[run.path]), caption))
    return f'<div class="grid">{"".join(figures)}</div>'


def _all_metrics(run: RunDir, task: str, mode: str) -> str:
    rows = []
    for name, e in run.entries(task, mode).items():
        if not isinstance(e, dict):
            continue
        digits = 1 if e.get("unit") == "tokens" else 3
        rows.append([name, str(e.get("unit", "")), num(e.get("value"), digits),
                     interval(e.get("ci_low"), e.get("ci_high"), digits), num(e.get("stderr"), digits),
                     str(e.get("n", "")), str(e.get("skipped", "")), str(e.get("description", ""))])
    header = ("metric", "unit", "value", "95% CI", "stderr", "n", "skipped", "description")
    return (f"<details><summary>{_e(_short(run))} {_e(task)}/{_e(mode)}</summary>"
            f"{_table(header, rows)}</details>")
