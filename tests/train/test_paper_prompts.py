"""The authors' prompts in `mabench run` (`--prompt`) and their evaluation beside mabench's (`--eval-profile
paper`): the run sends exactly their chat, records the prompt's name and hash, and writes paper_* metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.cli import app
from mabench.metrics import paper_eval
from mabench.paper_metrics import paper_metric_name
from mabench.paper_prompt_texts import TEMPLATES
from mabench.prompts import PAPER_TASKS, prompt_messages, system_prompt, template_hash
from mabench.tasks.ambigqa import AmbigQA

MULTI_TEXTS = [
    "<think>t</think><analysis>a</analysis><answer1>{a}</answer1><confidence1>0.6</confidence1>"
    "<answer2>Nice</answer2><confidence2>0.3</confidence2><answer3>Metz</answer3><confidence3>0.1</confidence3>",
    "no tags at all",
    "<answer1>Nice</answer1><answer1>{a}</answer1><confidence>70</confidence>",
]
BOK_TEXTS = ["<think>t</think><answer>{a}</answer><analysis>a</analysis><confidence>0.8</confidence>",
             "<answer>Nowhere</answer><confidence>0.4</confidence>", "<answer>{a}</answer>"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def flat(gold: list) -> list[str]:
    return [a for group in gold for a in group]


@pytest.fixture
def replay_source(tmp_path: Path) -> tuple[Path, list, list[str], list[list[str]]]:
    """Generations recorded for the authors' chat (their prompt), for the first three sample questions."""
    questions = AmbigQA().load()[:3]
    multi = [t.format(a=q.gold[0][0]) for t, q in zip(MULTI_TEXTS, questions, strict=True)]
    bok = [[t.format(a=q.gold[0][0]) for t in BOK_TEXTS] for q in questions]
    lines = []
    for q, m, b in zip(questions, multi, bok, strict=True):
        lines.append({"messages": prompt_messages("multi_answer_short_ambigqa", "ambigqa", q, 3), "generations": [m]})
        lines.append({"messages": prompt_messages("rlcr_single_answer_no_extra_stuff_in_answer", "ambigqa", q, 3),
                      "generations": b})
    path = tmp_path / "generations.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path, questions, multi, bok


def run_dirs(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/manifest.json"))


def test_a_paper_prompt_run_sends_their_chat_and_records_its_name_and_hash(replay_source, tmp_path):
    path, questions, multi, bok = replay_source
    result = invoke("run", "--model", f"replay:{path}", "--tasks", "ambigqa", "--limit", "3", "--k", "3",
                    "--prompt", "paper", "--eval-profile", "paper", "--out", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    (run_dir,) = run_dirs(tmp_path / "runs")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["config"]["prompt"] == "paper" and manifest["config"]["eval_profile"] == "paper"
    assert manifest["prompt"]["resolved"]["ambigqa"]["multi"] == {
        "name": "multi_answer_short_ambigqa", "sha256": template_hash("multi_answer_short_ambigqa")}
    records = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 6 and all(r["error"] is None for r in records)  # every prompt matched their chat

    metrics = json.loads((run_dir / "metrics.json").read_text())["ambigqa"]
    golds = [flat(q.gold) for q in questions]
    for mode, expected in [("multi", paper_eval(multi, golds, format_pattern="multi_answer")),
                           ("bok", paper_eval(bok, golds, format_pattern="rlcr_single_answer"))]:
        for key, value in expected.items():
            got = metrics[mode][paper_metric_name(key)]["value"]
            assert got == pytest.approx(value, nan_ok=True) or (got is None and value != value), (mode, key)
        assert "hit_at_k" in metrics[mode]  # mabench's own metrics stay
    assert metrics["multi"]["paper_set_brier"]["value"] == pytest.approx(expected_set_brier(multi, questions))


def expected_set_brier(multi: list[str], questions: list) -> float:
    first = (0.6 - 1) ** 2 + 0.3 ** 2 + 0.1 ** 2  # candidate 1 correct
    third = 1.0  # "<answer1>" twice: the last (correct) one counts, with no numbered confidence (0)
    assert questions  # the second output has no tags and contributes 0
    return (first + 0.0 + third) / 3


def test_the_prompt_is_part_of_the_run_identity(replay_source, tmp_path):
    path, *_ = replay_source
    common = ["run", "--model", f"replay:{path}", "--tasks", "ambigqa", "--limit", "3", "--out", str(tmp_path / "r")]
    assert invoke(*common, "--prompt", "paper").exit_code == 0
    assert invoke(*common).exit_code == 0  # the task's own prompt: no recorded generations, but a run
    assert len(run_dirs(tmp_path / "r")) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--tasks", "mbpp", "--prompt", "paper"], "only for the tasks"),
    (["--prompt", "nope"], "unknown prompt 'nope'"),
    (["--mode", "multi", "--prompt", "gen"], "needs multi answers"),
    (["--eval-profile", "authors"], "eval_profile"),
])
def test_a_bad_prompt_or_profile_exits_2_with_a_one_line_reason(args, message, tmp_path):
    result = invoke("run", "--out", str(tmp_path / "x"), *args)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_their_prompts_format_k_and_keep_the_answer_index_placeholder():
    text = system_prompt("multi_answer_short_ambigqa", 4)
    assert "Output EXACTLY 4 DISTINCT candidates." in text and "<answer{i}>" in text and "{K}" not in text
    assert system_prompt("gen", 3) == TEMPLATES["gen"]
    for task in PAPER_TASKS.values():
        assert set(task.prompts.values()) <= set(TEMPLATES)
