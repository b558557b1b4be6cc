"""The `mabench` command line."""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from .backends import BackendOptions, UnknownModelError, load_backend, resolve_model
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


def _engine_args(values: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{value!r}: expected KEY=VALUE, e.g. dtype=float16", param_hint="--engine-arg")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _no_run_in(run_dir: Path) -> bool:
    return not (run_dir / "manifest.json").is_file()


def _fail(console: Console, message: str) -> typer.Exit:
    console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(USAGE_ERROR)


@app.command()
def run(
    model: Annotated[str, typer.Option(
        help="'default', a model directory (vLLM if installed, else transformers), a Hub id, hf:<path>, "
             "vllm:<path>, openai:<served name> (with --base-url), or replay:<run dir or .jsonl>")] = "default",
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
    resume: Annotated[bool, typer.Option("--resume", help="continue an existing run and retry its failed "
                                         "questions; error if there is no such run (a plain rerun resumes too)")
                      ] = False,
    base_url: Annotated[str | None, typer.Option(help="openai: the server's API root, e.g. "
                                                      "http://localhost:8000/v1", rich_help_panel="Backend")] = None,
    api_key_env: Annotated[str, typer.Option(help="openai: environment variable holding the API key",
                                             rich_help_panel="Backend")] = "OPENAI_API_KEY",
    concurrency: Annotated[int, typer.Option(help="openai: HTTP requests in flight at once",
                                             rich_help_panel="Backend")] = 32,
    request_timeout: Annotated[float, typer.Option(help="openai: seconds before one request is abandoned",
                                                   rich_help_panel="Backend")] = 120.0,
    max_retries: Annotated[int, typer.Option(help="openai: retries per request (429, 5xx, timeouts, dropped "
                                                  "connections, malformed replies)", rich_help_panel="Backend")] = 6,
    tokenizer: Annotated[str | None, typer.Option(help="openai: tokenizer folder that counts tokens when the "
                                                       "server reports no usage", rich_help_panel="Backend")] = None,
    tensor_parallel_size: Annotated[int, typer.Option(help="vllm: GPUs per model replica",
                                                      rich_help_panel="Backend")] = 1,
    data_parallel_size: Annotated[int, typer.Option(help="vllm: model replicas", rich_help_panel="Backend")] = 1,
    gpu_memory_utilization: Annotated[float, typer.Option(help="vllm: fraction of GPU memory to use",
                                                          rich_help_panel="Backend")] = 0.9,
    max_model_len: Annotated[int | None, typer.Option(help="vllm: context length to reserve KV cache for",
                                                      rich_help_panel="Backend")] = None,
    enforce_eager: Annotated[bool, typer.Option("--enforce-eager", help="vllm: no CUDA graphs / compilation",
                                                rich_help_panel="Backend")] = False,
    engine_arg: Annotated[list[str] | None, typer.Option(help="vllm: a further vllm.LLM argument, KEY=VALUE "
                                                         "(VALUE read as JSON if it parses); repeatable",
                                                         rich_help_panel="Backend")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="response cache file shared across runs "
                                               "(default: cache.sqlite in the run directory)",
                                               rich_help_panel="Backend")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="neither read nor write the response cache",
                                           rich_help_panel="Backend")] = False,
) -> None:
    """Run tasks in multi-answer and best-of-k modes and print them side by side."""
    from mabench.tasks import DataFormatError, UnknownTaskError, load_task

    from .runner import run as run_tasks
    from .summary import backend_line, summary_table

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
        options = BackendOptions(
            base_url=base_url, api_key_env=api_key_env, concurrency=concurrency, request_timeout=request_timeout,
            max_retries=max_retries, tokenizer=tokenizer, tensor_parallel_size=tensor_parallel_size,
            data_parallel_size=data_parallel_size, gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len, enforce_eager=enforce_eager, engine_args=_engine_args(engine_arg or []),
            cache=not no_cache, cache_path=cache,
        ).with_run_dir(config.run_dir(out))
    except ValidationError as err:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in err.errors())
        raise _fail(console, f"invalid backend options: {problems}") from None
    if resume and fresh:
        raise _fail(console, "--resume continues a run and --fresh discards it; give one of them")
    if resume and _no_run_in(config.run_dir(out)):
        raise _fail(console, f"--resume: no run to resume in {config.run_dir(out)} for this configuration; "
                             "drop --resume to start it")
    try:
        result = run_tasks(config, out, functools.partial(load_backend, options=options), fresh=fresh,
                           console=console, tasks=task_objects)
    except UnknownModelError as err:
        raise _fail(console, str(err)) from None
    except (RunStoreError, DataFormatError) as err:
        raise _fail(console, str(err)) from None
    Console().print(summary_table(result.metrics, title=f"mabench run {result.run_dir.name}  ({config.model})",
                                  comparison=result.comparison))
    console.print(backend_line(result.errors, result.backend_stats), style="yellow" if result.errors else None,
                  highlight=False)
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


# `mabench train`: importing its module is cheap; TRL and torch load inside the command.
from .train.cli import train_command  # noqa: E402

app.command("train")(train_command)

# `mabench leaderboard | compare | check | report`: light to import; the work loads inside each command.
from mabench.leaderboards.cli import register as _register_leaderboards  # noqa: E402

_register_leaderboards(app)

# `mabench sandbox check`: which isolation runs model-written code on this machine, and why.
from mabench.sandbox.cli import app as _sandbox_app  # noqa: E402

app.add_typer(_sandbox_app, name="sandbox", help="Isolation for model-written code.")
