"""The training configuration: a YAML file loaded into pydantic models; a bad field is an error that names it.

The defaults are the paper's released RL settings (METHOD.md; the batch layout from the authors' configs), with
the hardware-dependent ones (vLLM, bf16) off; `configs/train-gpu.yaml` spells everything out for GPUs and
`configs/train-cpu.yaml` shrinks it to a few CPU steps. Settings of `trl.GRPOConfig` that have no typed field
here go under `grpo.extra` and are passed through unchanged (an unknown name is an error at build time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .lora import LoraSettings
from .methods import AccuracyMode, Method, MethodSpec, method_spec
from .profiles import RewardProfile, check_paper_fields
from .rewards import RewardWeights
from .splits import Split
from .warmup import WarmupSettings

DType = Literal["float32", "bfloat16", "float16", "auto"]


class TrainConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GRPOSettings(_Strict):
    """The `trl.GRPOConfig` settings the paper fixes, plus the usual run-time ones."""

    learning_rate: float = Field(1e-6, gt=0.0)
    warmup_ratio: float = Field(0.05, ge=0.0, le=1.0)
    lr_scheduler_type: str = "linear"
    num_generations: int = Field(32, ge=2, description="completions per prompt (the GRPO group)")
    temperature: float = Field(0.7, gt=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    beta: float = Field(0.0, ge=0.0, description="KL coefficient; 0 loads no reference model")
    loss_type: str = "dapo"
    scale_rewards: Literal["group", "batch", "none"] = "none"
    epsilon: float = Field(0.2, gt=0.0, description="PPO clip range")
    max_completion_length: int = Field(1536, ge=1)
    num_train_epochs: float = Field(1.0, gt=0.0)
    max_steps: int = Field(-1, description="optimizer steps; -1 runs num_train_epochs")
    per_device_train_batch_size: int = Field(8, ge=1, description="completions per device per micro-batch")
    gradient_accumulation_steps: int = Field(32, ge=1)
    num_iterations: int = Field(1, ge=1)
    use_vllm: bool = False
    vllm_mode: Literal["colocate", "server"] = "colocate"
    vllm_gpu_memory_utilization: float = Field(0.3, gt=0.0, le=1.0)
    bf16: bool = False
    gradient_checkpointing: bool = False
    logging_steps: float = Field(1, gt=0)
    save_strategy: Literal["no", "steps", "epoch"] = "no"
    save_steps: float = Field(500, gt=0)
    report_to: list[str] = Field(default_factory=lambda: ["none"])
    log_completions: bool = False
    dataloader_num_workers: int = Field(0, ge=0)
    extra: dict[str, Any] = Field(default_factory=dict, description="any other trl.GRPOConfig field, passed through")

    @model_validator(mode="after")
    def _extra_does_not_shadow(self) -> GRPOSettings:
        managed = {"output_dir", "seed", "reward_weights", "warmup_steps"}
        shadowed = sorted(set(self.extra) & (set(type(self).model_fields) | managed))
        if shadowed:
            raise ValueError(f"grpo.extra must not repeat a typed or managed setting: {shadowed}")
        return self


class TrainConfig(_Strict):
    model: str = Field("default", description="'default' (the embedded SmolLM2-135M-Instruct), a folder or Hub id")
    task: str = "ambigqa"
    method: Method = "multi-rlcr"
    k: int = Field(3, ge=1, le=32, description="candidates per generation in the multi methods")
    data_path: str | None = Field(None, description="the task's data file in its original format")
    limit: int | None = Field(None, ge=1, description="first N training questions")
    shuffle: bool = False
    split: Split = Field("file", description="'file': the data file's questions; 'bundled-disjoint': the data "
                         "file minus the task's bundled evaluation sample, in a fixed hashed order (splits.py)")
    seed: int = 0
    accuracy: AccuracyMode = Field("any", description="mabench profile: 'any' correct candidate, or 'distinct' / K")
    reward_profile: RewardProfile = Field("paper", description="'paper': the authors' reward functions (default); "
                                          "'mabench': mabench's own (profiles.py, docs/paper-profile.md)")
    reward_funcs: list[str] | None = Field(None, description="paper profile: the authors' reward names, in order")
    reward_weights: RewardWeights | list[float] | None = Field(
        None, description="paper: one weight per reward_funcs entry; mabench: a {format, accuracy, brier} mapping")
    format_pattern: str | None = Field(None, description="paper profile: the authors' format_pattern")
    source: str | None = Field(None, description="paper profile: the authors' data-source name for correctness")
    prompt: str | None = Field(None, description="'paper' or one of the authors' prompt names (mabench.prompts); "
                               "default: 'paper' in the paper profile on tasks it has, else the task's own")
    max_prompt_length: int | None = Field(None, ge=1, description="the authors' limit in tokens; TRL 1.16 has no "
                                          "such setting, so a longer prompt is an error rather than truncated")
    dtype: DType = Field("float32", description="weights' dtype while training (model_init_kwargs.dtype)")
    grpo: GRPOSettings = Field(default_factory=GRPOSettings)
    lora: LoraSettings | None = Field(None, description="train a LoRA adapter (peft) instead of the full model; "
                                      "the checkpoint is then the adapter alone")
    warmup: WarmupSettings | None = Field(None, description="supervised format warm-up before GRPO (warmup.py)")
    cpu_threads: int | None = Field(None, ge=1, description="torch CPU threads while training (default: torch's)")
    sandbox_executor: Literal["local", "ray"] = Field(
        "local", description="where code tasks run the programs their rewards judge: this machine's sandbox pool, or "
        "'ray': the same sandbox on every node of the Ray cluster at $RAY_ADDRESS (else a local Ray; mabench[ray])")

    @model_validator(mode="after")
    def _profile_fields_fit(self) -> TrainConfig:
        check_paper_fields(self)
        return self

    @property
    def spec(self) -> MethodSpec:
        return method_spec(self.method)

    @property
    def candidates(self) -> int:
        """Candidates per generation: K for the multi methods, 1 for RLVR / RLCR."""
        return self.spec.candidates(self.k)

    def with_overrides(self, grpo: dict[str, Any] | None = None, **overrides: Any) -> TrainConfig:
        """A copy with the given top-level fields (and `grpo` settings) replaced, validated again; a None value
        leaves its field as it is."""
        data = self.model_dump()
        data.update({key: value for key, value in overrides.items() if value is not None})
        data["grpo"].update({key: value for key, value in (grpo or {}).items() if value is not None})
        return TrainConfig.model_validate(data)


def format_validation_error(err: ValidationError, where: str) -> str:
    def problem(e: Any) -> str:
        got = "" if isinstance(e.get("input"), dict) or e["type"] == "extra_forbidden" else f" (got {e['input']!r})"
        return f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}{got}"

    problems = "; ".join(problem(e) for e in err.errors())
    return f"{where}: invalid training config: {problems}"


def load_train_config(path: Path | str | None) -> TrainConfig:
    """The config in a YAML file (defaults for anything it leaves out), or the defaults without a file."""
    import yaml  # the `train` extra's; the core CLI imports this module without it

    if path is None:
        return TrainConfig()
    path = Path(path)
    if not path.is_file():
        raise TrainConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise TrainConfigError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise TrainConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as err:
        raise TrainConfigError(format_validation_error(err, str(path))) from None


def grpo_kwargs(config: TrainConfig, output_dir: Path, has_warmup_ratio: bool = False) -> dict[str, Any]:
    """Keyword arguments for `trl.GRPOConfig`: the typed settings, the pass-through ones, and the managed ones.

    transformers 5 dropped `warmup_ratio`; a float `warmup_steps` below 1 is the ratio there."""
    settings = config.grpo.model_dump(exclude={"extra"})
    if not has_warmup_ratio:
        ratio = settings.pop("warmup_ratio")
        settings["warmup_steps"] = ratio if 0.0 < ratio < 1.0 else int(ratio)
    from .profiles import resolve_rewards

    weights = list(resolve_rewards(config).weights)
    model_init: dict[str, Any] = {"dtype": config.dtype}
    model_init.update(config.grpo.extra.get("model_init_kwargs") or {})
    extra = {key: value for key, value in config.grpo.extra.items() if key != "model_init_kwargs"}
    return {
        **settings, **extra, "output_dir": str(output_dir), "seed": config.seed, "reward_weights": weights,
        "model_init_kwargs": model_init,
    }


def build_grpo_config(config: TrainConfig, output_dir: Path) -> Any:
    """The `trl.GRPOConfig`; an unknown pass-through name is a `TrainConfigError` naming it."""
    import dataclasses

    from trl import GRPOConfig

    known = {f.name for f in dataclasses.fields(GRPOConfig)}
    unknown = sorted(set(config.grpo.extra) - known)
    if unknown:
        raise TrainConfigError(f"grpo.extra.{unknown[0]}: not a setting of trl.GRPOConfig")
    return GRPOConfig(**grpo_kwargs(config, output_dir, has_warmup_ratio="warmup_ratio" in known))
