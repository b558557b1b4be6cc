"""`mabench train` end to end on CPU: a tiny config-built model trains a few GRPO steps (the real TRL
GRPOTrainer) on the bundled AmbigQA sample and writes a checkpoint that `mabench run` evaluates directly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mabench.cli import app
from mabench.config import RunConfig
from mabench.manifest import TRAINING_RECORD
from mabench.runner import run

REPO = Path(__file__).resolve().parents[2]
STEPS = 2


def tiny_config(tmp_path: Path, **grpo: object) -> Path:
    """configs/train-cpu.yaml, shrunk further for a config-built model with a 400-token vocabulary."""
    data = yaml.safe_load((REPO / "configs" / "train-cpu.yaml").read_text())
    data["limit"] = 2
    data["grpo"].update({"num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 12,
                         "max_steps": STEPS, **grpo})
    path = tmp_path / "train-tiny-cpu.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def checkpoint(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("train")
    out = tmp / "ckpt"
    result = invoke("train", "--model", str(tiny_model), "--task", "ambigqa", "--method", "multi-rlcr", "--k", "3",
                    "--config", str(tiny_config(tmp)), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


def test_the_checkpoint_is_a_hugging_face_folder_with_the_base_chat_template(checkpoint, tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    assert model.config.vocab_size == len(tokenizer)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model).chat_template


def test_the_training_record_says_how_the_checkpoint_was_made(checkpoint, tiny_model):
    record = json.loads((checkpoint / TRAINING_RECORD).read_text())
    assert record["trainer"] == "mabench train"
    assert record["method"] == "multi-rlcr" and record["task"] == "ambigqa" and record["k"] == 3
    assert record["base_model"] == str(tiny_model)
    assert record["reward_weights"] == {"format": 0.5, "accuracy": 0.5, "brier": 0.5}
    assert record["steps"] == STEPS and record["trl_version"]
    assert record["config"]["grpo"]["loss_type"] == "dapo" and record["config"]["grpo"]["beta"] == 0.0


def test_the_log_has_every_reward_component_at_every_step(checkpoint):
    entries = [json.loads(line) for line in (checkpoint / "train_log.jsonl").read_text().splitlines()]
    steps = [e for e in entries if "reward" in e]
    assert [e["step"] for e in steps] == list(range(1, STEPS + 1))
    for entry in steps:
        for component in ("format", "accuracy", "brier"):
            assert 0.0 <= entry[f"rewards/{component}/mean"] <= 1.0
        assert "flags/duplicate_answers" in entry


def test_the_resolved_configs_are_written_beside_the_model(checkpoint):
    resolved = yaml.safe_load((checkpoint / "train_config.yaml").read_text())
    assert resolved["method"] == "multi-rlcr" and resolved["grpo"]["max_steps"] == STEPS
    grpo = json.loads((checkpoint / "grpo_config.json").read_text())
    assert grpo["num_generations"] == 2 and grpo["reward_weights"] == [0.5, 0.5, 0.5]
    assert grpo["scale_rewards"] == "none" and grpo["beta"] == 0.0


def test_mabench_run_evaluates_the_checkpoint_and_records_it_was_trained(checkpoint, tmp_path):
    config = RunConfig(model=str(checkpoint), tasks=["ambigqa"], modes=["multi"], limit=2, max_new_tokens=8)
    from mabench.backends import load_backend

    result = run(config, tmp_path / "runs", load_backend)
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["trained_by"]["trainer"] == "mabench train"
    assert manifest["trained_by"]["method"] == "multi-rlcr"
    assert "format_rate" in result.metrics["ambigqa"]["multi"]


def test_a_single_answer_method_trains_on_the_single_answer_prompt(tiny_model, tmp_path):
    out = tmp_path / "rlvr"
    result = invoke("train", "--model", str(tiny_model), "--method", "rlvr", "--max-steps", "1",
                    "--config", str(tiny_config(tmp_path)), "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads((out / TRAINING_RECORD).read_text())
    assert record["method"] == "rlvr" and record["candidates_per_generation"] == 1 and record["steps"] == 1
    assert record["reward_weights"] == {"format": 0.5, "accuracy": 0.5}
