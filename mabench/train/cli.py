"""The `mabench train` command. Importing this module is cheap: TRL and torch load inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mabench.cli_errors import fail as cli_fail


def train_command(
    out: Annotated[Path, typer.Option(help="checkpoint directory to write (model, tokenizer, log, config)")],
    model: Annotated[str | None, typer.Option(
        help="base model: 'default' (the embedded SmolLM2-135M-Instruct), a model folder or a Hub id")] = None,
    task: Annotated[str | None, typer.Option(help="task to train on (see `mabench tasks`)")] = None,
    method: Annotated[str | None, typer.Option(help="multi-rlcr | multi-rlvr | rlcr | rlvr")] = None,
    k: Annotated[int | None, typer.Option(help="candidates per generation in the multi methods")] = None,
    config: Annotated[Path | None, typer.Option(
        help="training config YAML (configs/train-gpu.yaml: the paper's settings; configs/train-cpu.yaml)")] = None,
    data_path: Annotated[str | None, typer.Option(help="the task's data file in its original format")] = None,
    limit: Annotated[int | None, typer.Option(help="first N training questions")] = None,
    max_steps: Annotated[int | None, typer.Option(help="stop after N optimizer steps")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    reward_profile: Annotated[str | None, typer.Option(
        help="'paper' (the authors' reward functions; the default) or 'mabench' (mabench's own)")] = None,
    prompt: Annotated[str | None, typer.Option(
        help="'paper' or one of the authors' prompt names (see docs/paper-profile.md)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the resolved rewards, weights, prompt and "
                                          "GRPO settings, then stop (loads no model)")] = False,
) -> None:
    """Train a multi-answer (or single-answer) model with GRPO (TRL) on mabench's rewards.

    Options given here override the config file, which overrides the defaults (the paper's settings).
    """
    from pydantic import ValidationError
    from rich.console import Console

    from .config import TrainConfigError, format_validation_error, load_train_config

    console = Console(stderr=True)

    def fail(message: str) -> typer.Exit:
        return cli_fail(message, console)

    import importlib.util

    missing = [name for name in ("trl", "datasets", "yaml", "torch") if importlib.util.find_spec(name) is None]
    if dry_run:
        missing = [name for name in missing if name == "yaml"]
    if missing:
        raise fail(f"mabench train needs {', '.join(missing)}: pip install 'mabench[train]'")

    try:
        base = load_train_config(config)
        resolved = base.with_overrides(
            model=model, task=task, method=method, k=k, data_path=data_path, limit=limit, seed=seed,
            reward_profile=reward_profile, prompt=prompt, grpo={"max_steps": max_steps},
        )
    except TrainConfigError as err:
        raise fail(str(err)) from None
    except ValidationError as err:
        raise fail(format_validation_error(err, "command-line options")) from None

    if dry_run:
        print_dry_run(resolved, out)
        return

    from mabench.backends import UnknownModelError
    from mabench.tasks import DataFormatError, UnknownTaskError, load_task

    try:
        task_object = load_task(resolved.task)
    except UnknownTaskError as err:
        raise fail(str(err)) from None

    from mabench.ray_cluster import RayUnavailable
    from mabench.sandbox import SandboxUnavailable

    from .splits import SplitError
    from .trainer import train
    from .warmup import WarmupError

    console.print(f"training {resolved.model} on {resolved.task} with {resolved.method} (K={resolved.candidates})"
                  f" -> {out}", highlight=False)
    try:
        result = train(resolved, out, task=task_object)
    except (TrainConfigError, DataFormatError, UnknownModelError, SplitError, WarmupError, RayUnavailable,
            SandboxUnavailable) as err:
        raise fail(str(err)) from None
    steps_logged = [entry for entry in result.log if "reward" in entry]
    rewards = {key.split("/")[1]: round(value, 3) for key, value in (steps_logged[-1] if steps_logged else {}).items()
               if key.startswith("rewards/") and key.endswith("/mean")}
    console.print(f"{result.steps} steps; last logged rewards: {rewards or 'n/a'}", highlight=False)
    console.print(f"checkpoint -> {result.checkpoint}\nevaluate it with: mabench run --model {result.checkpoint}",
                  highlight=False)


def dry_run_lines(config: object, out: Path) -> list[str]:
    """What `--dry-run` prints: the resolved rewards with their weights, the prompt, and the GRPO settings."""
    from .config import grpo_kwargs
    from .profiles import resolve_rewards

    resolved = resolve_rewards(config)  # type: ignore[arg-type]
    prompt = resolved.prompt or "(the task's own)"
    lines = [
        f"method {config.method} on {config.task}, K={resolved.num_candidates}, "  # type: ignore[attr-defined]
        f"reward profile {resolved.profile}",
        f"format_pattern: {resolved.format_pattern or '(mabench parser)'}; correctness source: {resolved.source}",
        f"prompt: {prompt}"
        + (f" sha256 {resolved.prompt_sha256}" if resolved.prompt_sha256 else ""),
        "rewards (name: weight):",
        *(f"  {name}: {weight:g}" for name, weight in zip(resolved.names, resolved.weights, strict=True)),
        "grpo:",
    ]
    settings = grpo_kwargs(config, out)  # type: ignore[arg-type]
    lines += [f"  {key}: {settings[key]}" for key in sorted(settings) if key != "output_dir"]
    return lines


def print_dry_run(config: object, out: Path) -> None:
    import typer as _typer

    for line in dry_run_lines(config, out):
        _typer.echo(line)
