"""Side-by-side comparison of two runs, or of two modes, with paired CIs and p-values per metric, and the
equal-token-budget comparison of multi against bok.

A side is a run directory, optionally with a mode: `RUN` or `RUN:multi` / `RUN:bok`. Either both sides name a
mode (any two run x mode pairs, matched per task) or neither does (the same task x mode of two runs). Values
are paired by question id; the difference is always B - A.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mabench.lmeval import LMEVAL_MODE
from mabench.types import MODES

from .rundir import RunDir, UsageError, config_differences
from .textfmt import DASH, interval, num, pvalue, signed, table

Budget = Literal["completion", "total"]
POOLED_NOTE = "pooled metric: no per-question values to pair, so no paired CI or p-value; compare the two CIs"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SideInfo(_Model):
    name: str  # "A" or "B"
    path: str
    run_id: str
    model: str
    status: str
    mode: str | None


class MetricDiff(_Model):
    task: str
    mode_a: str
    mode_b: str
    metric: str
    unit: str | None
    higher_is_better: bool | None
    a: float | None
    a_ci_low: float | None
    a_ci_high: float | None
    b: float | None
    b_ci_low: float | None
    b_ci_high: float | None
    diff: float | None  # B - A, on the questions both sides have (paired) or of the headlines (pooled)
    diff_ci_low: float | None
    diff_ci_high: float | None
    p_value: float | None
    test: str | None  # mcnemar_exact, paired_permutation, or None (no per-question values)
    n_paired: int
    n_only_a: int
    n_only_b: int
    note: str | None = None


class BudgetComparison(_Model):
    task: str
    bok: str  # which side's bok records: "A" or "B"
    multi: str
    result: dict[str, Any] | None  # `mabench.metrics.equal_budget` output
    note: str | None = None
    multi_k: int | None = None  # K the multi run asked for (its config), not the candidates it parsed


class Comparison(_Model):
    a: SideInfo
    b: SideInfo
    metrics: list[MetricDiff]
    budgets: list[BudgetComparison]
    notes: list[str]


def parse_side(spec: str) -> tuple[Path, str | None]:
    """`RUN` or `RUN:MODE` (MODE one of MODES); a path that exists as given is always a plain run."""
    head, sep, tail = spec.rpartition(":")
    if sep and tail in MODES and not Path(spec).exists():
        return Path(head), tail
    if sep and head and not Path(spec).exists() and Path(head).is_dir():
        raise UsageError(f"{spec!r}: unknown mode {tail!r}; expected RUN or RUN:MODE with MODE one of "
                         f"{', '.join(MODES)}")
    return Path(spec), None


def compare(
    a: RunDir, a_mode: str | None, b: RunDir, b_mode: str | None, *,
    tasks: Sequence[str] | None = None, modes: Sequence[str] | None = None, metrics: Sequence[str] | None = None,
    budget: Budget = "completion", n_resamples: int = 9999,
) -> Comparison:
    if (a_mode is None) != (b_mode is None):
        raise UsageError("A and B: give a mode on both sides (RUN:multi RUN:bok) or on neither (RUN_A RUN_B)")
    if a.path.resolve() == b.path.resolve() and a_mode == b_mode:
        raise UsageError(f"A and B are the same ({a.path}{':' + a_mode if a_mode else ''}); expected two runs, "
                         "or two modes of one run (RUN:multi RUN:bok)")
    cells = _cells(a, a_mode, b, b_mode, tasks, modes)
    names = _metric_names(a, b, cells, metrics)
    rows = [_diff(a, b, cell, name, n_resamples) for cell in cells for name in names
            if name in a.entries(cell[0], cell[1]) or name in b.entries(cell[0], cell[2])]
    budgets = _budgets(a, a_mode, b, b_mode, sorted({c[0] for c in cells}), budget)
    return Comparison(a=_info("A", a, a_mode), b=_info("B", b, b_mode), metrics=rows, budgets=budgets,
                      notes=_notes(a, a_mode, b, b_mode, cells))


def _info(name: str, run: RunDir, mode: str | None) -> SideInfo:
    return SideInfo(name=name, path=str(run.path), run_id=run.run_id, model=run.model_of(mode), status=run.status,
                    mode=mode)


def _cells(a: RunDir, a_mode: str | None, b: RunDir, b_mode: str | None, tasks: Sequence[str] | None,
           modes: Sequence[str] | None) -> list[tuple[str, str, str]]:
    """(task, mode of A, mode of B) for every comparison to make."""
    for option, values, known in (("--task", tasks, {*a.tasks, *b.tasks}), ("--mode", modes, set(MODES))):
        unknown = sorted(set(values or ()) - known)
        if unknown:
            raise UsageError(f"{option} {', '.join(unknown)}: not in A or B; "
                             f"expected one of {', '.join(sorted(known))}")
    if a_mode is not None and b_mode is not None:
        if modes:
            raise UsageError("--mode: the sides already name their modes (RUN:MODE); expected --mode only when "
                             "comparing two whole runs")
        cells = [(t, a_mode, b_mode) for t in a.tasks if a_mode in a.metrics[t] and b_mode in b.metrics.get(t, {})]
    else:
        cells = [(t, m, m) for t, m in a.cells if (t, m) in b.cells and (not modes or m in modes)]
    cells = [c for c in cells if not tasks or c[0] in tasks]
    if not cells:
        raise UsageError(
            f"A ({a.path}{':' + a_mode if a_mode else ''}) and B ({b.path}{':' + b_mode if b_mode else ''}) have no "
            f"task x mode in common{' after --task/--mode' if tasks or modes else ''}: A has "
            f"{_cell_list(a)}, B has {_cell_list(b)}; expected runs of the same tasks"
        )
    return cells


def _cell_list(run: RunDir) -> str:
    return ", ".join(f"{t}/{m}" for t, m in run.cells) or "nothing"


def _metric_names(a: RunDir, b: RunDir, cells: list[tuple[str, str, str]], wanted: Sequence[str] | None) -> list[str]:
    present: list[str] = []
    for task, mode_a, mode_b in cells:
        for name in (*a.entries(task, mode_a), *b.entries(task, mode_b)):
            if name != "errors" and name not in present:
                present.append(name)
    if not wanted:  # and every metric of lm-eval tasks, which report their own
        lmeval = [n for t, ma, mb in cells if ma == LMEVAL_MODE for n in (*a.entries(t, ma), *b.entries(t, mb))]
        return [n for n in _default_metrics() if n in present] + [n for n in dict.fromkeys(lmeval) if n != "errors"]
    if list(wanted) == ["all"]:
        return present
    unknown = [n for n in wanted if n not in present]
    if unknown:
        raise UsageError(f"--metric {', '.join(unknown)}: not reported by A or B; expected 'all' or some of "
                         f"{', '.join(present)}")
    return list(wanted)


def _default_metrics() -> list[str]:
    """The metrics compared when --metric is not given: headline metrics and those comparison.json pairs, as
    their specs say, in the order of the metric registry."""
    from mabench.metrics import SPECS

    return [name for name, spec in SPECS.items() if spec.headline or spec.paired]


def _diff(a: RunDir, b: RunDir, cell: tuple[str, str, str], name: str, n_resamples: int) -> MetricDiff:
    from mabench.metrics import MetricEntry, metric_spec, paired_difference

    task, mode_a, mode_b = cell
    raw_a, raw_b = a.entries(task, mode_a).get(name, {}), b.entries(task, mode_b).get(name, {})
    ea, eb = MetricEntry.read(raw_a), MetricEntry.read(raw_b)
    va, vb = ea.value, eb.value
    spec = metric_spec(name)  # a metric's facts come from its spec; entries speak for metrics mabench lacks
    base: dict[str, Any] = dict(
        task=task, mode_a=mode_a, mode_b=mode_b, metric=name, unit=spec.unit if spec else ea.unit or eb.unit,
        higher_is_better=spec.higher_is_better if spec else raw_a.get("higher_is_better",
                                                                      raw_b.get("higher_is_better")),
        a=va, a_ci_low=ea.ci_low, a_ci_high=ea.ci_high,
        b=vb, b_ci_low=eb.ci_low, b_ci_high=eb.ci_high,
        diff=None, diff_ci_low=None, diff_ci_high=None, p_value=None, test=None, n_paired=0, n_only_a=0, n_only_b=0,
    )
    if va is None or vb is None:
        reason = eb.skipped if vb is None else ea.skipped
        side = "B" if vb is None else "A"
        return MetricDiff(**base, note=f"no value in {side}" + (f": {reason}" if reason else ""))
    if not (isinstance(ea.per_question, dict) and isinstance(eb.per_question, dict)):
        return MetricDiff(**{**base, "diff": vb - va}, note=POOLED_NOTE)
    res = paired_difference(name, eb, ea, n_resamples=n_resamples)  # B first: diff = B - A
    note = None
    if res["n"] == 0:
        note = "no question with a value on both sides; expected runs of the same questions"
    elif res["n_only_a"] or res["n_only_b"]:
        note = f"paired on {res['n']} shared questions ({res['n_only_b']} only in A, {res['n_only_a']} only in B)"
    return MetricDiff(**{**base, "diff": res["diff"], "diff_ci_low": res["ci_low"], "diff_ci_high": res["ci_high"],
                         "p_value": res["p_value"], "test": res["test"], "n_paired": res["n"],
                         "n_only_a": res["n_only_b"], "n_only_b": res["n_only_a"]}, note=note)


def _budgets(a: RunDir, a_mode: str | None, b: RunDir, b_mode: str | None, tasks: list[str],
             budget: Budget) -> list[BudgetComparison]:
    out = []
    for task in tasks:
        pairs: list[tuple[str, RunDir, str, RunDir]] = []  # (bok side, its run, multi side, its run)
        if {a_mode, b_mode} == {"multi", "bok"}:
            pairs.append(("A", a, "B", b) if a_mode == "bok" else ("B", b, "A", a))
        elif a_mode is None:
            pairs.extend((s, r, s, r) for s, r in (("A", a), ("B", b))
                         if {"multi", "bok"} <= set(r.metrics.get(task, {})))
        for bok_side, bok_run, multi_side, multi_run in pairs:
            out.append(equal_budget_for(task, bok_side, bok_run, multi_side, multi_run, budget))
    return out


def equal_budget_for(task: str, bok_side: str, bok_run: RunDir, multi_side: str, multi_run: RunDir,
                     budget: Budget = "completion") -> BudgetComparison:
    """`equal_budget` on one task's records; a problem (e.g. no shared question) becomes a note."""
    from mabench.metrics import equal_budget

    multi_k = multi_run.config.get("k")
    try:
        result = equal_budget(bok_run.records(task, "bok"), multi_run.records(task, "multi"), budget)
    except ValueError as err:
        return BudgetComparison(task=task, bok=bok_side, multi=multi_side, result=None, note=str(err),
                                multi_k=multi_k)
    return BudgetComparison(task=task, bok=bok_side, multi=multi_side, result=result, multi_k=multi_k)


def _notes(a: RunDir, a_mode: str | None, b: RunDir, b_mode: str | None,
           cells: list[tuple[str, str, str]]) -> list[str]:
    notes = [f"{side} ({run.path}) is still in progress: its numbers cover the records written so far"
             for side, run in (("A", a), ("B", b)) if run.running]
    if a_mode is None:
        done = {(t, m) for t, m, _ in cells}
        only = [(side, [f"{t}/{m}" for t, m in run.cells if (t, m) not in done]) for side, run in (("A", a), ("B", b))]
        notes.extend(f"not compared, only in {side}: {', '.join(cs)}" for side, cs in only if cs)
    if a.path.resolve() != b.path.resolve():
        diffs = config_differences(a.config, b.config, "A", "B")
        if diffs:
            notes.append("configs differ beyond the model: " + "; ".join(diffs))
    return notes


def render(cmp: Comparison) -> str:
    lines = [f"{s.name}: {s.path}{':' + s.mode if s.mode else ''}  model {s.model}  run {s.run_id}"
             + ("  (RUNNING)" if s.status == "running" else "") for s in (cmp.a, cmp.b)]
    lines.extend(f"note: {n}" for n in cmp.notes)
    header = ["task/mode", "metric", "A [95% CI]", "B [95% CI]", "B - A [95% CI]", "p", "test", "n"]
    rows = []
    for d in cmp.metrics:
        where = f"{d.task}/{d.mode_a}" if d.mode_a == d.mode_b else f"{d.task} {d.mode_a} vs {d.mode_b}"
        digits = 1 if d.unit == "tokens" else 3
        rows.append([
            where, d.metric, f"{num(d.a, digits)} {interval(d.a_ci_low, d.a_ci_high, digits)}".strip(),
            f"{num(d.b, digits)} {interval(d.b_ci_low, d.b_ci_high, digits)}".strip(),
            f"{signed(d.diff, digits)} {interval(d.diff_ci_low, d.diff_ci_high, digits, sign=True)}".strip(),
            pvalue(d.p_value), d.test or DASH, str(d.n_paired) if d.test else DASH,
        ])
    lines += ["", table(header, rows)]
    pooled = sorted({d.metric for d in cmp.metrics if d.note == POOLED_NOTE})
    row_notes = [f"  {', '.join(pooled)}: {POOLED_NOTE}"] if pooled else []
    row_notes += [f"  {d.task}/{d.mode_a if d.mode_a == d.mode_b else d.mode_a + ' vs ' + d.mode_b} {d.metric}: "
                  f"{d.note}" for d in cmp.metrics if d.note and d.note != POOLED_NOTE]
    if row_notes:
        lines += ["", "notes:", *row_notes]
    for budget in cmp.budgets:
        lines += ["", *render_budget(budget)]
    return "\n".join(lines) + "\n"


def render_budget(bc: BudgetComparison) -> list[str]:
    where = bc.bok if bc.bok == bc.multi else f"bok from {bc.bok}, multi from {bc.multi}"
    title = f"equal token budget, {bc.task} ({where})"
    if bc.result is None:
        return [f"{title}: not computed: {bc.note}"]
    r = bc.result
    curve = r["bok"]
    lines = [f"{title}: {r['budget']} tokens per question, {r['n_questions']} questions",
             table(["", "k", "tokens", "hit@k", "pass@k", "answers/question"],
                   [["bok", str(k), num(t, 1), num(h), num(p), ""]
                    for k, t, h, p in zip(curve["k"], curve["tokens"], curve["hit_at_k"], curve["pass_at_k"],
                                          strict=True)]
                   + [["multi", f"K={bc.multi_k}" if bc.multi_k else "K=?", num(r["multi"]["tokens"], 1),
                       num(r["multi"]["hit_at_k"]), "", num(r["multi"]["n_candidates"], 1)]], indent="  "),
             "  answers/question: multi's parsed candidates per question, mean (at most K)"]
    at = r["bok_at_multi_cost"]
    if r["position"] == "within":
        adv = r["advantage"]
        lines.append(f"  at multi's cost bok reaches hit@k {num(at['hit_at_k'])}, pass@k {num(at['pass_at_k'])} "
                     f"(k = {num(at['k_equivalent'], 2)}): multi - bok = {signed(adv['hit_at_k'])} (hit@k), "
                     f"{signed(adv['pass_at_k'])} (pass@k)")
    else:
        lines.append(f"  multi's cost is {r['position']} the bok curve (k = 1..{curve['k'][-1]}): "
                     "no bok point at equal cost")
    return lines
