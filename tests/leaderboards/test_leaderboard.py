"""`mabench leaderboard`: one row per run x task x mode, in the documented, stable CSV schema."""

from __future__ import annotations

import json
import shutil

import pytest

from mabench.leaderboards.leaderboard import COLUMNS, read_csv
from tests.leaderboards.helpers import csv_rows, documented_columns, flat, invoke
from tests.leaderboards.runs import metrics_of, write_run


def test_csv_schema_is_the_documented_column_list_in_order(tiny_runs, tmp_path):
    out = tmp_path / "leaderboard.csv"
    result = invoke("leaderboard", tiny_runs.seed7, tiny_runs.seed8, "-o", out)
    assert result.exit_code == 0, result.output
    header, rows = csv_rows(out.read_text())
    assert header == list(COLUMNS) == documented_columns()
    assert len(header) == 38 and header[:4] == ["model", "model_fingerprint", "task", "mode"]
    assert header[32:37] == ["created", "lm_eval_metric", "lm_eval_value", "lm_eval_ci_low", "lm_eval_ci_high"]  # v2
    assert header[37:] == ["train_overlap"]  # v3
    assert {"hit_at_k", "hit_at_k_ci_low", "hit_at_k_ci_high", "completion_tokens", "n_questions", "format_rate",
            "run_id", "config_hash"} <= set(header)
    assert len(rows) == 4 and all(set(r) == set(COLUMNS) for r in rows)


def test_each_row_carries_its_own_runs_metrics_with_cis_n_tokens_run_id_and_config_hash(tiny_runs, tmp_path):
    out = tmp_path / "leaderboard.csv"
    assert invoke("leaderboard", tiny_runs.seed7, tiny_runs.seed8, "-o", out).exit_code == 0
    _, rows = csv_rows(out.read_text())
    for row in rows:
        run_dir = tiny_runs.seed7 if row["run_id"] == tiny_runs.seed7.name else tiny_runs.seed8
        entries = metrics_of(run_dir)[row["task"]][row["mode"]]
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert row["model"] == manifest["config"]["model"] and row["status"] == "complete"
        assert row["model_fingerprint"] == manifest["model_fingerprint"]
        assert int(row["n_questions"]) == 4 and int(row["n_errors"]) == 0 and int(row["k"]) == 2
        for column, key in (("hit_at_k", "value"), ("hit_at_k_ci_low", "ci_low"), ("hit_at_k_ci_high", "ci_high")):
            expected = entries["hit_at_k"][key]
            assert (row[column] == "") if expected is None else float(row[column]) == pytest.approx(expected, abs=1e-6)
        assert float(row["format_rate"]) == pytest.approx(entries["format_rate"]["value"], abs=1e-6)
        assert float(row["completion_tokens"]) == pytest.approx(entries["completion_tokens"]["value"], abs=1e-6)
        tokens = entries["prompt_tokens"]["value"] * 4 + entries["completion_tokens"]["value"] * 4
        assert float(row["tokens_total"]) == pytest.approx(tokens, abs=1e-4)


def test_runs_of_one_model_with_different_configs_are_separate_rows_never_averaged(tiny_runs, tmp_path):
    out = tmp_path / "leaderboard.csv"
    assert invoke("leaderboard", tiny_runs.seed7, tiny_runs.seed8, "-o", out).exit_code == 0
    rows = read_csv(out)
    for mode in ("multi", "bok"):
        pair = [r for r in rows if r.mode == mode]
        assert len(pair) == 2 and pair[0].model == pair[1].model
        assert {r.run_id for r in pair} == {tiny_runs.seed7.name, tiny_runs.seed8.name}
        assert pair[0].config_hash != pair[1].config_hash  # the seeds differ, so the evaluation settings do
        for r in pair:
            own = metrics_of(tiny_runs.seed7 if r.run_id == tiny_runs.seed7.name else tiny_runs.seed8)
            assert r.completion_tokens == pytest.approx(own["ambigqa"][mode]["completion_tokens"]["value"], abs=1e-6)
    by_run = {(r.run_id, r.mode): r.config_hash for r in rows}
    assert by_run[(tiny_runs.seed7.name, "multi")] == by_run[(tiny_runs.seed7.name, "bok")]


def test_rows_rank_best_first_within_each_task_and_mode_and_markdown_shows_cis(checkpoints, tmp_path):
    result = invoke("leaderboard", checkpoints.out, "--format", "md")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ckpt")]
    assert [line.split(" | ")[0].strip("| ") for line in lines] == ["ckpt-300", "ckpt-100", "ckpt-200"] * 2
    assert [line.split(" | ")[2] for line in lines] == ["multi"] * 3 + ["bok"] * 3
    assert "| 0.800 [" in lines[1]  # ckpt-100 hit_at_k 24/30 with its CI
    md_file = tmp_path / "board.md"
    assert invoke("leaderboard", checkpoints.out, "-o", md_file).exit_code == 0
    assert md_file.read_text().startswith("| model | task | mode |")


def test_mismatched_task_sets_are_listed_with_a_note(checkpoints, tmp_path):
    other = write_run(tmp_path, "arith-model", lambda i: i % 2 == 0, task="arith")
    result = invoke("leaderboard", checkpoints.baseline, other)
    assert result.exit_code == 0
    note = flat(result.stderr)
    assert "runs cover different tasks" in note
    assert f"run {checkpoints.baseline.name}: ambigqa" in note and f"run {other.name}: arith" in note
    _, rows = csv_rows(result.stdout)
    assert sorted((r["task"], r["mode"]) for r in rows) == [("ambigqa", "bok"), ("ambigqa", "multi"),
                                                             ("arith", "bok"), ("arith", "multi")]


@pytest.fixture
def running_run(checkpoints, tmp_path):
    """A copy of the baseline caught mid-run: status running, no metrics.json, half its records and a
    half-written last line."""
    run_dir = tmp_path / "running" / checkpoints.baseline.name
    shutil.copytree(checkpoints.baseline, run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps({**manifest, "status": "running"}))
    (run_dir / "metrics.json").unlink()
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    (run_dir / "samples.jsonl").write_text("\n".join(lines[:40]) + "\n" + lines[40][:50])
    return run_dir


def test_a_run_in_progress_is_refused_unless_included_and_then_marked_running(running_run, checkpoints):
    refused = invoke("leaderboard", checkpoints.improved, running_run)
    assert refused.exit_code == 2
    assert f"{running_run}: run {running_run.name} is still in progress" in flat(refused.stderr)
    assert "--include-running" in refused.stderr and refused.stdout == ""

    before = (running_run / "samples.jsonl").read_bytes()
    included = invoke("leaderboard", checkpoints.improved, running_run, "--include-running")
    assert included.exit_code == 0
    assert "still in progress" in flat(included.stderr)
    _, rows = csv_rows(included.stdout)
    running = [r for r in rows if r["run_id"] == running_run.name]
    assert sorted(r["mode"] for r in running) == ["bok", "multi"] and {r["status"] for r in running} == {"running"}
    n = {r["mode"]: int(r["n_questions"]) for r in running}
    assert n == {"multi": 30, "bok": 10}  # 40 whole lines (30 multi, 10 bok); the 41st, cut short, is skipped
    assert (running_run / "samples.jsonl").read_bytes() == before  # reading never truncates


NOT_A_RUN = {  # what the directory holds -> what the error must say
    "empty": ({}, "empty directory; expected a run directory written by `mabench run`"),
    "samples-only": ({"samples.jsonl": "{}\n"}, "no manifest.json; expected a run directory written by `mabench run`"),
    "corrupt-manifest": ({"manifest.json": "{not json"}, "manifest.json: not valid JSON"),
    "manifest-without-config": ({"manifest.json": '{"run_id": "x"}'}, "manifest.json: lacks status, config"),
    "unknown-status": ({"manifest.json": '{"run_id": "x", "status": "paused", "config": {}}'},
                       "unknown status 'paused'; expected one of running, complete"),
}


@pytest.mark.parametrize("case", sorted(NOT_A_RUN))
def test_a_directory_that_is_not_a_run_exits_2_naming_it_and_what_was_expected(tmp_path, case):
    files, message = NOT_A_RUN[case]
    run_dir = tmp_path / "bad"
    run_dir.mkdir()
    for name, text in files.items():
        (run_dir / name).write_text(text)
    result = invoke("leaderboard", run_dir)
    assert result.exit_code == 2
    assert str(run_dir) in result.stderr and message in flat(result.stderr)


def test_a_missing_directory_exits_2(tmp_path):
    result = invoke("leaderboard", tmp_path / "nope")
    assert result.exit_code == 2 and f"{tmp_path / 'nope'}: no such directory" in flat(result.stderr)


def test_a_complete_run_without_metrics_is_reported_as_partial(checkpoints, tmp_path):
    run_dir = tmp_path / "partial"
    shutil.copytree(checkpoints.baseline, run_dir)
    (run_dir / "metrics.json").unlink()
    result = invoke("leaderboard", run_dir)
    assert result.exit_code == 2
    assert f"{run_dir}: partial run directory" in flat(result.stderr) and "metrics.json is missing" in result.stderr


def test_an_unknown_format_exits_2_with_the_choices(checkpoints):
    result = invoke("leaderboard", checkpoints.baseline, "--format", "xml")
    assert result.exit_code == 2 and "--format 'xml': expected one of csv, md" in result.stderr
