"""Contamination is visible: a checkpoint whose mabench_train.json lists evaluation questions has them counted on
the summary, in the manifest and in the leaderboard, and --exclude-train-overlap drops exactly them (another
run id). Real runs of the tiny model dressed as a `mabench train` checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.backends import model_identity
from mabench.cli import app
from mabench.config import RunConfig
from mabench.leaderboards.leaderboard import leaderboard_rows, to_markdown
from mabench.leaderboards.rundir import load_run
from mabench.manifest import TRAINING_RECORD
from mabench.runner import plan_run
from mabench.tasks import load_task
from mabench.train.splits import RECORD_KEY, training_record

FAST = ["--tasks", "ambigqa", "--limit", "5", "--k", "2", "--max-new-tokens", "8", "--batch-size", "5"]


@pytest.fixture(scope="module")
def questions():
    return load_task("ambigqa").load()[:5]


@pytest.fixture(scope="module")
def trained(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory, questions) -> Path:
    """A checkpoint whose training record lists two of the first five evaluation questions and one that is not an
    evaluation question, in the format `mabench train` writes (`mabench.train.splits.training_record`)."""
    folder = tmp_path_factory.mktemp("trained") / "ckpt"
    shutil.copytree(tiny_model, folder)
    train = [questions[1], questions[3], questions[0].model_copy(update={"id": "dev-only-question"})]
    record = {"trainer": "mabench train", "task": "ambigqa", RECORD_KEY: training_record("ambigqa", train)}
    (folder / TRAINING_RECORD).write_text(json.dumps(record))
    return folder


def invoke(*args: str):
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False)


def flat(output: str) -> str:
    """The output with the console's line wrapping undone."""
    return " ".join(output.split())


def run_dir_of(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if p.is_dir()]
    return found


def test_overlap_is_counted_on_the_summary_the_manifest_and_the_leaderboard(trained, questions, tmp_path):
    result = invoke("--model", str(trained), "--out", str(tmp_path), *FAST)
    assert result.exit_code == 0, result.output
    assert "train overlap: ambigqa: multi 2, bok 2 evaluation questions" in flat(result.output)
    run_dir = run_dir_of(tmp_path)
    entry = json.loads((run_dir / "manifest.json").read_text())["train_overlap"]
    overlap_ids = [questions[1].id, questions[3].id]
    assert entry == {"excluded": False, "tasks": {"ambigqa": {
        mode: {"count": 2, "ids": overlap_ids} for mode in ("multi", "bok")}}}
    rows = leaderboard_rows([load_run(run_dir)])
    assert [(r.mode, r.n_questions, r.train_overlap) for r in rows] == [("multi", 5, 2), ("bok", 5, 2)]
    assert "5 (2 trained on)" in to_markdown(rows)


def test_exclude_train_overlap_drops_exactly_the_trained_questions(trained, questions, tmp_path):
    kept = invoke("--model", str(trained), "--out", str(tmp_path / "kept"), *FAST)
    dropped = invoke("--model", str(trained), "--exclude-train-overlap", "--out", str(tmp_path / "dropped"), *FAST)
    assert kept.exit_code == 0 and dropped.exit_code == 0, dropped.output
    run_dir = run_dir_of(tmp_path / "dropped")
    assert run_dir.name != run_dir_of(tmp_path / "kept").name
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    expected = [q.id for q in questions if q.id not in (questions[1].id, questions[3].id)]
    for mode in ("multi", "bok"):
        assert [r["question_id"] for r in records if r["mode"] == mode] == expected
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["train_overlap"]["excluded"] is True
    assert manifest["train_overlap"]["tasks"]["ambigqa"]["multi"]["count"] == 2
    assert "dropped before the run" in flat(dropped.output)
    rows = leaderboard_rows([load_run(run_dir)])
    assert [(r.n_questions, r.train_overlap) for r in rows] == [(3, 0), (3, 0)]


def test_each_mode_counts_its_own_models_training_questions(tiny_model, trained, questions):
    config = RunConfig(model=str(tiny_model), bok_model=str(trained), limit=5, exclude_train_overlap=True)
    plan = plan_run(config, lambda: model_identity(str(tiny_model)))
    assert plan.overlap == {"ambigqa": {"multi": None, "bok": [questions[1].id, questions[3].id]}}
    # Both modes keep answering the same questions, so the multi - bok comparison stays paired.
    assert [q.id for q in plan.questions["ambigqa"]] == [q.id for i, q in enumerate(questions) if i not in (1, 3)]


def test_a_model_without_a_training_record_has_an_unknown_overlap(tiny_model, tmp_path):
    plan = plan_run(RunConfig(model=str(tiny_model), limit=5), lambda: model_identity(str(tiny_model)))
    assert plan.overlap == {"ambigqa": {"multi": None, "bok": None}}
    result = invoke("--model", str(tiny_model), "--exclude-train-overlap", "--out", str(tmp_path), *FAST)
    assert result.exit_code == 2 and "nothing to exclude" in result.output and "Traceback" not in result.output


def test_an_unreadable_training_record_exits_2_naming_it(tiny_model, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_model, folder)
    (folder / TRAINING_RECORD).write_text(json.dumps({RECORD_KEY: {"task": "ambigqa", "ids": "not-a-list"}}))
    result = invoke("--model", str(folder), "--out", str(tmp_path / "runs"), *FAST)
    assert result.exit_code == 2 and TRAINING_RECORD in result.output.replace("\n", "")
    assert "Traceback" not in result.output
