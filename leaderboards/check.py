"""Regression check of a run (a checkpoint) against a baseline run directory or leaderboard CSV rows.

A metric regresses when it is worse than the baseline, in its own direction (`higher_is_better`), by more than
the tolerance, and, under the `ci` and `paired` rules, also beyond statistical noise:
- `tolerance`: worse by more than the tolerance.
- `ci`: worse by more than the tolerance, and the two 95% CIs do not overlap.
- `paired`: worse by more than the tolerance, and the paired 95% CI of the per-question change excludes 0
  (McNemar / permutation p-value reported); needs a baseline run directory. Pooled metrics (no per-question
  values) fall back to the `ci` rule, and say so.
A metric that has a baseline value but none in the run (e.g. the checkpoint stopped stating confidences)
counts as a regression. The tolerance is absolute ("0.02") or relative to the baseline value ("5%").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mabench.lmeval import LMEVAL_MODE
from mabench.types import MODES

from .leaderboard import HEADLINE_METRICS, LeaderboardRow, read_csv
from .rundir import RunDir, UsageError, config_differences
from .textfmt import num, signed, table

Rule = Literal["tolerance", "ci", "paired"]
RULES: tuple[str, ...] = ("tolerance", "ci", "paired")
_SLACK = 1e-12  # float noise is not a regression
_MODE_ORDER = {mode: i for i, mode in enumerate(MODES)}


class Tolerance(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    value: float = Field(0.0, ge=0.0)
    relative: bool = False  # a share of the baseline value

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        """"0.02" (absolute, in the metric's unit) or "5%" (relative to the baseline value)."""
        raw = text.strip()
        relative = raw.endswith("%")
        try:
            number = float(raw[:-1] if relative else raw)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number < 0:
            raise UsageError(f"--tolerance {text!r}: expected a non-negative number such as 0.02 (absolute) or 5% "
                             "(relative to the baseline value)")
        return cls(value=number / 100 if relative else number, relative=relative)

    def threshold(self, baseline: float) -> float:
        return self.value * abs(baseline) if self.relative else self.value

    def describe(self) -> str:
        return f"{self.value * 100:g}% of the baseline value" if self.relative else f"{self.value:g} (absolute)"


class CheckConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Rule = "tolerance"
    tolerance: Tolerance = Tolerance()
    metrics: list[str] | None = None  # None: the `checked` metrics (their specs say) both sides report
    tasks: list[str] | None = None
    modes: list[str] | None = None


@dataclass(frozen=True)
class Baseline:
    """What a run is checked against: metric entries per (task, mode), from a run directory or CSV rows."""

    label: str
    kind: Literal["run", "csv"]
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]]
    config_hashes: dict[tuple[str, str], str]
    run: RunDir | None = None


class MetricCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str
    mode: str
    metric: str
    higher_is_better: bool
    baseline: float | None
    run: float | None
    change: float | None  # run - baseline
    relative_change: float | None  # change / |baseline|
    threshold: float  # the tolerance in the metric's unit
    regressed: bool
    verdict: Literal["regressed", "worse", "better", "unchanged", "no baseline value"]
    why: str
    rule: Rule  # the rule applied (paired falls back to ci for pooled metrics)
    change_ci_low: float | None = None  # paired rule: 95% CI of the per-question change
    change_ci_high: float | None = None
    p_value: float | None = None
    test: str | None = None
    n_paired: int | None = None


class CheckReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    passed: bool
    n_checks: int
    n_regressed: int
    rule: Rule
    tolerance: float
    tolerance_relative: bool
    run: dict[str, Any]
    baseline: dict[str, Any]
    checks: list[MetricCheck]
    warnings: list[str]


def baseline_from_run(run: RunDir) -> Baseline:
    return Baseline(label=f"{run.path} (model {run.model}, run {run.run_id})", kind="run",
                    cells={(t, m): run.entries(t, m) for t, m in run.cells},
                    config_hashes={(t, m): run.config_hash(t) for t, m in run.cells}, run=run)


def baseline_from_rows(rows: Sequence[LeaderboardRow], source: str, run: RunDir, *, model: str | None = None,
                       run_id: str | None = None) -> Baseline:
    """One row per (task, mode) from leaderboard rows: those of `model` / `run_id` when given; where several
    remain, the one evaluated like `run` (same config_hash). Ambiguity is an error listing the choices."""
    chosen = [r for r in rows if (model is None or r.model == model) and (run_id is None or r.run_id == run_id)]
    if not chosen:
        picks = ", ".join(sorted({f"{r.model} (run {r.run_id})" for r in rows}))
        raise UsageError(f"{source}: no row for {'model ' + repr(model) if model else ''}"
                         f"{' run ' + repr(run_id) if run_id else ''}; expected one of: {picks}")
    by_cell: dict[tuple[str, str], list[LeaderboardRow]] = {}
    for row in chosen:
        by_cell.setdefault((row.task, row.mode), []).append(row)
    cells: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    hashes: dict[tuple[str, str], str] = {}
    for (task, mode), group in sorted(by_cell.items(), key=lambda item: (item[0][0], _MODE_ORDER.get(item[0][1], 9))):
        if len(group) > 1:
            group = [r for r in group if r.config_hash == run.config_hash(task)] or group
        if len(group) > 1:
            listed = ", ".join(f"{r.model} (run {r.run_id})" for r in group)
            raise UsageError(f"{source}: {len(group)} rows for {task}/{mode} ({listed}); expected one: pick it "
                             "with --baseline-run-id or --baseline-model")
        cells[(task, mode)] = _row_entries(group[0])
        hashes[(task, mode)] = group[0].config_hash
    runs = sorted({r.run_id for r in chosen})
    return Baseline(label=f"{source} (rows of run {', '.join(runs)})", kind="csv", cells=cells, config_hashes=hashes)


def baseline_from_csv(path: Any, run: RunDir, *, model: str | None = None, run_id: str | None = None) -> Baseline:
    return baseline_from_rows(read_csv(path), str(path), run, model=model, run_id=run_id)


def _row_entries(row: LeaderboardRow) -> dict[str, dict[str, Any]]:
    entries = {name: {"value": getattr(row, name), "ci_low": getattr(row, f"{name}_ci_low"),
                      "ci_high": getattr(row, f"{name}_ci_high")} for name in HEADLINE_METRICS}
    for name in ("format_rate", "prompt_tokens", "completion_tokens"):
        entries[name] = {"value": getattr(row, name)}
    if row.lm_eval_metric:  # an lm-eval task's row carries its first metric
        entries = {row.lm_eval_metric: {"value": row.lm_eval_value, "ci_low": row.lm_eval_ci_low,
                                        "ci_high": row.lm_eval_ci_high}}
    return entries


def check(run: RunDir, baseline: Baseline, config: CheckConfig) -> CheckReport:
    if config.rule == "paired" and baseline.run is None:
        raise UsageError(f"--rule paired: needs per-question values, so a baseline run directory; {baseline.label} "
                         "is a leaderboard CSV (use --rule tolerance or --rule ci with a CSV)")
    cells = [c for c in baseline.cells if (not config.tasks or c[0] in config.tasks)
             and (not config.modes or c[1] in config.modes)]
    if not cells:
        raise UsageError(f"BASELINE {baseline.label}: nothing to check after --task/--mode; it has "
                         f"{', '.join(f'{t}/{m}' for t, m in baseline.cells)}")
    missing = [f"{t}/{m}" for t, m in cells if (t, m) not in run.cells]
    if missing:
        raise UsageError(
            f"RUN {run.path} has no results for {', '.join(missing)}, which BASELINE {baseline.label} has; expected "
            f"the same tasks and modes (RUN has {', '.join(f'{t}/{m}' for t, m in run.cells) or 'none'}), or "
            "narrow the check with --task / --mode"
        )
    warnings = _warnings(run, baseline, cells)
    checks = [result for task, mode in cells for name in _names(run, baseline, (task, mode), config.metrics)
              if (result := _check_one(run, baseline, task, mode, name, config)) is not None]
    if not checks:
        raise UsageError("no metric to check: none of the chosen metrics has a direction and a value on either side")
    n_regressed = sum(c.regressed for c in checks)
    return CheckReport(
        passed=n_regressed == 0, n_checks=len(checks), n_regressed=n_regressed, rule=config.rule,
        tolerance=config.tolerance.value, tolerance_relative=config.tolerance.relative,
        run={"path": str(run.path), "model": run.model, "run_id": run.run_id, "status": run.status},
        baseline={"source": baseline.label, "kind": baseline.kind,
                  **({"path": str(baseline.run.path), "model": baseline.run.model, "run_id": baseline.run.run_id}
                     if baseline.run else {})},
        checks=checks, warnings=warnings,
    )


def _names(run: RunDir, baseline: Baseline, cell: tuple[str, str], wanted: list[str] | None) -> list[str]:
    present = {*run.entries(*cell), *baseline.cells[cell]} - {"errors"}
    if wanted is None and cell[1] == LMEVAL_MODE:  # an lm-eval task: every metric it reports
        return [n for n in {**run.entries(*cell), **baseline.cells[cell]} if n != "errors"]
    if wanted is None:
        from mabench.metrics.core import CHECKED_METRICS  # the metrics whose spec says `checked`

        return [n for n in CHECKED_METRICS if n in present]
    unknown = [n for n in wanted if n not in present]
    if unknown:
        raise UsageError(f"--metric {', '.join(unknown)}: not reported for {cell[0]}/{cell[1]} by RUN or BASELINE; "
                         f"expected some of {', '.join(sorted(present))}")
    return wanted


def _direction(run: RunDir, baseline: Baseline, cell: tuple[str, str], name: str) -> bool | None:
    """Which way is better: the metric's spec says; for metrics mabench does not define, their entries do."""
    from mabench.metrics import metric_spec

    spec = metric_spec(name)
    if spec is not None:
        return spec.higher_is_better
    for entry in (run.entries(*cell).get(name, {}), baseline.cells[cell].get(name, {})):
        if "higher_is_better" in entry:
            return entry["higher_is_better"]
    return None


def _check_one(run: RunDir, baseline: Baseline, task: str, mode: str, name: str,
               config: CheckConfig) -> MetricCheck | None:
    cell = (task, mode)
    higher = _direction(run, baseline, cell, name)
    if higher is None:
        if config.metrics is not None:
            raise UsageError(f"--metric {name}: has no better direction (higher_is_better is null), so it cannot "
                             "regress; expected a metric such as hit_at_k or brier")
        return None
    er, eb = run.entries(*cell).get(name, {}), baseline.cells[cell].get(name, {})
    vr, vb = _finite(er.get("value")), _finite(eb.get("value"))
    threshold = config.tolerance.threshold(vb) if vb is not None else config.tolerance.value
    base: dict[str, Any] = dict(task=task, mode=mode, metric=name, higher_is_better=higher, baseline=vb, run=vr,
                                threshold=threshold, rule=config.rule)
    if vb is None:
        return MetricCheck(**base, change=None, relative_change=None, regressed=False, verdict="no baseline value",
                           why="the baseline has no value for this metric; nothing to regress from")
    if vr is None:
        reason = er.get("skipped") or "metric missing"
        return MetricCheck(**base, change=None, relative_change=None, regressed=True, verdict="regressed",
                           why=f"the run has no value ({reason}) where the baseline has {num(vb)}")
    change = vr - vb
    worse_by = -change if higher else change
    relative = change / abs(vb) if vb else None
    verdict = "worse" if worse_by > _SLACK else "better" if worse_by < -_SLACK else "unchanged"
    by = f"{'worse' if worse_by > 0 else 'better'} by {num(abs(change))}" + (
        f" ({signed(relative * 100, 1)}%)" if relative is not None else "")
    beyond = worse_by > threshold + _SLACK
    tol = f"the tolerance {num(threshold)}"
    if verdict == "unchanged":
        return MetricCheck(**base, change=change, relative_change=relative, regressed=False, verdict=verdict,
                           why="unchanged")
    if verdict == "better":
        return MetricCheck(**base, change=change, relative_change=relative, regressed=False, verdict=verdict, why=by)
    if not beyond:
        return MetricCheck(**base, change=change, relative_change=relative, regressed=False, verdict=verdict,
                           why=f"{by}, within {tol}")
    rule, regressed, evidence, extra = _beyond_noise(config.rule, cell, name, er, eb, higher)
    why = f"{by}, more than {tol}" + (f"; {evidence}" if evidence else "")
    return MetricCheck(**{**base, "rule": rule}, change=change, relative_change=relative, regressed=regressed,
                       verdict="regressed" if regressed else verdict, why=why, **extra)


def _beyond_noise(rule: Rule, cell: tuple[str, str], name: str, er: dict[str, Any], eb: dict[str, Any],
                  higher: bool) -> tuple[Rule, bool, str, dict[str, Any]]:
    """For a metric already worse than the tolerance: (rule applied, regressed, evidence, paired numbers)."""
    if rule == "tolerance":
        return rule, True, "", {}
    if rule == "paired":
        paired = _paired(cell, name, er, eb, higher)
        if paired is not None:
            extra, significant, evidence = paired
            return rule, significant, evidence, extra
    significant, evidence = _ci_rule(er, eb, higher)
    if rule == "paired":
        evidence = "pooled metric, no per-question values, so the ci rule: " + evidence
    return "ci", significant, evidence, {}


def _ci_rule(er: dict[str, Any], eb: dict[str, Any], higher: bool) -> tuple[bool, str]:
    lr, hr, lb, hb = (_finite(e.get(k)) for e, k in ((er, "ci_low"), (er, "ci_high"), (eb, "ci_low"),
                                                     (eb, "ci_high")))
    if None in (lr, hr, lb, hb):
        return True, "a 95% CI is undefined (too few questions), so judged on the tolerance alone"
    apart = hr < lb if higher else lr > hb  # type: ignore[operator]
    where = f"run [{num(lr)}, {num(hr)}] vs baseline [{num(lb)}, {num(hb)}]"
    return apart, (f"the 95% CIs do not overlap ({where})" if apart else f"but the 95% CIs overlap ({where})")


def _paired(cell: tuple[str, str], name: str, er: dict[str, Any], eb: dict[str, Any],
            higher: bool) -> tuple[dict[str, Any], bool, str] | None:
    from mabench.metrics import MetricEntry, paired_difference

    pr, pb = er.get("per_question"), eb.get("per_question")
    if not (isinstance(pr, dict) and isinstance(pb, dict)):
        return None
    res = paired_difference(name, MetricEntry.read(er), MetricEntry.read(eb))
    if res["n"] == 0:
        raise UsageError(f"--rule paired: RUN and BASELINE share no question for {cell[0]}/{cell[1]}; expected runs "
                         "of the same questions")
    low, high = res["ci_low"], res["ci_high"]
    significant = low is not None and high is not None and (high < 0 if higher else low > 0)
    ci = f"[{signed(low)}, {signed(high)}]" if low is not None else "undefined"
    evidence = (f"paired 95% CI of the change {ci} {'excludes' if significant else 'includes'} 0 "
                f"(p = {num(res['p_value'])}, {res['test']}, {res['n']} questions)")
    if not significant:
        evidence = "but the " + evidence
    extra = {"change_ci_low": low, "change_ci_high": high, "p_value": res["p_value"], "test": res["test"],
             "n_paired": res["n"]}
    return extra, significant, evidence


def _warnings(run: RunDir, baseline: Baseline, cells: list[tuple[str, str]]) -> list[str]:
    out = []
    if run.running:
        out.append(f"RUN {run.path} is still in progress: checked on the records written so far")
    if baseline.run is not None:
        if baseline.run.path.resolve() == run.path.resolve():
            out.append("RUN and BASELINE are the same run directory")
        diffs = config_differences(baseline.run.config, run.config, "baseline", "run")
        if diffs:
            out.append("configs differ beyond the model, so the numbers may not be comparable: " + "; ".join(diffs))
    else:
        diffs = [f"{t}/{m}" for t, m in cells if baseline.config_hashes[(t, m)] != run.config_hash(t)]
        if diffs:
            out.append(f"evaluated with other settings than the baseline rows (config_hash differs) for "
                       f"{', '.join(diffs)}; the numbers may not be comparable")
    unchecked = [f"{t}/{m}" for t, m in run.cells if (t, m) not in baseline.cells]
    if unchecked:
        out.append(f"not checked (no baseline): {', '.join(unchecked)}")
    return out


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def render(report: CheckReport) -> str:
    verdict = "PASSED" if report.passed else "FAILED"
    tol = Tolerance(value=report.tolerance, relative=report.tolerance_relative).describe()
    lines = [
        f"mabench check: {verdict}: {report.n_regressed} of {report.n_checks} checks regressed "
        f"(rule {report.rule}, tolerance {tol})",
        f"run:      {report.run['path']}  model {report.run['model']}  run {report.run['run_id']}"
        + ("  (RUNNING)" if report.run["status"] == "running" else ""),
        f"baseline: {report.baseline['source']}",
        *(f"warning: {w}" for w in report.warnings),
        "",
        table(["verdict", "task/mode", "metric", "baseline", "run", "change", "why"],
              [[("REGRESSED" if c.regressed else "ok"), f"{c.task}/{c.mode}", c.metric, num(c.baseline), num(c.run),
                signed(c.change), c.why] for c in report.checks]),
    ]
    return "\n".join(lines) + "\n"
