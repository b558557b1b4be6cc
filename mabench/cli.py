"""The `mabench` command line."""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from .backends import (
    DEFAULT_MODEL,
    BackendOptions,
    UnknownModelError,
    bundled,
    load_backend,
    model_identity,
    resolve_model,
)
from .cli_errors import fail
from .config import RunConfig
from .lmeval import is_lmeval_task
from .prompts import TaskPrompts
from .store import RunStoreError
from .types import MODES

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Evaluate multi-answer LMs against best-of-k.")


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
    return fail(message, console)


@app.command()
def run(
    model: Annotated[str, typer.Option(
        help="'default', a model directory (vLLM if installed, else transformers), a Hub id, hf:<path>, "
             "vllm:<path>, openai:<served name> (with --base-url), or replay:<run dir or .jsonl>")] = "default",
    bok_model: Annotated[str | None, typer.Option(
        help="a second model, in the forms --model takes, that generates bok mode (a single-answer checkpoint "
             "paired with the multi-answer --model); default: --model generates both modes")] = None,
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
    prompt: Annotated[str | None, typer.Option(help="replace the tasks' own prompts: 'paper' (the authors' prompt "
                                                    "for each task and mode) or one of their prompt names")] = None,
    eval_profile: Annotated[str, typer.Option(help="'paper' also writes the authors' evaluation metrics (paper_*) "
                                                   "to metrics.json; see docs/paper-profile.md")] = "mabench",
    out: Annotated[Path, typer.Option(help="directory that holds run directories")] = Path("runs"),
    sandbox: Annotated[str, typer.Option(help="isolation for code tasks: auto (bubblewrap, else unshare; "
                                              "never anything weaker), bwrap, unshare, docker, or subprocess "
                                              "(NO isolation: only if you mean it)")] = "auto",
    sandbox_executor: Annotated[str, typer.Option(help="where code tasks run programs: local (this machine's "
                                                       "sandbox pool) or ray (the same sandbox on every node of "
                                                       "a Ray cluster: --ray-address, else $RAY_ADDRESS, else "
                                                       "a local Ray; needs mabench[ray])")] = "local",
    exclude_train_overlap: Annotated[bool, typer.Option(
        "--exclude-train-overlap", help="drop the questions the checkpoint of either mode was trained on (listed "
        "in its mabench_train.json by `mabench train`) before the run")] = False,
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
    data_parallel_size: Annotated[int, typer.Option(help="vllm: model replicas; more than one run on a Ray "
                                                    "cluster (needs mabench[ray])", rich_help_panel="Backend")] = 1,
    ray_address: Annotated[str | None, typer.Option(help="the Ray cluster for --data-parallel-size and "
                                                         "--sandbox-executor ray: HOST:PORT, ray://HOST:PORT or "
                                                         "auto (default: $RAY_ADDRESS, else a local Ray)",
                                                    rich_help_panel="Backend")] = None,
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
    from mabench.tasks import DataFormatError, UnknownTaskError, load_task, synthetic_tasks

    from .backends.vllm_ray import ray_missing
    from .contamination import ContaminationError
    from .identity import earlier_run
    from .ray_cluster import RayUnavailable, require_ray
    from .runner import plan_run
    from .runner import run as run_tasks
    from .sandbox import SandboxUnavailable
    from .summary import backend_line, summary_table, train_overlap_line

    console = Console(stderr=True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    modes = _split(mode)
    bad_modes = [m for m in modes if m not in MODES]
    if bad_modes:
        raise _fail(console, f"unknown mode {bad_modes[0]!r}; valid modes: {', '.join(MODES)}")
    if model == DEFAULT_MODEL and bok_model is None and bundled.available():
        # The default run is the paper's comparison in miniature: the bundled Multi-RLCR checkpoint generates multi
        # mode, the bundled single-answer RLCR checkpoint is sampled k times for bok.
        model, bok_model = bundled.default_pair(modes)
    try:
        config = RunConfig(model=model, bok_model=bok_model, exclude_train_overlap=exclude_train_overlap,
                           tasks=_split(tasks), modes=modes, k=k, limit=limit, seed=seed,
                           shuffle=shuffle, data_path=_data_paths(data_path or [], _split(tasks)),
                           temperature=temperature, max_new_tokens=max_new_tokens, batch_size=batch_size,
                           prompt=prompt, eval_profile=eval_profile, sandbox=sandbox,
                           sandbox_executor=sandbox_executor)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise _fail(console, f"invalid run config: {problems}") from None
    if config.sandbox_executor == "ray":  # before any model loads: a missing Ray is one line, not a late traceback
        try:
            require_ray()
        except RayUnavailable as err:
            raise _fail(console, f"--sandbox-executor ray: {err}") from None
    if config.eval_profile == "paper" and importlib.util.find_spec("math_verify") is None:
        raise _fail(console, "--eval-profile paper decides correctness with math-verify as the authors do: "
                             "pip install math-verify (or 'mabench[train]')")
    try:
        task_objects = {name: load_task(name) for name in config.tasks if not is_lmeval_task(name)}
        resolve_model(config.model)
        if config.bok_model is not None:
            try:
                resolve_model(config.bok_model)
            except UnknownModelError as err:
                raise UnknownModelError(f"--bok-model: {err}") from None
        if len(task_objects) < len(config.tasks):  # lm-eval:NAME tasks: lm-eval installed, task known, a model
            from .lmeval.bridge import check_run

            check_run([n for n in config.tasks if is_lmeval_task(n)], config.model, config.data_path)
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
            data_parallel_size=data_parallel_size, ray_address=ray_address,
            gpu_memory_utilization=gpu_memory_utilization,
            max_model_len=max_model_len, enforce_eager=enforce_eager, engine_args=_engine_args(engine_arg or []),
            cache=not no_cache, cache_path=cache,
        )
    except ValidationError as err:
        problems = "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in err.errors())
        raise _fail(console, f"invalid backend options: {problems}") from None
    if any(resolve_model(m)[0] == "vllm" for m in (config.model, config.bok_model) if m):
        ray_fix = ray_missing(options)  # replicas run on Ray: say so before anything loads
        if ray_fix:
            raise _fail(console, ray_fix)
    if resume and fresh:
        raise _fail(console, "--resume continues a run and --fresh discards it; give one of them")
    try:  # the run identity: the model's (without loading it) and the selected questions' (runner.plan_run)
        plan = plan_run(config, functools.partial(model_identity, config.model, options), task_objects,
                        identify_bok=functools.partial(model_identity, str(config.bok_model), options))
    except (UnknownModelError, DataFormatError, ContaminationError) as err:
        raise _fail(console, str(err)) from None
    options = options.with_run_dir(plan.run_dir(out))
    if resume and _no_run_in(plan.run_dir(out)) and earlier_run(out, plan.identity) is None:
        raise _fail(console, f"--resume: no run to resume in {plan.run_dir(out)} for this configuration; "
                             "drop --resume to start it")
    try:
        identities = plan.identities  # each model's backend caches its responses under its own identity
        prompts = TaskPrompts()  # replay looks recorded generations up by the prompts of the tasks' questions
        result = run_tasks(config, out, lambda name: load_backend(name, options=options, identity=identities.get(name),
                                                                  prompts=prompts),
                           fresh=fresh, console=console, plan=plan, options=options)
    except UnknownModelError as err:
        raise _fail(console, str(err)) from None
    except (RunStoreError, DataFormatError, SandboxUnavailable, RayUnavailable) as err:
        raise _fail(console, str(err)) from None
    models = config.model if config.bok_model is None else f"multi: {config.model}, bok: {config.bok_model}"
    Console().print(summary_table(result.metrics, title=f"mabench run {result.run_dir.name}  ({models})",
                                  comparison=result.comparison,
                                  synthetic=synthetic_tasks(task_objects, config.data_path)))
    console.print(backend_line(result.errors, result.backend_stats, result.exited_early),
                  style="yellow" if result.errors or result.exited_early else None, highlight=False)
    overlap = train_overlap_line(plan.overlap, config.exclude_train_overlap)
    if overlap:
        console.print(overlap, style="yellow", highlight=False)
    verb = "generated" if result.generated else "nothing to generate; reused"
    console.print(f"{verb} {result.generated or 'all'} records -> {result.run_dir}", highlight=False)


@app.command("tasks")
def list_tasks() -> None:
    """List the installed tasks: modes, bundled data (real or synthetic), sources and --data-path forms."""
    import shutil

    from mabench.tasks import available_tasks
    from mabench.tasks.listing import task_listing

    tasks = [(name, entry.load()()) for name, entry in sorted(available_tasks().items())]
    typer.echo(task_listing(tasks, shutil.get_terminal_size(fallback=(80, 24)).columns))


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

# `mabench lm-eval-path`: mabench's tasks as lm-eval task YAMLs, for `lm_eval --include_path`.
from .lmeval.cli import lm_eval_path  # noqa: E402

app.command("lm-eval-path")(lm_eval_path)
