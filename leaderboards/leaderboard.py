"""The leaderboard: one row per run x task x mode, with a stable, documented column schema.

Columns are the fields of `LeaderboardRow`, in order (docs/leaderboard-schema.md documents them; a test keeps the
two equal). Rows are never merged: two runs of one model with different configs are two rows, told apart by
`run_id` and `config_hash`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mabench.metrics.core import HEADLINE_METRICS  # the metrics with CI columns: their specs say headline

from .rundir import RunDir, RunDirError

SCHEMA_VERSION = 3  # 2: lm_eval_* columns appended; 3: train_overlap appended, `model` names each mode's model
_CI = "95% bootstrap CI over questions, {} bound (empty when undefined)"


def _ci(metric: str, bound: str) -> Any:
    return Field(None, description=f"{metric}: " + _CI.format(bound))


class LeaderboardRow(BaseModel):
    """One run x task x mode. Numbers are empty (None) where a metric is missing or undefined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="the model that generated this mode: the run's --model value (path, Hub id or "
                                   "'default'), or its --bok-model for a bok row of a paired run")
    model_fingerprint: str | None = Field(None, description="hash of that model's identity, weights included "
                                                            "(manifest mode_models, else model_fingerprint)")
    task: str = Field(description="task name")
    mode: str = Field(description="multi (K answers in one generation) or bok (k samples)")
    k: int | None = Field(None, description="K candidates (multi) or k samples (bok)")
    n_questions: int = Field(description="questions with a record, failed ones included")
    n_errors: int = Field(description="questions whose generation failed for good (not scored)")
    format_rate: float | None = Field(None, description="share of questions in the exact requested format")
    hit_at_k: float | None = Field(None, description="any candidate is correct (the paper's accuracy)")
    hit_at_k_ci_low: float | None = _ci("hit_at_k", "lower")
    hit_at_k_ci_high: float | None = _ci("hit_at_k", "upper")
    top1_accuracy: float | None = Field(None, description="the most confident candidate is correct")
    top1_accuracy_ci_low: float | None = _ci("top1_accuracy", "lower")
    top1_accuracy_ci_high: float | None = _ci("top1_accuracy", "upper")
    recall: float | None = Field(None, description="share of a question's distinct gold answers covered")
    recall_ci_low: float | None = _ci("recall", "lower")
    recall_ci_high: float | None = _ci("recall", "upper")
    unique_answers: float | None = Field(None, description="distinct candidates per question")
    unique_answers_ci_low: float | None = _ci("unique_answers", "lower")
    unique_answers_ci_high: float | None = _ci("unique_answers", "upper")
    brier: float | None = Field(None, description="per-answer Brier score (lower is better)")
    brier_ci_low: float | None = _ci("brier", "lower")
    brier_ci_high: float | None = _ci("brier", "upper")
    ece: float | None = Field(None, description="per-answer 10-bin ECE (lower is better)")
    ece_ci_low: float | None = _ci("ece", "lower")
    ece_ci_high: float | None = _ci("ece", "upper")
    prompt_tokens: float | None = Field(None, description="mean prompt tokens per question (counted once)")
    completion_tokens: float | None = Field(None, description="mean generated tokens per question, all samples")
    tokens_total: float | None = Field(None, description="all prompt + generated tokens of this task x mode")
    status: str = Field(description="complete, or running (an in-progress run included with --include-running)")
    run_id: str = Field(description="the run directory's id (hash of its full config)")
    config_hash: str = Field(description="hash of the evaluation settings for this task (config minus model, "
                                         "task and mode lists): equal hashes were evaluated the same way")
    created: str | None = Field(None, description="the manifest's created timestamp (UTC, ISO 8601)")
    # Appended in schema version 2: `lm-eval:NAME` tasks (mode lm-eval) report lm-eval's metrics, not the above.
    lm_eval_metric: str | None = Field(None, description="lm-eval tasks: the task's first metric (name/filter), "
                                                         "as lm-eval lists it; every metric is in metrics.json")
    lm_eval_value: float | None = Field(None, description="lm-eval tasks: the value of lm_eval_metric")
    lm_eval_ci_low: float | None = Field(None, description="lm-eval tasks: 95% CI of lm_eval_metric, lower bound "
                                                           "(normal, from lm-eval's standard error)")
    lm_eval_ci_high: float | None = Field(None, description="lm-eval tasks: 95% CI of lm_eval_metric, upper bound")
    # Appended in schema version 3: contamination (mabench.contamination).
    train_overlap: int | None = Field(None, description="scored questions this row's model was trained on (its "
                                                        "mabench_train.json); 0 after --exclude-train-overlap, "
                                                        "empty when the model lists no training questions")


COLUMNS: tuple[str, ...] = tuple(LeaderboardRow.model_fields)
IDENTITY_COLUMNS = ("model", "task", "mode", "run_id", "config_hash")


def rows_for(run: RunDir) -> list[LeaderboardRow]:
    return leaderboard_rows([run])


def leaderboard_rows(runs: Sequence[RunDir]) -> list[LeaderboardRow]:
    """All rows of all runs, by task, mode (multi, bok, lm-eval), then hit_at_k (best first; missing last), model
    and run id: the rows of `mabench.results.leaderboard_frame`, the one place the leaderboard is computed."""
    from mabench.results import frame_records, leaderboard_frame

    return [LeaderboardRow.model_validate(row) for row in frame_records(leaderboard_frame(list(runs)))]


def to_csv(rows: Sequence[LeaderboardRow]) -> str:
    out = io.StringIO()
    # RFC 4180 line ends: the writer then quotes every cell holding a CR or LF. With "\n" alone a bare CR in a
    # model name went out unquoted, and readers split the row there, starting a new line with what followed.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(neutralise(_csv_cell(getattr(row, c))) for c in COLUMNS)
    return out.getvalue()


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...), +cmd|..., @SUM(...),
# and tab / carriage return before them). Model names and paths come from whoever named the checkpoint.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """`cell` with a leading apostrophe when a spreadsheet would run it as a formula, so that it shows as text.
    Numbers (-0.25, +3, 1e-05) are left alone: they are not formulas, and they must stay numbers. A cell that
    already starts with an apostrophe gets another, so that `restore` is exact."""
    if cell.startswith("'") or (cell.startswith(FORMULA_START) and not _NUMBER.fullmatch(cell)):
        return "'" + cell
    return cell


def restore(cell: str) -> str:
    """The original text of a cell written by `neutralise`."""
    return cell[1:] if cell.startswith("'") else cell


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def read_csv(path: Path) -> list[LeaderboardRow]:
    """Rows of a leaderboard CSV written by `to_csv` (extra columns are ignored; the identity columns must be
    there). Raises `RunDirError` naming the file, line and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise RunDirError(f"{path}: no such file; expected a leaderboard CSV written by `mabench leaderboard`")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in (*IDENTITY_COLUMNS, "n_questions", "status") if c not in header]
        if missing:
            raise RunDirError(f"{path}: not a leaderboard CSV: columns {', '.join(missing)} missing; expected the "
                              f"header `mabench leaderboard` writes ({', '.join(COLUMNS[:6])}, ...)")
        rows = []
        for line, raw in enumerate(reader, start=2):
            cells = {k: (restore(v) if v != "" else None) for k, v in raw.items() if k in COLUMNS}
            try:
                rows.append(LeaderboardRow.model_validate(cells))
            except ValidationError as err:
                problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
                raise RunDirError(f"{path}:{line}: bad leaderboard row ({problem})") from None
    if not rows:
        raise RunDirError(f"{path}: no rows; expected at least one leaderboard row")
    return rows


def _fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def with_ci(row: LeaderboardRow, name: str) -> str:
    value, low, high = (getattr(row, name), getattr(row, f"{name}_ci_low"), getattr(row, f"{name}_ci_high"))
    if value is None:
        return "–"
    return _fmt(value) + (f" [{_fmt(low)}, {_fmt(high)}]" if low is not None and high is not None else "")


MARKDOWN_HEADER = ("model", "task", "mode", "k", "n", "format", *(f"{m} [95% CI]" for m in HEADLINE_METRICS),
                   "completion tokens/q", "status", "run_id", "config_hash")


def markdown_cells(row: LeaderboardRow) -> list[str]:
    """The cells of a row for reading (Markdown and HTML tables): values with their CI in one cell."""
    return [row.model, row.task, row.mode, "" if row.k is None else str(row.k),
            f"{row.n_questions}" + (f" ({row.n_errors} failed)" if row.n_errors else "")
            + (f" ({row.train_overlap} trained on)" if row.train_overlap else ""), _fmt(row.format_rate),
            *(with_ci(row, m) for m in HEADLINE_METRICS), _fmt(row.completion_tokens, 1), row.status, row.run_id,
            row.config_hash]


def to_markdown(rows: Sequence[LeaderboardRow]) -> str:
    """A Markdown table of the same rows, for reading: the CSV is the stable, machine-readable form."""

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    out = [line(MARKDOWN_HEADER), line(["---"] * len(MARKDOWN_HEADER))]
    out.extend(line(markdown_cells(row)) for row in rows)
    return "\n".join(out) + "\n"
