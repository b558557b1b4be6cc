"""`mabench.results`: run directories as pandas DataFrames, and the leaderboard built from them."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mabench.cli import app
from mabench.leaderboards.leaderboard import COLUMNS
from mabench.results import leaderboard_frame, metrics_frame, pivot_modes, records_frame
from tests.leaderboards.runs import write_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    write_run(out, "ckpt-a", lambda i: i % 3 != 0, limit=12)
    write_run(out, "ckpt-b", lambda i: i % 2 == 0, limit=12, confident=False)
    return out


def test_records_frame_has_one_row_per_question_and_mode_with_what_the_records_say(runs):
    frame = records_frame(runs)
    assert len(frame) == 2 * 2 * 12  # two runs x two modes x twelve questions
    assert not frame.duplicated(["run_id", "task", "mode", "question_id"]).any()
    for run_dir in runs.iterdir():
        lines = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
        for rec in lines:
            row = frame[(frame.path == str(run_dir)) & (frame["mode"] == rec["mode"])
                        & (frame.question_id == rec["question_id"])].iloc[0]
            by_rank = {j["rank"]: j["correct"] for j in rec["judgements"]}
            assert row.candidates == [c["text"] for c in rec["answer_set"]["candidates"]]
            assert row.confidences == [c["confidence"] for c in rec["answer_set"]["candidates"]]
            assert row.correct == [by_rank[c["rank"]] for c in rec["answer_set"]["candidates"]]
            assert row.hit == any(by_rank.values())
            assert row.format_ok == rec["answer_set"]["format_ok"]
            assert row.completion_tokens == rec["usage"]["completion_tokens"]
    # the per-question hit rate is the run's hit_at_k
    metrics = metrics_frame(runs)
    hits = frame.groupby(["run_id", "mode"])["hit"].mean()
    for (run_id, mode), value in hits.items():
        m = metrics[(metrics.run_id == run_id) & (metrics["mode"] == mode) & (metrics.metric == "hit_at_k")]
        assert m["value"].item() == pytest.approx(value)


def test_metrics_frame_holds_every_entry_of_metrics_json_with_its_ci(runs):
    frame = metrics_frame(runs)
    for run_dir in runs.iterdir():
        metrics = json.loads((run_dir / "metrics.json").read_text())
        for task, modes in metrics.items():
            for mode, entries in modes.items():
                mine = frame[(frame.path == str(run_dir)) & (frame.task == task) & (frame["mode"] == mode)]
                assert sorted(mine.metric) == sorted(entries)
                for _, row in mine.iterrows():
                    entry = entries[row.metric]
                    for field in ("value", "ci_low", "ci_high", "stderr"):
                        want = entry.get(field)
                        got = row[field]
                        assert (math.isnan(got) if want is None else got == pytest.approx(want)), (row.metric, field)


def test_leaderboard_command_writes_csv_and_markdown_from_the_frame(runs, tmp_path):
    frame = leaderboard_frame(runs)
    assert list(frame.columns) == list(COLUMNS)
    result = CliRunner().invoke(app, ["leaderboard", str(runs), "-o", str(tmp_path / "lb.csv")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO((tmp_path / "lb.csv").read_text())))
    assert len(rows) == len(frame) == 4
    for row, (_, want) in zip(rows, frame.iterrows(), strict=True):
        for column in ("model", "task", "mode", "run_id", "n_questions", "hit_at_k", "brier_ci_high", "tokens_total"):
            value = want[column]
            if pd.isna(value):
                assert row[column] == ""
            elif isinstance(value, float):
                assert float(row[column]) == pytest.approx(value, abs=1e-6)
            else:
                assert row[column] == str(value)
    # best hit_at_k first within a task x mode: the frame's order is the leaderboard's
    multi = frame[frame["mode"] == "multi"]
    assert list(multi.hit_at_k) == sorted(multi.hit_at_k, reverse=True)
    md = CliRunner().invoke(app, ["leaderboard", str(runs), "--format", "md"])
    assert md.exit_code == 0
    assert [line.split(" | ")[0].strip("| ") for line in md.stdout.splitlines()[2:]] == list(frame.model)


def test_pivot_puts_multi_beside_bok(runs):
    wide = pivot_modes(metrics_frame(runs), ["hit_at_k"])
    assert set(wide.columns) == {("hit_at_k", "multi"), ("hit_at_k", "bok")}
    assert set(wide.index.get_level_values("model")) == {"ckpt-a", "ckpt-b"}
