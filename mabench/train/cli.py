"""The `mabench train` command. Importing this module is cheap: TRL and torch load inside the command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

USAGE_ERROR = 2


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
) -> None:
    """Train a multi-answer (or single-answer) model with GRPO (TRL) on mabench's rewards.

    Options given here override the config file, which overrides the defaults (the paper's settings).
    """
    from pydantic import ValidationError
    from rich.console import Console

    from .config import TrainConfigError, format_validation_error, load_train_config

    console = Console(stderr=True)

    def fail(message: str) -> typer.Exit:
        console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
        return typer.Exit(USAGE_ERROR)

    import importlib.util

    missing = [name for name in ("trl", "datasets", "yaml", "torch") if importlib.util.find_spec(name) is None]
    if missing:
        raise fail(f"mabench train needs {', '.join(missing)}: pip install 'mabench[train]'")

    try:
        base = load_train_config(config)
        resolved = base.with_overrides(
            model=model, task=task, method=method, k=k, data_path=data_path, limit=limit, seed=seed,
            grpo={"max_steps": max_steps},
        )
    except TrainConfigError as err:
        raise fail(str(err)) from None
    except ValidationError as err:
        raise fail(format_validation_error(err, "command-line options")) from None

    from mabench.backends import UnknownModelError
    from mabench.tasks import DataFormatError, UnknownTaskError, load_task

    try:
        task_object = load_task(resolved.task)
    except UnknownTaskError as err:
        raise fail(str(err)) from None

    from .trainer import train

    console.print(f"training {resolved.model} on {resolved.task} with {resolved.method} (K={resolved.candidates})"
                  f" -> {out}", highlight=False)
    try:
        result = train(resolved, out, task=task_object)
    except (TrainConfigError, DataFormatError, UnknownModelError) as err:
        raise fail(str(err)) from None
    steps_logged = [entry for entry in result.log if "reward" in entry]
    rewards = {key.split("/")[1]: round(value, 3) for key, value in (steps_logged[-1] if steps_logged else {}).items()
               if key.startswith("rewards/") and key.endswith("/mean")}
    console.print(f"{result.steps} steps; last logged rewards: {rewards or 'n/a'}", highlight=False)
    console.print(f"checkpoint -> {result.checkpoint}\nevaluate it with: mabench run --model {result.checkpoint}",
                  highlight=False)
