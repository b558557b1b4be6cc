"""The replay backend: re-score earlier generations, from a run directory or a JSONL file, with no model."""

from __future__ import annotations

import json

from mabench.tasks import load_task
from tests.backends.runs import flat, latest, mabench, manifest, only_run_dir, openai_run, texts

REPLAY_ARGS = ["--k", "3", "--max-new-tokens", "8", "--batch-size", "4", "--seed", "5"]


def test_replaying_a_run_directory_reproduces_its_records_and_metrics_without_a_model(server, tmp_path):
    assert openai_run(server.base_url, tmp_path / "original").exit_code == 0
    original = only_run_dir(tmp_path / "original")
    sent = len(server.requests())

    replayed = mabench("--model", f"replay:{original}", "--out", str(tmp_path / "replayed"), *REPLAY_ARGS,
                       "--limit", "6")
    assert replayed.exit_code == 0, replayed.output
    assert len(server.requests()) == sent
    run_dir = only_run_dir(tmp_path / "replayed")
    before, after = latest(original), latest(run_dir)
    assert sorted(after) == sorted(before)
    assert all(texts(after[key]) == texts(before[key]) and after[key]["judgements"] == before[key]["judgements"]
               for key in before)
    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads((original / "metrics.json").read_text())
    assert manifest(run_dir)["backend"] == "replay" and not (run_dir / "cache.sqlite").exists()


def test_a_jsonl_of_raw_generations_is_scored_and_prompts_without_generations_are_errors(tmp_path):
    task = load_task("ambigqa")
    q1, q2, third, q4 = task.load()[:4]
    source = tmp_path / "generations.jsonl"
    source.write_text("\n".join([
        "# written by some other tool",
        json.dumps({"task": "ambigqa", "question_id": q1.id, "mode": "multi", "k": 3,
                    "generations": [f"<answer1>{q1.gold[0][0]}</answer1><confidence1>0.8</confidence1>"
                                    "<answer2>Nobody at all</answer2><confidence2>0.1</confidence2>"
                                    "<answer3>Not sure</answer3><confidence3>0.1</confidence3>"]}),
        json.dumps({"task": "ambigqa", "question_id": q2.id, "mode": "multi", "k": 3,
                    "generations": [{"text": "<answer1>1912</answer1><confidence1>0.9</confidence1>",
                                     "prompt_tokens": 50, "completion_tokens": 9, "finish_reason": "stop"}]}),
        json.dumps({"messages": task.messages(third, "multi", 3),
                    "generations": [f"<answer1>{third.gold[0][0]}</answer1><confidence1>0.5</confidence1>"]}),
        "",
    ]))
    result = mabench("--model", f"replay:{source}", "--out", str(tmp_path / "out"), *REPLAY_ARGS, "--mode", "multi",
                     "--limit", "4")
    assert result.exit_code == 0, result.output
    records = latest(only_run_dir(tmp_path / "out"))
    assert [j["correct"] for j in records[("multi", q1.id)]["judgements"]] == [True, False, False]
    assert records[("multi", q2.id)]["usage"] == {"prompt_tokens": 50, "completion_tokens": 9}
    assert records[("multi", third.id)]["judgements"][0]["correct"] is True
    missing = records[("multi", q4.id)]
    assert missing["error"].startswith("replay: no generation for this prompt")
    assert "errors: 1" in flat(result.output)


def test_a_malformed_replay_line_is_refused_naming_the_file_line_and_the_expected_form(tmp_path):
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}], "generations": ["x"]}) + "\n"
                      + json.dumps({"question_id": "8630912480840635425", "generations": ["x"]}) + "\n")
    result = mabench("--model", f"replay:{source}", "--out", str(tmp_path / "out"), *REPLAY_ARGS)
    assert result.exit_code == 2
    assert f"{source}:2" in flat(result.output) and '"task", "question_id", "mode" and "k"' in flat(result.output)


def test_a_missing_replay_source_is_refused_before_anything_runs(tmp_path):
    result = mabench("--model", f"replay:{tmp_path / 'nope.jsonl'}", "--out", str(tmp_path / "out"))
    assert result.exit_code == 2 and "no such replay source" in flat(result.output)
    assert not (tmp_path / "out").exists()
