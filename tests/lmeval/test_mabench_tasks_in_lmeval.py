"""mabench's tasks inside lm-eval: `lm_eval --include_path "$(mabench lm-eval-path)"`, scored by mabench, and
lm-eval's --log_samples files replayed into a mabench run."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from mabench.answer_format import format_answer_set
from mabench.cli import app
from mabench.judging import build_record
from mabench.lmeval.scoring import process_results
from mabench.lmeval.tasks import question_docs
from mabench.metrics import compute_metrics
from mabench.tasks import load_task
from mabench.types import Generation, Question

TABLE = ("hit_at_k", "set_brier", "unique_answers", "format_rate")


def test_lm_eval_cli_runs_mabench_tasks_and_its_samples_replay_into_a_run(tiny_model, tmp_path, offline_env):
    listed = CliRunner().invoke(app, ["lm-eval-path", "--tasks", "ambigqa", "--k", "2", "--max-new-tokens", "6",
                                      "--out", str(tmp_path / "tasks")])
    assert listed.exit_code == 0, listed.output
    include = Path(listed.stdout.strip())
    assert {p.name for p in include.glob("*.yaml")} == {"mabench_ambigqa_multi.yaml", "mabench_ambigqa_bok.yaml"}
    out = tmp_path / "lm-eval-out"
    done = subprocess.run(
        [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={tiny_model}",
         "--device", "cpu", "--tasks", "mabench_ambigqa_multi,mabench_ambigqa_bok", "--include_path", str(include),
         "--limit", "2", "--batch_size", "4", "--apply_chat_template", "--log_samples", "--output_path", str(out)],
        env=offline_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for metric in TABLE:  # lm-eval's own table shows mabench's headline metrics
        assert metric in done.stdout
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"]
    bok = [json.loads(x) for x in next(out.rglob("samples_mabench_ambigqa_bok_*.jsonl")).read_text().splitlines()]
    assert all(len(s["resps"][0]) == 2 for s in bok)  # k = 2 repeats, all kept

    runs = tmp_path / "runs"
    replayed = CliRunner().invoke(app, ["run", "--model", f"replay:{out}", "--tasks", "ambigqa", "--k", "2",
                                        "--limit", "2", "--out", str(runs)])
    assert replayed.exit_code == 0, replayed.output
    run_dir = next(runs.iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())["ambigqa"]
    records = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["error"] is None for r in records)
    by_id = {s["doc"]["question_id"]: s["resps"][0] for s in bok}
    for record in (r for r in records if r["mode"] == "bok"):
        assert [g["text"] for g in record["generations"]] == by_id[record["question_id"]]
    for mode, key in (("multi", "none"), ("bok", "k_samples")):
        assert len(metrics[mode]) > 20  # every mabench metric, not only lm-eval's four
        for metric in TABLE:
            theirs, ours = results[f"mabench_ambigqa_{mode}"][f"{metric},{key}"], metrics[mode][metric]["value"]
            assert (ours is None and math.isnan(theirs)) or math.isclose(ours, theirs), (mode, metric)

    # a sample whose prompt is not mabench's prompt for that question is refused, not scored
    sample_file = next(out.rglob("samples_mabench_ambigqa_multi_*.jsonl"))
    lines = sample_file.read_text().splitlines()
    first = json.loads(lines[0])
    first["doc"]["prompt"] += " (edited)"
    sample_file.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    refused = CliRunner().invoke(app, ["run", "--model", f"replay:{out}", "--tasks", "ambigqa", "--k", "2",
                                       "--limit", "2", "--out", str(tmp_path / "runs2")])
    assert refused.exit_code == 2
    assert "not the one lm-eval sent" in " ".join(refused.output.split()) and "Traceback" not in refused.output


def _doc(mode: str, k: int = 3) -> tuple[dict, Question]:
    task = load_task("ambigqa")
    doc = question_docs(task, "ambigqa", mode, k, None)[0]
    return doc, Question.model_validate_json(doc["question"])


def test_scoring_is_mabench_parser_judge_and_metrics():
    task = load_task("ambigqa")
    doc, question = _doc("multi")
    gold = question.gold[1][0]
    for answers, confs in (([gold, "Nobody", "Elsewhere"], [0.7, 0.2, 0.1]), (["Nobody", "x", "y"], [0.5, 0.3, 0.1])):
        text = format_answer_set(answers, confs)
        scores = process_results(doc, [text])
        record = build_record(task, question, "multi", 3, [Generation(text=text, prompt_tokens=0,
                                                                       completion_tokens=0, finish_reason="stop")])
        entries = compute_metrics([record], n_resamples=0)
        assert scores == {m: entries[m]["value"] for m in TABLE}
    assert process_results(doc, [format_answer_set([gold, "a", "b"], [0.7, 0.2, 0.1])])["hit_at_k"] == 1.0
    assert process_results(doc, ["no tags at all"])["format_rate"] == 0.0

    doc, question = _doc("bok")
    samples = [f"<answer>{a}</answer><confidence>0.6</confidence>" for a in ("Nobody", question.gold[0][0], "Nobody")]
    scores = process_results(doc, [samples])  # take_first_k hands over the k samples as one list
    assert scores["hit_at_k"] == 1.0 and scores["unique_answers"] == 2.0 and scores["format_rate"] == 1.0
    assert process_results(doc, [samples[:1]])["unique_answers"] == 1.0


def test_replaying_samples_of_another_lm_eval_task_is_a_clear_error(tmp_path):
    path = tmp_path / "samples_gsm8k_2026-01-01T00-00-00.jsonl"
    path.write_text(json.dumps({"doc_id": 0, "doc": {"question": "2+2?", "answer": "4"}, "resps": [["4"]]}) + "\n")
    result = CliRunner().invoke(app, ["run", "--model", f"replay:{path}", "--tasks", "ambigqa", "--limit", "1",
                                      "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # rich wraps the line at the terminal width
    assert f"{path}:1" in message and "only the mabench_* tasks" in message
