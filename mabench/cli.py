"""The `mabench` command line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from .backends import UnknownModelError, load_backend, resolve_model
from .config import RunConfig
from .store import RunStoreError
from .types import MODES

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Evaluate multi-answer LMs against best-of-k.")
USAGE_ERROR = 2


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _data_paths(values: list[str], tasks: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep:
            if len(tasks) != 1:
                raise typer.BadParameter(f"{value!r}: with several tasks, write TASK=PATH", param_hint="--data-path")
            name, path = tasks[0], value
        out[name] = path
    return out


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(USAGE_ERROR)


@app.command()
def run(
    model: Annotated[str, typer.Option(help="'default', a model directory, a Hub id, or hf:<path>")] = "default",
    tasks: Annotated[str, typer.Option(help="comma-separated task names (see `mabench tasks`)")] = "ambigqa",
    mode: Annotated[str, typer.Option(help="comma-separated modes: multi, bok")] = "multi,bok",
    k: Annotated[int, typer.Option(help="K candidates in multi mode; k samples in bok mode")] = 3,
    limit: Annotated[int | None, typer.Option(help="first N questions of each task")] = None,
    shuffle: Annotated[bool, typer.Option("--shuffle", help="shuffle questions with --seed before --limit")] = False,
    data_path: Annotated[list[str] | None, typer.Option(
        help="a task's data file in its original format: PATH (one task) or TASK=PATH; repeatable")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    temperature: Annotated[float, typer.Option()] = 0.7,
    max_new_tokens: Annotated[int, typer.Option()] = 256,
    batch_size: Annotated[int, typer.Option(help="questions per backend call")] = 8,
    out: Annotated[Path, typer.Option(help="directory that holds run directories")] = Path("runs"),
    fresh: Annotated[bool, typer.Option("--fresh", help="discard this run's earlier results")] = False,
) -> None:
    """Run tasks in multi-answer and best-of-k modes and print them side by side."""
    from mabench.tasks import DataFormatError, UnknownTaskError, load_task

    from .runner import run as run_tasks
    from .summary import summary_table

    console = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    modes = _split(mode)
    bad_modes = [m for m in modes if m not in MODES]
    if bad_modes:
        raise _fail(console, f"unknown mode {bad_modes[0]!r}; valid modes: {', '.join(MODES)}")
    try:
        config = RunConfig(model=model, tasks=_split(tasks), modes=modes, k=k, limit=limit, seed=seed,
                           shuffle=shuffle, data_path=_data_paths(data_path or [], _split(tasks)),
                           temperature=temperature, max_new_tokens=max_new_tokens, batch_size=batch_size)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise _fail(console, f"invalid run config: {problems}") from None
    try:
        task_objects = {name: load_task(name) for name in config.tasks}
        resolve_model(config.model)
    except UnknownTaskError as err:
        raise _fail(console, str(err)) from None
    except UnknownModelError as err:
        raise _fail(console, str(err)) from None
    for name, task in task_objects.items():
        unsupported = [m for m in config.modes if m not in task.spec.modes]
        if unsupported:
            raise _fail(console, f"task {name!r} does not support mode {unsupported[0]!r}; "
                                 f"valid modes: {', '.join(task.spec.modes)}")
    try:
        result = run_tasks(config, out, load_backend, fresh=fresh, console=console, tasks=task_objects)
    except UnknownModelError as err:
        raise _fail(console, str(err)) from None
    except (RunStoreError, DataFormatError) as err:
        raise _fail(console, str(err)) from None
    Console().print(summary_table(result.metrics, title=f"mabench run {result.run_dir.name}  ({config.model})"))
    verb = "generated" if result.generated else "nothing to generate; reused"
    console.print(f"{verb} {result.generated or 'all'} records -> {result.run_dir}", highlight=False)


@app.command("tasks")
def list_tasks() -> None:
    """List the installed tasks."""
    from mabench.tasks import available_tasks

    table = Table(title="mabench tasks")
    for column in ("name", "source", "size", "modes", "description"):
        table.add_column(column)
    for name, entry in sorted(available_tasks().items()):
        task = entry.load()()
        table.add_row(name, task.spec.source, str(len(task.load())), ",".join(task.spec.modes),
                      task.spec.description)
    Console().print(table)


def main() -> None:  # pragma: no cover - console-script shim
    app()
