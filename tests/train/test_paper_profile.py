"""The `paper` reward profile in `mabench train`: the default for every method, configs/paper/ as the authors'
released configs, reward_funcs and reward_weights honoured as given, and `--dry-run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from mabench.cli import app
from mabench.prompts import system_prompt, template_hash
from mabench.tasks.ambigqa import AmbigQA
from mabench.train.config import TrainConfig, build_grpo_config, load_train_config
from mabench.train.data import training_rows
from mabench.train.paper_reward_fns import paper_rewards
from mabench.train.profiles import resolve_rewards
from mabench.train.reward_funcs import build_profile_reward_funcs
from mabench.types import Question

PAPER = Path(__file__).resolve().parents[2] / "configs" / "paper"
MULTI = ["combined_format_and_constraint", "accuracy", "brier", "mean_confidence", "confidence_one_or_zero",
         "pass_at_1", "pass_at_3"]
MULTI_W = [0.5, 0.5, 0.5, 1e-5, 1e-5, 1e-5, 1e-5]
SINGLE = ["format", "accuracy", "brier", "mean_confidence", "confidence_one_or_zero", "pass_at_1"]
SINGLE_W = [0.5, 0.5, 0.5, 1e-6, 1e-6, 1e-6]

# Read off the authors' configs/**.yaml: (batch, accumulation, completion length, pattern, K, prompt, rewards, weights)
RELEASED = {
    "Qwen-3-8B/ambigqa/qwen3_8b_ambigqa_rlcr_multiple.yaml":
        (8, 32, 1536, "multi_answer", 3, "multi_answer_short_ambigqa", MULTI, MULTI_W),
    "Qwen-3-8B/ambigqa/qwen3_8b_ambigqa_rlcr_single.yaml":
        (8, 32, 1536, "tabc", 1, "rlcr_single_answer_no_extra_stuff_in_answer", SINGLE, SINGLE_W),
    "Qwen-3-32B/ambigqa/qwen3_32b_ambigqa_rlcr_multiple.yaml":
        (4, 32, 1536, "multi_answer", 3, "multi_answer_short_ambigqa", MULTI, MULTI_W),
    "Qwen-3-32B/ambigqa/qwen3_32b_ambigqa_rlcr_single.yaml":
        (4, 32, 1300, "tabc", 1, "rlcr_single_answer_no_extra_stuff_in_answer", SINGLE, SINGLE_W),
    "Qwen-3-8B/hotpot/qwen3_8b_hotpot_rlcr_multiple.yaml":
        (8, 32, 1536, "multi_answer", 3, "multi_answer_short", MULTI[:-1], MULTI_W[:-1]),
    "Qwen-3-8B/hotpot/qwen3_8b_hotpot_rlcr_single.yaml": (8, 32, 1536, "tabc", 1, "tabc_long", SINGLE, SINGLE_W),
    "Qwen-3-8B/hotpot/qwen3_8b_hotpot_rlVr_single.yaml": (8, 32, 1536, "ta", 1, "gen", SINGLE[:2], [0.5, 0.5]),
    "Qwen-3-8B/medical/qwen3_8b_medical_rlcr_multiple.yaml":
        (8, 32, 1536, "multi_answer", 3, "multi_answer_short_medical", MULTI, MULTI_W),
    "Qwen-3-8B/medical/qwen3_8b_medical_rlcr_single.yaml":
        (8, 32, 1536, "tabc", 1, "medical_rlcr_single_answer_no_extra_stuff_in_answer", SINGLE, SINGLE_W),
    "Qwen-3-8B/medical/qwen3_8b_medical_rlvr_single.yaml":
        (8, 32, 1536, "ta", 1, "gen_medical", SINGLE[:2], [0.5, 0.5]),
    "Qwen-2_5-7B-Instruct/hotpot/qwen2point5b_rlcr_single.yaml":
        (4, 128, 1536, "rlcr_single_answer", 1, "tabc_long", ["combined_format_and_constraint", *SINGLE[1:5]],
         [0.5, 0.5, 0.5, 1e-5, 1e-5]),
}


def test_configs_paper_holds_every_released_config():
    assert sorted(str(p.relative_to(PAPER)) for p in PAPER.rglob("*.yaml")) == sorted(RELEASED)


@pytest.mark.parametrize("name", sorted(RELEASED))
def test_each_paper_config_resolves_to_the_authors_trl_settings(name, tmp_path):
    batch, accumulation, length, pattern, k, prompt, funcs, weights = RELEASED[name]
    config = load_train_config(PAPER / name)
    assert config.grpo.bf16 and config.grpo.use_vllm and config.max_prompt_length == 3072
    args = build_grpo_config(config.with_overrides(grpo={"bf16": False}), tmp_path)  # CPU: no bf16 here
    assert (args.learning_rate, args.num_generations, args.temperature, args.seed) == (1e-6, 32, 0.7, 43)
    assert (args.per_device_train_batch_size, args.gradient_accumulation_steps) == (batch, accumulation)
    assert (args.max_completion_length, args.beta, args.loss_type, args.scale_rewards) == (length, 0.0, "dapo", "none")
    assert args.reward_weights == weights
    resolved = resolve_rewards(config)
    assert (list(resolved.names), resolved.format_pattern, resolved.num_candidates, resolved.prompt) == (
        funcs, pattern, k, prompt)


def test_paper_is_the_default_profile_with_the_released_rewards_of_each_method():
    for method, pattern, names in [("multi-rlcr", "multi_answer", MULTI), ("rlcr", "tabc", SINGLE),
                                   ("multi-rlvr", "multi_answer_rlvr", ["format", "accuracy"]),
                                   ("rlvr", "ta", ["format", "accuracy"])]:
        resolved = resolve_rewards(TrainConfig(method=method))
        assert (resolved.profile, resolved.format_pattern, list(resolved.names)) == ("paper", pattern, names)
    assert resolve_rewards(TrainConfig(task="ddxplus")).prompt == "og_multi_answer_short_medical"


def test_reward_funcs_and_weights_are_honoured_as_given_including_logging_weights(tmp_path):
    small = {"num_generations": 4, "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1}
    config = TrainConfig(reward_funcs=["brier", "uniqueness", "num_correct_at_2"], reward_weights=[2.0, 1e-5, 0.0],
                         grpo=small)
    assert build_grpo_config(config, tmp_path).reward_weights == [2.0, 1e-5, 0.0]
    funcs, weights = build_profile_reward_funcs(AmbigQA(), config.spec, 3, resolve_rewards(config))
    assert [f.__name__ for f in funcs] == ["brier", "uniqueness", "num_correct_at_2"] and weights == [2.0, 1e-5, 0.0]
    unweighted = TrainConfig(reward_funcs=["format", "accuracy"])  # TRL's default: 1.0 each
    assert resolve_rewards(unweighted).weights == (1.0, 1.0)


def test_the_trl_reward_functions_are_paper_rewards_on_the_questions_gold_aliases():
    question = Question(id="q", task="ambigqa", inputs={"question": "Which city?", "annotations": [[["Lyon"]]]},
                        gold=[["Paris"], ["Lyon", "Lyons"]])
    text = ("<think>t</think><analysis>a</analysis><answer1>Lyons</answer1><confidence1>0.6</confidence1>"
            "<answer2>Nice</answer2><confidence2>0.2</confidence2><answer3>Metz</answer3><confidence3>0.1</confidence3>")
    config = TrainConfig()
    funcs, _ = build_profile_reward_funcs(AmbigQA(), config.spec, 3, resolve_rewards(config))
    got = {f.__name__: f(prompts=[[]], completions=[[{"role": "assistant", "content": text}]],
                         question=[question.model_dump_json()])[0] for f in funcs}
    expected = paper_rewards(text, ["Paris", "Lyon", "Lyons"], format_pattern="multi_answer", num_candidates=3)
    assert got == {name: expected[name] for name in MULTI} and got["accuracy"] == 1.0


def test_the_training_prompt_is_the_authors_system_prompt_and_problem_turn():
    config = TrainConfig()
    question = AmbigQA().load()[0]
    row = training_rows(AmbigQA(), [question], config.spec, 3, resolve_rewards(config).prompt)[0]
    assert row["prompt"][0] == {"role": "system", "content": system_prompt("multi_answer_short_ambigqa", 3)}
    assert row["prompt"][1]["content"] == f"\n\nPROBLEM: {question.inputs['question']}\n\n"
    assert "EXACTLY 3 DISTINCT" in row["prompt"][0]["content"] and "<answer{i}>" in row["prompt"][0]["content"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"reward_weights": {"format": 1.0}}, "takes a list"),
    ({"reward_profile": "mabench", "reward_weights": [0.5]}, "takes a mapping"),
    ({"reward_profile": "mabench", "reward_funcs": ["format"]}, "belongs to reward_profile 'paper'"),
    ({"reward_funcs": ["format", "accuracy"], "reward_weights": [0.5]}, "1 weights for 2 reward_funcs"),
    ({"reward_funcs": ["accuracy", "correctness"]}, "unknown reward 'correctness'"),
    ({"method": "rlcr", "format_pattern": "multi_answer"}, "does not fit method 'rlcr'"),
    ({"method": "rlcr", "format_pattern": "rlcr_single_answer", "reward_funcs": ["pass_at_3"]}, "pass_at_3"),
    ({"accuracy": "distinct"}, "accuracy_fraction"),
    ({"task": "mbpp", "prompt": "paper"}, "only for the tasks"),
    ({"prompt": "gen"}, "needs multi answers"),
])
def test_inconsistent_profile_settings_are_errors_naming_the_field(fields, message):
    with pytest.raises(ValidationError, match=message):
        TrainConfig(**fields)


def test_the_mabench_profile_keeps_its_weights_mapping_and_the_tasks_own_prompt():
    resolved = resolve_rewards(TrainConfig(reward_profile="mabench", reward_weights={"brier": 0.25}))
    assert (resolved.names, resolved.weights, resolved.prompt) == (("format", "accuracy", "brier"), (0.5, 0.5, 0.25),
                                                                   None)


def test_dry_run_prints_the_resolved_rewards_and_weights_without_loading_the_model(tmp_path):
    config = PAPER / "Qwen-3-8B/ambigqa/qwen3_8b_ambigqa_rlcr_multiple.yaml"  # Qwen/Qwen3-8B is not downloadable here
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--out", str(tmp_path / "x"), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for name, weight in zip(MULTI, MULTI_W, strict=True):
        assert f"  {name}: {weight:g}" in lines
    assert "reward profile paper" in result.output and "format_pattern: multi_answer" in result.output
    assert template_hash("multi_answer_short_ambigqa") in result.output
    assert not (tmp_path / "x").exists()


def test_a_bad_profile_on_the_command_line_exits_2_with_one_line(tmp_path):
    result = CliRunner().invoke(app, ["train", "--reward-profile", "ppo", "--out", str(tmp_path / "x"), "--dry-run"])
    assert result.exit_code == 2 and "reward_profile" in result.output and "Traceback" not in result.output


def test_a_paper_profile_run_trains_on_the_authors_prompt_and_logs_their_rewards(tiny_model, tmp_path):
    import json

    import yaml

    data = yaml.safe_load((PAPER.parent / "train-cpu.yaml").read_text())
    data.pop("reward_profile"), data.pop("reward_weights"), data.pop("accuracy")  # the defaults: the paper profile
    data["limit"] = 2
    data["grpo"].update({"num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 8,
                         "max_steps": 1})
    path = tmp_path / "paper-cpu.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "ckpt"
    result = CliRunner().invoke(app, ["train", "--model", str(tiny_model), "--config", str(path), "--out", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "mabench_train.json").read_text())
    assert record["rewards"]["reward_profile"] == "paper"
    assert record["reward_weights"] == dict(zip(MULTI, MULTI_W, strict=True))
    assert record["rewards"]["prompt_sha256"] == template_hash("multi_answer_short_ambigqa")
    logged = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert any(f"rewards/{name}/mean" in entry for entry in logged for name in MULTI)


def test_a_prompt_longer_than_max_prompt_length_is_refused_not_truncated(tiny_model, tmp_path):
    out = tmp_path / "ckpt"
    result = CliRunner().invoke(app, ["train", "--model", str(tiny_model), "--limit", "1", "--out", str(out),
                                      "--config", str(_write(tmp_path, "max_prompt_length: 8\n"))])
    assert result.exit_code == 2 and "max_prompt_length" in result.output and "more than 8" in result.output
    assert not out.exists()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path
