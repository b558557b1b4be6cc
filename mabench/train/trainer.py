"""`train`: GRPO (TRL's `GRPOTrainer`) with mabench's rewards, writing a checkpoint `mabench run` evaluates.

The checkpoint directory holds the model, the tokenizer with its chat template, and beside them:

- `train_log.jsonl`: TRL's log, one line per logging step (loss, each reward component, lengths, ...);
- `train_config.yaml`: the resolved mabench training config; `grpo_config.json`: the resolved `trl.GRPOConfig`;
- `mabench_train.json` (`mabench.manifest.TRAINING_RECORD`): method, base model, task, K, weights, versions and
  steps, which `mabench run --model CKPT_DIR` copies into its manifest as `trained_by`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mabench.manifest import TRAINING_RECORD

from .config import TrainConfig, TrainConfigError, build_grpo_config
from .data import build_dataset
from .lora import finalize_adapter
from .policy import build_policy
from .profiles import resolve_rewards
from .reward_funcs import build_profile_reward_funcs
from .splits import RECORD_KEY, select_questions, training_record

TRAIN_LOG = "train_log.jsonl"
RESOLVED_CONFIG = "train_config.yaml"
GRPO_CONFIG = "grpo_config.json"
TRAINER_NAME = "mabench train"


@dataclass
class TrainResult:
    checkpoint: Path
    steps: int
    record: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)


def resolve_base_model(model: str) -> str:
    """A path or Hub id `from_pretrained` accepts: 'default' is the embedded SmolLM2-135M-Instruct folder."""
    if model == "default":
        from mabench.backends.default_model import ensure_default_model

        return str(ensure_default_model())
    return model.removeprefix("hf:")


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _log_callback(path: Path) -> Any:
    from transformers import TrainerCallback

    class JsonlLog(TrainerCallback):
        """Appends each of TRL's log entries to a JSON-lines file as it is written."""

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            if logs and state.is_world_process_zero:
                with path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps({"step": state.global_step, **logs}) + "\n")

    return JsonlLog()


def _check_prompt_lengths(tokenizer: Any, dataset: Any, limit: int) -> None:
    """The authors' trainer truncates prompts to max_prompt_length tokens; TRL 1.16 cannot, so a longer prompt is
    an error instead of a silently different experiment."""
    for row in dataset:
        ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=True)
        n = len(ids["input_ids"] if hasattr(ids, "keys") else ids)  # a BatchEncoding in transformers 5
        if n > limit:
            raise TrainConfigError(f"max_prompt_length: question {row['question_id']!r} has a {n}-token prompt, "
                                   f"more than {limit}")


@contextlib.contextmanager
def _reward_sandbox(task: Any, executor: str) -> Iterator[None]:
    """Code tasks judge their rewards in one warm sandbox for the whole training, as `mabench run` does, instead
    of starting one per completion: this machine's pool, or with `sandbox_executor: ray` sandboxed Ray actors on
    the cluster at $RAY_ADDRESS. Other tasks run no programs and get nothing."""
    if not getattr(getattr(task, "spec", None), "needs_sandbox", False):
        yield
        return
    from mabench.sandbox import SandboxConfig, open_sandbox

    with open_sandbox(2, SandboxConfig(executor=executor)) as sandbox:  # type: ignore[arg-type]
        task.attach_sandbox(sandbox)
        yield


def train(config: TrainConfig, out: Path, *, task: Any | None = None) -> TrainResult:
    """Train `config.model` on `config.task` with `config.method`; `task` overrides the registry lookup (a Task
    object, e.g. a synthetic one). Writes the checkpoint directory `out` and returns what it wrote."""
    import yaml
    from transformers import AutoTokenizer
    from trl import GRPOTrainer

    spec = config.spec
    if task is None:
        from mabench.tasks import load_task

        task = load_task(config.task)
    modes = getattr(getattr(task, "spec", None), "modes", (spec.mode,))
    if spec.mode not in modes:
        raise TrainConfigError(f"task {config.task!r} has no {spec.mode!r} mode, which method {spec.name!r} needs")
    questions = select_questions(task, config)
    resolved = resolve_rewards(config)
    dataset = build_dataset(task, questions, spec, config.k, resolved.prompt)
    reward_funcs, _ = build_profile_reward_funcs(task, spec, config.k, resolved, config.accuracy)
    if config.sandbox_executor == "ray" and getattr(getattr(task, "spec", None), "needs_sandbox", False):
        from mabench.ray_cluster import require_ray

        require_ray()  # before the model loads: RayUnavailable names the extra to install

    base = resolve_base_model(config.model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base, padding_side="left", truncation_side="left")
    except OSError as err:
        raise TrainConfigError(f"could not load model {config.model!r}: {err}") from err
    if tokenizer.chat_template is None:
        raise TrainConfigError(f"model {config.model!r} has no chat template; mabench trains chat models only")
    if config.max_prompt_length is not None:
        _check_prompt_lengths(tokenizer, dataset, config.max_prompt_length)
    out = Path(out)
    args = build_grpo_config(config, out)
    out.mkdir(parents=True, exist_ok=True)
    (out / TRAIN_LOG).unlink(missing_ok=True)
    if config.cpu_threads is not None:
        import torch

        torch.set_num_threads(config.cpu_threads)
    warm_start = time.perf_counter()
    policy, warm_log = build_policy(base, tokenizer, lora=config.lora, warmup=config.warmup, task=task,
                                    questions=questions, spec=spec, k=config.k, prompt=resolved.prompt,
                                    dtype=config.dtype, out=out)
    warmup_runtime = time.perf_counter() - warm_start

    trainer = GRPOTrainer(
        model=policy, reward_funcs=reward_funcs, args=args, train_dataset=dataset, processing_class=tokenizer,
        callbacks=[_log_callback(out / TRAIN_LOG)],
    )
    start = time.perf_counter()
    with _reward_sandbox(task, config.sandbox_executor):
        output = trainer.train()
    runtime = time.perf_counter() - start
    trainer.save_model(str(out))
    if config.lora is not None:
        finalize_adapter(out, config.model)
    steps = int(trainer.state.global_step)
    if not trainer.is_world_process_zero():
        return TrainResult(checkpoint=out, steps=steps, record={})

    record = {
        "trainer": TRAINER_NAME,
        "method": spec.name,
        "base_model": config.model,
        "base_model_path": base,
        "task": config.task,
        "k": config.k,
        "candidates_per_generation": spec.candidates(config.k),
        "accuracy": config.accuracy,
        "reward_components": list(resolved.names),
        "reward_weights": dict(zip(resolved.names, resolved.weights, strict=True)),
        "rewards": resolved.as_dict(),
        "config": config.model_dump(mode="json"),
        "steps": steps,
        "epochs": trainer.state.epoch,
        "n_questions": len(questions),
        RECORD_KEY: training_record(config.task, questions, config.split),
        "warmup": {"steps": len(warm_log), "runtime_s": round(warmup_runtime, 3),
                   "final_loss": warm_log[-1]["loss"] if warm_log else None} if config.warmup else None,
        "adapter": "peft-lora" if config.lora else None,
        "train_runtime_s": round(runtime, 3),
        "steps_per_second": round(steps / runtime, 4) if runtime > 0 else None,
        "train_loss": getattr(output, "training_loss", None),
        "versions": {name: _version(name) for name in ("mabench", "trl", "transformers", "torch", "accelerate")},
        "trl_version": _version("trl"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (out / RESOLVED_CONFIG).write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    (out / GRPO_CONFIG).write_text(args.to_json_string())
    (out / TRAINING_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return TrainResult(checkpoint=out, steps=steps, record=record, log=list(trainer.state.log_history))
