"""`mabench run` end to end on a tiny config-built model: run directory, side-by-side summary, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.cli import app
from mabench.config import RunConfig
from mabench.judging import build_record
from mabench.runner import run
from mabench.tasks import load_task
from mabench.types import Generation

FAST = ["--k", "3", "--max-new-tokens", "16", "--batch-size", "4", "--seed", "7"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def lines(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def without_latency(record: dict) -> dict:
    """Everything but wall-clock latency must be identical across processes."""
    return {**record, "generations": [{**g, "latency": None} for g in record["generations"]]}


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def test_run_writes_one_record_per_question_and_mode_and_prints_modes_side_by_side(tiny_model, tmp_path):
    result = invoke("run", "--model", str(tiny_model), "--limit", "6", "--out", str(tmp_path), *FAST)
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    records = lines(run_dir)
    first_six = [q.id for q in load_task("ambigqa").load()[:6]]
    assert sorted((r["mode"], r["question_id"]) for r in records) == sorted(
        (m, qid) for m in ("multi", "bok") for qid in first_six)
    for r in records:
        assert len(r["generations"]) == (1 if r["mode"] == "multi" else 3)
        assert len(r["judgements"]) == len(r["answer_set"]["candidates"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["run_id"] == run_dir.name
    assert manifest["config"]["k"] == 3 and manifest["seed"] == 7
    assert manifest["model_fingerprint"] and manifest["chat_template_hash"]
    assert manifest["packages"]["torch"] and manifest["packages"]["transformers"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["ambigqa"]) == {"multi", "bok"}
    assert metrics["ambigqa"]["bok"]["completion_tokens"]["value"] > 0
    assert "multi" in result.output and "bok" in result.output and "hit_at_k" in result.output


def test_rerunning_a_finished_run_generates_nothing_and_fresh_starts_over(tiny_model, tmp_path):
    config = RunConfig(model=str(tiny_model), limit=3, k=2, max_new_tokens=8, batch_size=2)
    first = run(config, tmp_path, _hf)
    before = (first.run_dir / "samples.jsonl").read_bytes()

    def no_backend(model: str):
        raise AssertionError("a finished run must not load the model")

    again = run(config, tmp_path, no_backend)
    assert again.generated == 0 and again.metrics == first.metrics
    assert (first.run_dir / "samples.jsonl").read_bytes() == before
    fresh = run(config, tmp_path, _hf, fresh=True)
    assert fresh.generated == 6 and len(lines(fresh.run_dir)) == 6


def test_killed_run_resumes_without_duplicates_and_matches_an_uninterrupted_run(tiny_model, tmp_path):
    # 200 records: more than one backend call's worth (the HF backend takes up to 128 questions per call, modes
    # together), so the kill lands between calls, with some records written and others not.
    args = ["--model", str(tiny_model), "--limit", "100", "--k", "3", "--max-new-tokens", "48",
            "--batch-size", "2", "--seed", "3"]
    killed_out, clean_out = tmp_path / "killed", tmp_path / "clean"
    cmd = [sys.executable, "-m", "mabench", "run", *args]
    proc = subprocess.Popen([*cmd, "--out", str(killed_out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        samples = list(killed_out.glob("*/samples.jsonl"))
        if samples and samples[0].read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = lines(only_run_dir(killed_out))
    assert 4 <= len(partial) < 200, "the run must be killed part-way"

    subprocess.run([*cmd, "--out", str(killed_out)], check=True, capture_output=True)
    subprocess.run([*cmd, "--out", str(clean_out)], check=True, capture_output=True)
    resumed, clean = only_run_dir(killed_out), only_run_dir(clean_out)
    keys = [(r["mode"], r["question_id"]) for r in lines(resumed)]
    assert len(keys) == len(set(keys)) == 200
    by_key = {(r["mode"], r["question_id"]): without_latency(r) for r in lines(clean)}
    assert all(by_key[(r["mode"], r["question_id"])] == without_latency(r) for r in lines(resumed))
    assert json.loads((resumed / "metrics.json").read_text()) == json.loads((clean / "metrics.json").read_text())


def test_bok_candidates_are_the_samples_in_order_with_duplicates_counted():
    task = load_task("ambigqa")
    # A real question with two readings; its first two gold answers, the first once more in lower case.
    question = next(q for q in task.load() if len(q.gold) >= 2 and q.gold[0][0].lower() != q.gold[1][0].lower())
    first, second = question.gold[0][0], question.gold[1][0]
    texts = [f"<answer>{first}</answer><confidence>0.7</confidence>", "no tags at all",
             f"<answer>{first.lower()}</answer><confidence>0.6</confidence>",
             f"<answer>{second}</answer><confidence>0.4</confidence>"]
    gens = [Generation(text=t, prompt_tokens=10, completion_tokens=5, finish_reason="stop", sample_index=i)
            for i, t in enumerate(texts)]
    record = build_record(task, question, "bok", 4, gens)
    assert [c.text for c in record.answer_set.candidates] == [first, first.lower(), second]
    assert [c.rank for c in record.answer_set.candidates] == [1, 3, 4]  # rank is the sample position
    assert record.answer_set.duplicate_answers and not record.answer_set.format_ok
    assert [j.correct for j in record.judgements] == [True, True, True]
    assert record.evidence.covered == [0, 1]
    assert record.usage.prompt_tokens == 10 and record.usage.completion_tokens == 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks", "nope"], "valid tasks: ambigqa"),
        (["--mode", "multi,best"], "valid modes: multi, bok"),
        (["--model", "./no/such/dir/"], "--model takes one of"),
        (["--k", "0"], "invalid run config: k:"),
        (["--temperature", "-1"], "temperature"),
    ],
)
def test_bad_arguments_exit_2_and_name_the_valid_choices(tmp_path, args, message):
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_tasks_command_lists_name_source_size_and_modes():
    result = invoke("tasks")
    assert result.exit_code == 0
    size = str(len(load_task("ambigqa").load()))
    assert "ambigqa" in result.output and size in result.output and "multi,bok" in result.output


def _hf(model: str):
    from mabench.backends import load_backend

    return load_backend(model)


@pytest.fixture(autouse=True)
def _quiet_tokenizers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def test_shuffle_and_limit_give_a_deterministic_subset_and_data_path_reads_original_files(tmp_path):
    task = load_task("ambigqa")
    from mabench.runner import select_questions

    base = RunConfig(limit=5, shuffle=True, seed=1)
    first = [q.id for q in select_questions(task, base, "ambigqa")]
    assert first == [q.id for q in select_questions(task, base, "ambigqa")]
    assert first != [q.id for q in select_questions(task, base.model_copy(update={"seed": 2}), "ambigqa")]
    assert first != [q.id for q in task.load()[:5]]
    data = tmp_path / "dev_light.json"
    data.write_text(json.dumps([{"id": "x1", "question": "q?", "annotations": [{"type": "singleAnswer",
                                                                               "answer": ["a"]}]}]))
    config = RunConfig(data_path={"ambigqa": str(data)})
    assert [q.id for q in select_questions(task, config, "ambigqa")] == ["x1"]


def test_data_path_must_name_a_task_that_runs(tmp_path):
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path), "--data-path", "medqa=x.json"])
    assert result.exit_code == 2 and "data_path names tasks not being run" in " ".join(result.output.split())
    missing = CliRunner().invoke(app, ["run", "--out", str(tmp_path), "--model", "HuggingFaceTB/x",
                                       "--data-path", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "nope.json: no such file" in " ".join(missing.output.split())
