"""The training config: YAML into pydantic, the paper's settings, and errors that name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.cli import app
from mabench.train.config import TrainConfig, TrainConfigError, build_grpo_config, load_train_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_gpu_config_is_the_papers_setup():
    config = load_train_config(CONFIGS / "train-gpu.yaml")
    g = config.grpo
    assert (g.learning_rate, g.warmup_ratio, g.num_generations, g.temperature) == (1e-6, 0.05, 32, 0.7)
    assert (g.beta, g.loss_type, g.scale_rewards, g.epsilon) == (0.0, "dapo", "none", 0.2)
    assert g.max_completion_length == 1536
    assert g.use_vllm and g.vllm_mode == "colocate"
    assert config.method == "multi-rlcr" and config.k == 3 and config.reward_profile == "paper"
    assert config.reward_weights is None  # the paper profile's weights: those of the authors' released config


def test_the_defaults_are_the_papers_rl_settings():
    assert TrainConfig().grpo.model_dump(include={"learning_rate", "num_generations", "beta", "loss_type",
                                                  "scale_rewards"}) == {
        "learning_rate": 1e-6, "num_generations": 32, "beta": 0.0, "loss_type": "dapo", "scale_rewards": "none"}


def test_the_cpu_config_is_small():
    config = load_train_config(CONFIGS / "train-cpu.yaml")
    assert config.model == "default" and not config.grpo.use_vllm and not config.grpo.bf16
    assert config.grpo.max_steps <= 5 and config.grpo.max_completion_length <= 128


def test_an_unknown_field_is_an_error_naming_it(tmp_path):
    with pytest.raises(TrainConfigError, match=r"config\.yaml: .*learnin_rate"):
        load_train_config(write(tmp_path, "grpo:\n  learnin_rate: 1.0e-6\n"))
    with pytest.raises(TrainConfigError, match="metod"):
        load_train_config(write(tmp_path, "metod: multi-rlcr\n"))


def test_a_bad_value_is_an_error_naming_the_field(tmp_path):
    with pytest.raises(TrainConfigError, match=r"grpo\.num_generations"):
        load_train_config(write(tmp_path, "grpo:\n  num_generations: 1\n"))
    with pytest.raises(TrainConfigError, match="method"):
        load_train_config(write(tmp_path, "method: ppo\n"))
    with pytest.raises(TrainConfigError, match=r"reward_weights\.RewardWeights\.brier"):
        load_train_config(write(tmp_path, "reward_profile: mabench\nreward_weights: {brier: -1}\n"))


def test_a_pass_through_setting_must_be_a_trl_setting(tmp_path):
    config = TrainConfig.model_validate({"grpo": {"extra": {"not_a_trl_setting": 1}}})
    with pytest.raises(TrainConfigError, match=r"grpo\.extra\.not_a_trl_setting"):
        build_grpo_config(config, tmp_path)


def test_the_grpo_config_gets_the_methods_reward_weights(tmp_path):
    config = TrainConfig(method="multi-rlvr", reward_profile="mabench",
                         reward_weights={"format": 0.25, "accuracy": 1.0})
    args = build_grpo_config(config.with_overrides(grpo={"num_generations": 4, "per_device_train_batch_size": 4,
                                                         "gradient_accumulation_steps": 1}), tmp_path)
    assert args.reward_weights == [0.25, 1.0]
    assert (args.beta, args.loss_type, args.scale_rewards, args.num_generations) == (0.0, "dapo", "none", 4)


def test_command_line_options_override_the_file(tmp_path):
    config = load_train_config(CONFIGS / "train-cpu.yaml").with_overrides(method="rlcr", k=5, grpo={"max_steps": 7})
    assert (config.method, config.k, config.grpo.max_steps, config.candidates) == ("rlcr", 5, 7, 1)


def test_the_command_rejects_an_unknown_method_and_lists_the_valid_ones(tmp_path):
    result = CliRunner().invoke(app, ["train", "--method", "ppo", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "multi-rlcr" in result.output and "ppo" in result.output
    assert not (tmp_path / "x").exists()


def test_the_command_rejects_an_unknown_task(tmp_path):
    result = CliRunner().invoke(app, ["train", "--task", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "unknown task 'nope'" in result.output


def test_the_command_rejects_a_model_it_cannot_load(tmp_path):
    result = CliRunner().invoke(app, ["train", "--model", str(tmp_path / "missing"), "--config",
                                      str(CONFIGS / "train-cpu.yaml"), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "could not load model" in result.output
    assert not (tmp_path / "x").exists()
