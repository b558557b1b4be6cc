"""Run directories as pandas DataFrames, for notebooks and for the leaderboard.

- `records_frame`: one row per run x task x mode x question (candidates, confidences, correctness, tokens).
- `metrics_frame`: one row per run x task x mode x metric (value, stderr, 95% CI, n, unit, direction), lm-eval
  tasks' metrics included (mode `lm-eval`).
- `leaderboard_frame`: `metrics_frame` pivoted to one row per run x task x mode, in the leaderboard's column
  schema (`mabench.leaderboards.leaderboard.LeaderboardRow`); `mabench leaderboard` writes CSV and Markdown
  from it.

Every function takes run directories (or folders of them, such as `runs/`) or already loaded `RunDir`s.
Runs still in progress are refused unless `include_running=True`, as on the command line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mabench.contamination import evaluated_overlap
from mabench.leaderboards.rundir import RunDir, latest_records, load_runs
from mabench.lmeval import LMEVAL_MODE
from mabench.metrics.core import HEADLINE_METRICS
from mabench.types import MODES

Runs = Iterable[RunDir | str | Path] | RunDir | str | Path
RUN_COLUMNS = ("path", "run_id", "model", "status", "k", "config_hash")
METRIC_FIELDS = ("value", "stderr", "ci_low", "ci_high", "n", "unit", "higher_is_better", "total")
_MODE_ORDER = {mode: i for i, mode in enumerate((*MODES, LMEVAL_MODE))}


def load(runs: Runs, *, include_running: bool = False) -> list[RunDir]:
    """`RunDir`s for run directories, folders of them (such as `runs/`), or RunDirs (kept as they are)."""
    if isinstance(runs, (RunDir, str, Path)):
        runs = [runs]
    out: list[RunDir] = []
    for item in runs:
        out.extend([item] if isinstance(item, RunDir) else load_runs([Path(item)], include_running=include_running))
    return out


def _run_fields(run: RunDir, task: str, mode: str) -> dict[str, Any]:
    return {"path": str(run.path), "run_id": run.run_id, "model": mode_model(run, mode)[0], "status": run.status,
            "k": run.config.get("k"), "config_hash": run.config_hash(task)}


def mode_model(run: RunDir, mode: str) -> tuple[str, str | None]:
    """The model that generated `mode` of a run, and its fingerprint: a paired run's bok mode is its
    --bok-model (manifest `mode_models`); every other mode, and runs written before pairing, --model."""
    entry = (run.manifest.get("mode_models") or {}).get(mode)
    if isinstance(entry, dict) and entry.get("model") is not None:
        return str(entry["model"]), entry.get("fingerprint")
    return run.model, run.model_fingerprint


def records_frame(runs: Runs, *, include_running: bool = False) -> pd.DataFrame:
    """One row per question x mode of each run (the latest record of a question; failed ones have `error`).
    List columns: `candidates`, `confidences` (None where not stated), `correct` (one bool per candidate)."""
    rows = []
    for run in load(runs, include_running=include_running):
        for (task, mode), records in latest_records(run.path).items():
            base = _run_fields(run, task, mode)
            for r in records:
                correct = {j.rank: j.correct for j in r.judgements}
                cands = r.answer_set.candidates
                flags = r.answer_set.model_dump(exclude={"candidates", "format_ok"})
                rows.append({**base, "task": task, "mode": mode, "question_id": r.question_id,
                             "n_candidates": len(cands), "candidates": [c.text for c in cands],
                             "confidences": [c.confidence for c in cands],
                             "correct": [bool(correct.get(c.rank, False)) for c in cands],
                             "hit": any(correct.get(c.rank, False) for c in cands),
                             "n_correct": sum(bool(correct.get(c.rank, False)) for c in cands),
                             "format_ok": r.answer_set.format_ok, **flags,
                             "prompt_tokens": r.usage.prompt_tokens, "completion_tokens": r.usage.completion_tokens,
                             "error": r.error})
    return pd.DataFrame(rows, columns=None if rows else [*RUN_COLUMNS, "task", "mode", "question_id"])


def metrics_frame(runs: Runs, *, include_running: bool = False) -> pd.DataFrame:
    """One row per metric of each run x task x mode, as metrics.json has it (numbers, or NaN where undefined)."""
    rows = []
    for run in load(runs, include_running=include_running):
        for task, mode in run.cells:
            base = {**_run_fields(run, task, mode), "task": task, "mode": mode}
            for metric, entry in run.entries(task, mode).items():
                if isinstance(entry, dict):
                    rows.append({**base, "metric": metric,
                                 **{f: _clean(entry.get(f), f) for f in METRIC_FIELDS}})
    return pd.DataFrame(rows, columns=[*RUN_COLUMNS, "task", "mode", "metric", *METRIC_FIELDS])


def _clean(value: Any, field: str) -> Any:
    if field in ("unit", "higher_is_better"):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return math.nan
    return value


def leaderboard_frame(runs: Runs, *, include_running: bool = False) -> pd.DataFrame:
    """One row per run x task x mode with the leaderboard's columns, in its order, sorted as it is."""
    from mabench.leaderboards.leaderboard import COLUMNS

    loaded = load(runs, include_running=include_running)
    metrics = metrics_frame(loaded)
    if metrics.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    key = ["path", "task", "mode"]
    wide = metrics.pivot_table(index=key, columns="metric", values=["value", "ci_low", "ci_high", "n", "total"],
                               aggfunc="first", dropna=False)
    cells = metrics.drop_duplicates(key).set_index(key)[["model", "k", "status", "run_id", "config_hash"]]

    def column(field: str, metric: str) -> pd.Series:
        if (field, metric) in wide.columns:
            return wide[(field, metric)].reindex(cells.index)
        return pd.Series(math.nan, index=cells.index)

    out = cells.copy()
    out["n_questions"] = column("n", "errors").fillna(
        metrics.groupby(key)["n"].max().reindex(cells.index)).fillna(0).astype(int)
    out["n_errors"] = column("value", "errors").fillna(0).astype(int)
    out["format_rate"] = column("value", "format_rate")
    for name in HEADLINE_METRICS:
        out[name], out[f"{name}_ci_low"], out[f"{name}_ci_high"] = (
            column("value", name), column("ci_low", name), column("ci_high", name))
    for name in ("prompt_tokens", "completion_tokens"):
        out[name] = column("value", name)
    totals = [column("total", n).fillna(column("value", n) * column("n", n))
              for n in ("prompt_tokens", "completion_tokens")]
    out["tokens_total"] = totals[0] + totals[1]
    _lmeval_primary(out, metrics, key)
    by_path = {str(r.path): r for r in loaded}
    out = out.reset_index()
    out["model_fingerprint"] = [mode_model(by_path[p], m)[1] for p, m in zip(out["path"], out["mode"], strict=True)]
    out["train_overlap"] = pd.array([evaluated_overlap(by_path[p].manifest.get("train_overlap"), t, m) for p, t, m
                                     in zip(out["path"], out["task"], out["mode"], strict=True)], dtype="Int64")
    out["created"] = [by_path[p].manifest.get("created") for p in out["path"]]
    out["k"] = out["k"].where(out["mode"] != LMEVAL_MODE).astype("Int64")  # lm-eval tasks have no k
    out["_mode"] = [_MODE_ORDER.get(m, len(_MODE_ORDER)) for m in out["mode"]]
    out["_hit"] = -out["hit_at_k"].fillna(-math.inf)
    out = out.sort_values(["task", "_mode", "mode", "_hit", "model", "run_id"], kind="stable")
    return out[list(COLUMNS)].reset_index(drop=True)


def _lmeval_primary(out: pd.DataFrame, metrics: pd.DataFrame, key: list[str]) -> None:
    """lm-eval rows: the task's first metric (lm-eval's own order) in the `lm_eval_*` columns."""
    firsts = metrics[(metrics["mode"] == LMEVAL_MODE) & (metrics["metric"] != "errors")].groupby(key).head(1)
    firsts = firsts.set_index(key).reindex(out.index)
    out["lm_eval_metric"] = firsts["metric"]
    out["lm_eval_value"], out["lm_eval_ci_low"], out["lm_eval_ci_high"] = (
        firsts["value"], firsts["ci_low"], firsts["ci_high"])


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts, NaN and pandas' missing values turned into None."""
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other containers are values
        return False


def pivot_modes(frame: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """A metrics frame as model x task rows with one column per (metric, mode): multi beside bok."""
    chosen = frame[frame["metric"].isin(list(metrics))]
    wide = chosen.pivot_table(index=["model", "task"], columns=["metric", "mode"], values="value", aggfunc="first")
    order = {name: i for i, name in enumerate(metrics)}
    return wide[sorted(wide.columns, key=lambda c: (order[c[0]], _MODE_ORDER.get(c[1], len(_MODE_ORDER))))]
