"""lm-eval tasks inside mabench runs: `mabench run --tasks ambigqa,lm-eval:NAME` evaluates NAME with lm-eval's
evaluator and the run's model, stores lm-eval's results and samples, and its metrics reach metrics.json, the
leaderboard, compare, check and the report."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from typer.testing import CliRunner

from mabench.backends.options import BackendOptions
from mabench.cli import app
from mabench.lmeval.bridge import LMEvalError, lmeval_model
from mabench.results import metrics_frame
from tests.lmeval.conftest import write_mc_task


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_an_lm_eval_task_runs_beside_a_mabench_task_and_reaches_every_reader(tiny_model, tmp_path, offline_env):
    yaml = write_mc_task(tmp_path / "task")
    runs = tmp_path / "runs"
    command = ["run", "--model", f"hf:{tiny_model}", "--tasks", "ambigqa,lm-eval:tiny_mc", "--mode", "multi",
               "--data-path", f"lm-eval:tiny_mc={yaml}", "--k", "2", "--limit", "4", "--max-new-tokens", "4",
               "--batch-size", "4", "--out", str(runs)]
    first = _invoke(*command)
    assert first.exit_code == 0, first.output
    run_dir = next(runs.iterdir())
    stored = json.loads((run_dir / "lm-eval" / "results.json").read_text())
    samples = [json.loads(x) for x in (run_dir / "lm-eval" / "samples_tiny_mc.jsonl").read_text().splitlines()]
    assert len(samples) == 4  # --limit reaches lm-eval
    acc = json.loads((run_dir / "metrics.json").read_text())["lm-eval:tiny_mc"]["lm-eval"]["acc"]
    assert acc["value"] == stored["results"]["tiny_mc"]["acc,none"] and acc["n"] == 4
    assert acc["per_question"] == {str(s["doc_id"]): float(s["acc"]) for s in samples}
    assert "acc" in first.stdout  # the run's summary shows lm-eval's metric

    again = _invoke(*command)  # a repeated command reuses lm-eval's stored results
    assert again.exit_code == 0, again.output
    assert json.loads((run_dir / "lm-eval" / "results.json").read_text()) == stored

    board = _invoke("leaderboard", str(runs))
    assert board.exit_code == 0, board.output
    rows = {r["task"]: r for r in csv.DictReader(io.StringIO(board.stdout))}
    row = rows["lm-eval:tiny_mc"]
    assert (row["mode"], row["lm_eval_metric"], row["k"]) == ("lm-eval", "acc", "")
    assert float(row["lm_eval_value"]) == pytest.approx(acc["value"])
    frame = metrics_frame(runs)
    assert frame[(frame.task == "lm-eval:tiny_mc") & (frame.metric == "acc")]["value"].item() == acc["value"]

    # A baseline that scored higher on the lm-eval task: check fails on it, compare pairs it by question.
    base = tmp_path / "baseline" / run_dir.name
    shutil.copytree(run_dir, base)
    metrics = json.loads((base / "metrics.json").read_text())
    better = metrics["lm-eval:tiny_mc"]["lm-eval"]["acc"]
    better["per_question"] = {q: 1.0 for q in better["per_question"]}
    better.update(value=1.0, ci_low=1.0, ci_high=1.0)
    (base / "metrics.json").write_text(json.dumps(metrics))
    gate = _invoke("check", str(run_dir), "--baseline", str(base), "--task", "lm-eval:tiny_mc", "--json")
    assert gate.exit_code == 1, gate.output
    checked = json.loads(gate.stdout)["checks"]
    assert [(c["metric"], c["regressed"]) for c in checked] == [("acc", True)]
    assert _invoke("check", str(run_dir), "--baseline", str(run_dir)).exit_code == 0
    csv_base = tmp_path / "baseline.csv"
    assert _invoke("leaderboard", str(base), "-o", str(csv_base)).exit_code == 0
    assert _invoke("check", str(run_dir), "--baseline", str(csv_base), "--task", "lm-eval:tiny_mc").exit_code == 1
    compared = _invoke("compare", str(base), str(run_dir), "--json")
    assert compared.exit_code == 0, compared.output
    diff = next(d for d in json.loads(compared.stdout)["metrics"] if d["metric"] == "acc")
    assert diff["diff"] == pytest.approx(acc["value"] - 1.0) and diff["n_paired"] == 4

    pytest.importorskip("matplotlib")
    html = tmp_path / "report.html"
    assert _invoke("report", str(run_dir), "-o", str(html)).exit_code == 0
    assert "lm-eval:tiny_mc" in html.read_text()


def test_model_specs_map_to_lm_eval_models(tmp_path):
    options = BackendOptions(base_url="http://localhost:8000/v1", api_key_env="MY_KEY", concurrency=7,
                             tensor_parallel_size=2, max_model_len=4096, engine_args={"dtype": "float16"})
    api = lmeval_model("openai:served-name", options)
    assert (api.model, api.apply_chat_template, api.api_key_env) == ("local-chat-completions", True, "MY_KEY")
    assert api.model_args["base_url"] == "http://localhost:8000/v1/chat/completions"
    assert api.model_args["model"] == "served-name" and api.model_args["num_concurrent"] == 7
    replay = tmp_path / "gens.jsonl"
    replay.write_text("")
    with pytest.raises(LMEvalError, match="replay has none"):
        lmeval_model(f"replay:{replay}", options)
    with pytest.raises(LMEvalError, match="--base-url"):
        lmeval_model("openai:served-name", BackendOptions())


def test_an_unknown_lm_eval_task_or_a_replayed_model_is_refused_before_anything_runs(tmp_path, offline_env):
    unknown = _invoke("run", "--model", "hf:nobody/none", "--tasks", "lm-eval:no_such_task_xyz",
                      "--out", str(tmp_path / "runs"))
    assert unknown.exit_code == 2
    assert "unknown lm-eval task 'no_such_task_xyz'" in " ".join(unknown.output.split())
    gens = tmp_path / "gens.jsonl"
    gens.write_text("")
    replay = _invoke("run", "--model", f"replay:{gens}", "--tasks", "ambigqa,lm-eval:gsm8k", "--out",
                     str(tmp_path / "runs"))
    assert replay.exit_code == 2 and "replay has none" in " ".join(replay.output.split())
    assert not (tmp_path / "runs").exists()
