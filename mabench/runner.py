"""Run tasks x modes through a backend and append one record per question x mode.

Questions are cut into fixed batches of `batch_size`; each batch has its own seed, derived from the run
seed, task, mode and batch index. A resumed run regenerates only unfinished batches and appends only the
records still missing, so it ends with exactly the records an uninterrupted run writes.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .backends.base import Backend, GenerationRequest, backend_stats, opened
from .backends.identity import ModelIdentity, model_identity
from .backends.options import BackendOptions
from .config import RunConfig
from .contamination import Overlap, drop_overlap, find_overlap, manifest_entry
from .identity import RunIdentity, earlier_run, run_identity
from .judging import judge_batch, share_sandbox
from .lmeval import is_lmeval_task
from .manifest import build_manifest, invocation
from .metrics.run_metrics import compare_modes, run_metrics
from .paper_metrics import add_paper_metrics
from .prompts import prompt_record, task_messages
from .store import RunStore, RunStoreError
from .types import ExecutionEvidence, Mode, Question, SampleRecord

BackendFactory = Callable[[str], Backend]


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    generated: int  # records written by this invocation
    comparison: dict[str, Any] = field(default_factory=dict)  # multi vs bok per task (comparison.json)
    timings: dict[str, float] = field(default_factory=dict)
    errors: int = 0  # questions x modes whose latest record failed; the same command (or --resume) retries them
    exited_early: int = 0  # programs that ended before their tests did (code tasks): never a pass, shown apart
    backend_stats: dict[str, Any] = field(default_factory=dict)  # cache hits, retries, usage sources, ...


def batch_seed(seed: int, task: str, mode: Mode, batch_index: int) -> int:
    return int(hashlib.sha256(f"{seed}/{task}/{mode}/{batch_index}".encode()).hexdigest()[:8], 16)


@dataclass(frozen=True)
class RunPlan:
    """The questions a run asks, of which model(s), and the run identity (hence run directory) they give.
    `overlap`: per task and mode, the selected questions the mode's model was trained on (`contamination`)."""

    identity: RunIdentity
    model: ModelIdentity
    tasks: dict[str, Any]
    questions: dict[str, list[Question]]
    bok_model: ModelIdentity | None = None  # a paired run's bok model (--bok-model)
    overlap: Overlap = field(default_factory=dict)

    def run_dir(self, out: Path) -> Path:
        return Path(out) / self.identity.run_id

    @property
    def identities(self) -> dict[str, ModelIdentity]:
        """Each --model value of the run and its identity, which keys its backend's response cache."""
        return {found.model: found for found in (self.model, self.bok_model) if found is not None}


def plan_run(config: RunConfig, identify: Callable[[], ModelIdentity], tasks: dict[str, Any] | None = None, *,
             identify_bok: Callable[[], ModelIdentity] | None = None) -> RunPlan:
    """Load and select the questions (DataFormatError on bad data), find the model's identity with `identify`
    (e.g. `lambda: model_identity(model, options)`) and, in a paired run, the bok model's with `identify_bok`,
    count the questions each was trained on (dropping them with --exclude-train-overlap: ContaminationError
    when that cannot be done), and compute the run identity."""
    from mabench.tasks import load_task

    tasks = tasks or {name: load_task(name) for name in config.tasks if not is_lmeval_task(name)}
    questions = {name: select_questions(t, config, name) for name, t in tasks.items()}
    model = identify()
    bok = None
    if config.bok_model is not None:
        bok = (identify_bok or (lambda: model_identity(str(config.bok_model))))()
    overlap = find_overlap(config, questions)
    if config.exclude_train_overlap:
        questions = drop_overlap(config, questions, overlap)
    return RunPlan(run_identity(config, model, questions, bok), model, tasks, questions, bok, overlap)


def run(config: RunConfig, out: Path, backend_factory: BackendFactory, *, fresh: bool = False,
        console: Console | None = None, tasks: dict[str, Any] | None = None, plan: RunPlan | None = None,
        options: BackendOptions | None = None) -> RunResult:
    """Run `config` in its run directory under `out`, holding the directory's lock from before the records
    are read until the manifest is closed: a second process on it gets a RunStoreError naming the holder
    instead of generating the same records again, and --fresh never deletes a run another process holds.
    `plan` (from `plan_run`) is computed here with default backend options when not given. `options` tell
    lm-eval how to load the model for `lm-eval:NAME` tasks (mabench.lmeval.bridge)."""
    plan = plan or plan_run(config, lambda: model_identity(config.model), tasks)
    if not fresh:
        _refuse_changed_command(plan.run_dir(out), plan.identity, Path(out))
    with RunStore(plan.run_dir(out), invocation()) as store, contextlib.ExitStack() as backends:
        if fresh:
            store.reset()
        else:
            store.repair()  # the one place a half-written last line is cut off
        return _run_locked(store, config, backend_factory, console=console, plan=plan, options=options,
                           backends=backends)


def _refuse_changed_command(run_dir: Path, identity: RunIdentity, out: Path) -> None:
    """The same command started a run under `out` whose model or data were different: repeating the command
    would silently start another run where the user expects the old one resumed. Say what changed. Checked
    before the run directory is created, so that a refusal leaves nothing behind."""
    if (run_dir / "manifest.json").exists():
        return
    earlier = earlier_run(out, identity)
    if earlier is not None:
        path, changes = earlier
        raise RunStoreError(
            f"{path} holds a run of this command, but since it started {'; '.join(changes)}. Resuming it would "
            f"mix results; rerun with --fresh to start a new run in {run_dir} ({path} is kept)")


def _run_locked(store: RunStore, config: RunConfig, backend_factory: BackendFactory, *,
                console: Console | None, plan: RunPlan, options: BackendOptions | None = None,
                backends: contextlib.ExitStack | None = None) -> RunResult:
    """`backends`: the scope each backend is opened in, so that it is closed (engine, response cache) before
    the next one loads and when the run ends, however it ends."""
    console = console or Console(stderr=True)
    backends = backends or contextlib.ExitStack()
    timings: dict[str, float] = {"load": 0.0, "generate": 0.0, "judge": 0.0, "metrics": 0.0}
    tasks, questions = plan.tasks, plan.questions
    # A question may be logged twice: a failed attempt, then its retry. The last line wins.
    latest = {(r.task, r.mode, r.question_id): r for r in store.records()}
    done = {key for key, r in latest.items() if r.error is None}
    todo = [
        (name, mode, b, batch)
        for name in tasks  # mabench's tasks; lm-eval's run below, through lm-eval
        for mode in config.modes
        for b, batch in enumerate(_chunks(questions[name], config.batch_size))
        if any((name, mode, q.id) not in done for q in batch)
    ]
    manifest = store.read_manifest()
    generated = 0
    stats: dict[str, Any] = {}
    if todo or manifest is None:
        # Each model generates its own modes, loaded one after the other and released in between (a paired run
        # never holds two models in memory); a model with nothing left to generate is not loaded.
        pending = [m for m in config.models if any(config.model_for(mode) == m for _, mode, *_ in todo)]
        pending = pending or config.models[:1]
        start = time.perf_counter()
        backend = backends.enter_context(opened(backend_factory(pending[0])))
        timings["load"] = time.perf_counter() - start
        previous, manifest = manifest, build_manifest(config, backend, status="running", identity=plan.identity)
        manifest["train_overlap"] = manifest_entry(plan.overlap, config.exclude_train_overlap)
        _note_backend(manifest, config, pending[0], backend, previous)
        manifest["prompt"] = prompt_record(config.prompt, list(tasks), config.modes)  # name and sha256
        if previous:  # a resumed run keeps the time it was first started
            manifest["created"] = previous.get("created", manifest["created"])
        changes = plan.identity.changes(previous.get("identity") or {}) if previous and latest else []
        if changes:
            raise RunStoreError(f"{store.dir}: since this run started {'; '.join(changes)}; resuming would mix "
                                "results, rerun with --fresh to start over")
        with contextlib.ExitStack() as stack, _progress(console) as progress:
            isolation = share_sandbox(tasks.values(), stack, config.sandbox, config.sandbox_executor,
                                       options.ray_address if options is not None else None)
            if isolation is not None:
                manifest["sandbox"] = isolation
            store.write_manifest(manifest)
            bars = {
                (name, mode): progress.add_task(
                    f"{name} / {mode}", total=len(questions[name]),
                    completed=sum((name, mode, q.id) in done for q in questions[name]),
                    start=False,  # each bar's clock runs only while its own batches are generated
                )
                for name in tasks for mode in config.modes
            }
            # Batch-invariant backends (per-request seeds: HF, vLLM, OpenAI) take many batches per call; the
            # requests and their seeds are the same as batch by batch, so the records are too.
            for index, model_name in enumerate(pending):
                if index:
                    stats = _merge_stats(stats, backend_stats(backend))
                    backends.close()  # closed and released before the next model loads
                    gc.collect()
                    start = time.perf_counter()
                    backend = backends.enter_context(opened(backend_factory(model_name)))
                    timings["load"] += time.perf_counter() - start
                    _note_backend(manifest, config, model_name, backend, previous)
                    store.write_manifest(manifest)
                mine = [item for item in todo if config.model_for(item[1]) == model_name]
                for group in _group(mine, getattr(backend, "preferred_batch_size", None)):
                    generated += _generate(store, config, backend, group, plan, (latest, done), (progress, bars),
                                           timings)
    stats = _merge_stats(stats, backend_stats(backend)) if todo else manifest.get("backend_stats", {})
    backends.close()  # the backend is closed before lm-eval loads the model for its own tasks
    lmeval_metrics = _lmeval_tasks(config, store.dir, options, timings)
    start = time.perf_counter()
    wanted = {(name, mode, q.id) for name in tasks for mode in config.modes for q in questions[name]}
    final = [r for key, r in latest.items() if key in wanted]
    metrics = run_metrics(final, task_metrics={name: task.spec.metrics for name, task in tasks.items()})
    if config.eval_profile == "paper":  # the authors' evaluation beside mabench's own, as paper_* entries
        add_paper_metrics(metrics, final)
    metrics.update(lmeval_metrics)  # lm-eval tasks: lm-eval's own metrics, under the mode "lm-eval"
    comparison = compare_modes(final, metrics)
    timings["metrics"] = time.perf_counter() - start
    errors = sum(1 for key, r in latest.items() if key in wanted and r.error is not None)
    exited_early = sum(e.status == "exited_early" for key, r in latest.items() if key in wanted
                       and isinstance(r.evidence, ExecutionEvidence) for e in r.evidence.executions)
    store.write_metrics(metrics)
    store.write_comparison(comparison)
    store.write_manifest({**manifest, "status": "complete", "errors": errors, "backend_stats": stats,
                          "timings_s": timings if generated else manifest.get("timings_s", timings)})
    return RunResult(run_dir=store.dir, metrics=metrics, comparison=comparison, generated=generated, timings=timings,
                     errors=errors, exited_early=exited_early,
                     backend_stats=stats)


Batch = tuple[str, Mode, int, Sequence[Question]]  # task, mode, batch index, questions


def _generate(store: RunStore, config: RunConfig, backend: Backend, group: list[Batch], plan: RunPlan,
              state: tuple[dict[tuple[str, str, str], SampleRecord], set[tuple[str, str, str]]],
              shown: tuple[Progress, dict[tuple[str, Mode], Any]], timings: dict[str, float]) -> int:
    """Generate, judge and append one group of batches; `state` (latest records, done keys) and the progress
    bars are updated in place. Returns the number of records written."""
    tasks, (latest, done), (progress, bars) = plan.tasks, state, shown
    generated = 0
    calls = [(name, mode, batch, [
        GenerationRequest(messages=task_messages(tasks[name], name, q, mode, config.k, config.prompt),
                          n=1 if mode == "multi" else config.k,
                          seed=batch_seed(config.seed, name, mode, b) + i)
        for i, q in enumerate(batch)
    ]) for name, mode, b, batch in group]
    for name, mode, *_ in calls:
        progress.start_task(bars[(name, mode)])
    start = time.perf_counter()
    outputs = backend.generate([r for *_, requests in calls for r in requests], config.sampling)
    timings["generate"] += time.perf_counter() - start
    if len(outputs) != sum(len(requests) for *_, requests in calls):
        raise RuntimeError(f"backend {backend.name} returned {len(outputs)} results for "
                           f"{sum(len(requests) for *_, requests in calls)} requests")
    for name, mode, batch, requests in calls:
        batch_outputs, outputs = outputs[: len(requests)], outputs[len(requests):]
        start = time.perf_counter()
        new = judge_batch(tasks[name], mode, config, [(q, gens) for q, gens in zip(batch, batch_outputs, strict=True)
                                                       if (name, mode, q.id) not in done])
        timings["judge"] += time.perf_counter() - start
        store.append(new)
        latest.update(((name, mode, r.question_id), r) for r in new)
        done.update((name, mode, r.question_id) for r in new if r.error is None)
        generated += len(new)
        progress.update(bars[(name, mode)], advance=len(new))
        if all(t.finished for t in progress.tasks if t.id == bars[(name, mode)]):
            progress.stop_task(bars[(name, mode)])
    return generated


def _note_backend(manifest: dict[str, Any], config: RunConfig, model: str, backend: Backend,
                  previous: dict[str, Any] | None) -> None:
    """Record the loaded backend of `model` for the modes it generates (`mode_models`: chat template hash,
    backend name); the top-level `backend` and `chat_template_hash` describe --model's. A resumed paired run
    that loads only one model keeps what the earlier invocation recorded for the other."""
    earlier = (previous or {}).get("mode_models") or {}
    for mode, entry in manifest.get("mode_models", {}).items():
        if config.model_for(mode) == model:
            entry.update(backend=backend.name, chat_template_hash=backend.chat_template_hash)
        elif isinstance(earlier.get(mode), dict) and "chat_template_hash" not in entry:
            entry.update({k: earlier[mode][k] for k in ("backend", "chat_template_hash") if k in earlier[mode]})
    if model != config.model and previous:
        manifest.update({k: previous[k] for k in ("backend", "chat_template_hash") if k in previous})


def _merge_stats(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two backends' statistics (cache hits, requests, usage sources) as one: counts add up, rates are redone."""
    out = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_stats(out[key], value)
        elif isinstance(value, int) and not isinstance(value, bool) and isinstance(out.get(key), int):
            out[key] = out[key] + value
        else:
            out[key] = value
    if out.get("lookups"):
        out["hit_rate"] = out.get("hits", 0) / out["lookups"]
    return out

def _lmeval_tasks(config: RunConfig, run_dir: Path, options: BackendOptions | None, timings: dict[str, float]
                  ) -> dict[str, Any]:
    """metrics.json entries of the run's `lm-eval:NAME` tasks, evaluated by lm-eval (or read back from the run
    directory when an earlier invocation evaluated them)."""
    names = [name for name in config.tasks if is_lmeval_task(name)]
    if not names:
        return {}
    from .lmeval.bridge import run_lmeval_tasks

    start = time.perf_counter()
    metrics = run_lmeval_tasks(names, config, run_dir, options)
    timings["lm_eval"] = time.perf_counter() - start
    return metrics


def select_questions(task: Any, config: RunConfig, name: str) -> list[Question]:
    """The task's questions from --data-path (else its bundled sample), shuffled by seed if asked, then limited."""
    path = config.data_path.get(name)
    questions = list(task.load(Path(path) if path else None))
    if config.shuffle:
        random.Random(config.seed).shuffle(questions)
    return questions[: config.limit]


def _group(todo: list[tuple[str, Mode, int, Sequence[Question]]], size: int | None
           ) -> list[list[tuple[str, Mode, int, Sequence[Question]]]]:
    """Consecutive batches, joined while they hold at most `size` questions (one batch per group if None)."""
    groups: list[list[tuple[str, Mode, int, Sequence[Question]]]] = []
    for item in todo:
        if groups and size and sum(len(batch) for *_, batch in groups[-1]) + len(item[3]) <= size:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _chunks(items: Sequence[Question], size: int) -> list[Sequence[Question]]:
    return [items[i: i + size] for i in range(0, len(items), size)]


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("time"), TimeElapsedColumn(),
        console=console, transient=False,
    )
