"""The `leaderboard`, `compare`, `check` and `report` commands. `register(app)` adds them to `mabench`.

Exit codes: 0 success; 1 `check` found a regression; 2 bad input (the message names it and what was expected).
Importing this module stays light: the work (and numpy, scipy, matplotlib) is imported inside each command.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from mabench.cli_errors import REGRESSION, USAGE_ERROR

_RUNNING_HELP = "include runs still in progress (manifest status 'running'), marked as running"
_RUNS_HELP = "run directories (or folders of them, such as runs/)"


def register(app: typer.Typer) -> None:
    app.command("leaderboard")(leaderboard)
    app.command("compare")(compare)
    app.command("check")(check)
    app.command("report")(report)


def _split(values: list[str] | None) -> list[str] | None:
    parts = [p.strip() for v in values or [] for p in v.split(",") if p.strip()]
    return parts or None


def _note(message: str) -> None:
    typer.echo(f"note: {message}", err=True)


@contextmanager
def _usage_errors(json_out: bool = False) -> Iterator[None]:
    """Bad input exits 2 with `error: ...` on stderr (and {"error": ...} on stdout under --json), a run
    directory that cannot be read back included."""
    from mabench.store import RunStoreError

    from .rundir import UsageError

    try:
        yield
    except (UsageError, RunStoreError, OSError) as err:
        if json_out:
            typer.echo(json.dumps({"error": str(err)}))
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def _choice(value: str, option: str, choices: tuple[str, ...]) -> str:
    from .rundir import UsageError

    if value not in choices:
        raise UsageError(f"{option} {value!r}: expected one of {', '.join(choices)}")
    return value


def leaderboard(
    run_dirs: Annotated[list[Path], typer.Argument(help=_RUNS_HELP, show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv or md (default: md for a .md output, else csv)")
                   ] = None,
    include_running: Annotated[bool, typer.Option("--include-running", help=_RUNNING_HELP)] = False,
) -> None:
    """Leaderboard CSV (or Markdown): one row per run x task x mode.

    Columns: headline metrics with 95% CIs, token cost, n questions, format rate, run id and config hash
    (docs/leaderboard-schema.md). Runs with different configs are separate rows, never averaged."""
    from .leaderboard import leaderboard_rows, to_csv, to_markdown
    from .rundir import coverage_notes, duplicate_notes, load_runs, running_notes

    with _usage_errors():
        chosen = _choice(fmt or ("md" if output and output.suffix.lower() == ".md" else "csv"), "--format",
                         ("csv", "md"))
        runs = load_runs(run_dirs, include_running=include_running)
        for message in (*running_notes(runs), *coverage_notes(runs), *duplicate_notes(runs)):
            _note(message)
        rows = leaderboard_rows(runs)
        text = to_csv(rows) if chosen == "csv" else to_markdown(rows)
    _emit(text, output, f"{len(rows)} rows from {len(runs)} run(s)")


def compare(
    a: Annotated[str, typer.Argument(help="the reference: RUN or RUN:MODE (multi or bok)", show_default=False)],
    b: Annotated[str | None, typer.Argument(help="compared with A: RUN or RUN:MODE; left out: A's multi against "
                                                 "A's bok (as A:bok A:multi)", show_default=False)] = None,
    task: Annotated[list[str] | None, typer.Option(help="only these tasks (comma-separated or repeated)")] = None,
    mode: Annotated[list[str] | None, typer.Option(help="only these modes, when comparing two runs")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="metrics to compare, or 'all' (default: headline)")] = None,
    budget: Annotated[str, typer.Option(help="equal-budget cost: completion or total tokens")] = "completion",
    json_out: Annotated[bool, typer.Option("--json", help="print the comparison as JSON")] = False,
    include_running: Annotated[bool, typer.Option("--include-running", help=_RUNNING_HELP)] = False,
) -> None:
    """Compare two runs, or two modes, side by side, with paired CIs and p-values.

    `compare RUN_A RUN_B`, `compare RUN:bok RUN:multi` (any RUN:MODE pair), or `compare RUN` (its multi against
    its bok, as RUN:bok RUN:multi). Differences are B - A, paired by question id; the equal-token-budget
    comparison of multi against bok follows."""
    from .compare import compare as run_compare
    from .compare import parse_side, render
    from .rundir import UsageError, load_one

    with _usage_errors(json_out):
        path_a, mode_a = parse_side(a)
        if b is None:
            if mode_a is not None:
                raise UsageError(f"{a!r}: with one argument, give a run directory (its multi is compared with "
                                 "its bok); to compare modes write RUN:bok RUN:multi")
            path_b, mode_a, mode_b = path_a, "bok", "multi"  # B - A = multi - bok
        else:
            path_b, mode_b = parse_side(b)
        run_a = load_one(path_a, include_running=include_running)
        run_b = run_a if path_b == path_a else load_one(path_b, include_running=include_running)
        result = run_compare(run_a, mode_a, run_b, mode_b, tasks=_split(task), modes=_split(mode),
                             metrics=_split(metric), budget=_choice(budget, "--budget", ("completion", "total")))
    typer.echo(result.model_dump_json(indent=2) if json_out else render(result), nl=json_out)


def check(
    run: Annotated[Path, typer.Argument(help="the run to gate (e.g. a new checkpoint's run directory)",
                                        show_default=False)],
    baseline: Annotated[Path, typer.Option(help="a baseline run directory, or a leaderboard CSV",
                                           show_default=False)],
    metric: Annotated[list[str] | None, typer.Option(
        help="metrics to check (comma-separated or repeated; default: hit_at_k, top1_accuracy, recall, "
             "format_rate, brier, ece where reported)")] = None,
    tolerance: Annotated[str, typer.Option(help="allowed worsening: absolute (0.02) or relative (5%)")] = "0",
    rule: Annotated[str, typer.Option(help="tolerance | ci (CIs must not overlap) | paired (paired CI excludes 0)")
                    ] = "tolerance",
    task: Annotated[list[str] | None, typer.Option(help="only these tasks")] = None,
    mode: Annotated[list[str] | None, typer.Option(help="only these modes")] = None,
    baseline_model: Annotated[str | None, typer.Option(help="CSV baseline: use the rows of this model")] = None,
    baseline_run_id: Annotated[str | None, typer.Option(help="CSV baseline: use the rows of this run id")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON")] = False,
    include_running: Annotated[bool, typer.Option("--include-running", help=_RUNNING_HELP)] = False,
) -> None:
    """Gate a run against a baseline: exit 1 when a metric regressed beyond the rule.

    Prints each metric checked (baseline, run, change and why), as text or --json. Exit 0: no regression;
    1: a regression; 2: bad input."""
    from .check import RULES, CheckConfig, Tolerance, baseline_from_csv, baseline_from_run, render
    from .check import check as run_check
    from .rundir import load_one

    with _usage_errors(json_out):
        config = CheckConfig(rule=_choice(rule, "--rule", RULES), tolerance=Tolerance.parse(tolerance),  # type: ignore
                             metrics=_split(metric), tasks=_split(task), modes=_split(mode))
        candidate = load_one(run, include_running=include_running)
        if baseline.is_file():
            base = baseline_from_csv(baseline, candidate, model=baseline_model, run_id=baseline_run_id)
        else:
            base = baseline_from_run(load_one(baseline, include_running=include_running))
        result = run_check(candidate, base, config)
    if json_out:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(render(result), nl=False)
    if not result.passed:
        raise typer.Exit(REGRESSION)


def report(
    run_dirs: Annotated[list[Path], typer.Argument(help=_RUNS_HELP, show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write")] = Path("report.html"),
    title: Annotated[str, typer.Option(help="page title")] = "mabench report",
    budget: Annotated[str, typer.Option(help="equal-budget cost: completion or total tokens")] = "completion",
    include_running: Annotated[bool, typer.Option("--include-running", help=_RUNNING_HELP)] = False,
) -> None:
    """Self-contained HTML report with embedded plots.

    Reliability diagrams, coverage and pass@k against tokens (the multi point on the bok curve), per-task bars
    with 95% CIs, and tables."""
    from .rundir import UsageError, load_runs

    with _usage_errors():
        chosen = _choice(budget, "--budget", ("completion", "total"))
        runs = load_runs(run_dirs, include_running=include_running)
        try:
            from .report import write_report  # matplotlib is imported here, only when a report is drawn
        except ImportError as err:
            raise UsageError(f"mabench report draws its plots with matplotlib, which is not installed ({err}); "
                             "expected it installed: pip install 'matplotlib>=3.7'") from None
        path = write_report(runs, output, title=title, budget=chosen)
    typer.echo(f"wrote {path} ({len(runs)} run(s))", err=True)


def _emit(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
        return
    with _usage_errors():
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)
    typer.echo(f"wrote {what} -> {output}", err=True)
