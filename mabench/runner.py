"""Run tasks x modes through a backend and append one record per question x mode.

Questions are cut into fixed batches of `batch_size`; each batch has its own seed, derived from the run
seed, task, mode and batch index. A resumed run regenerates only unfinished batches and appends only the
records still missing, so it ends with exactly the records an uninterrupted run writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .backends.base import Backend, GenerationRequest, backend_stats
from .config import RunConfig
from .manifest import build_manifest
from .metrics_table import aggregate, compare_modes
from .store import RunStore, RunStoreError
from .types import Generation, Mode, Question, SampleRecord, Usage

BackendFactory = Callable[[str], Backend]


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    generated: int  # records written by this invocation
    comparison: dict[str, Any] = field(default_factory=dict)  # multi vs bok per task (metrics_table)
    timings: dict[str, float] = field(default_factory=dict)
    errors: int = 0  # questions x modes whose latest record failed; the same command (or --resume) retries them
    backend_stats: dict[str, Any] = field(default_factory=dict)  # cache hits, retries, usage sources, ...


def batch_seed(seed: int, task: str, mode: Mode, batch_index: int) -> int:
    return int(hashlib.sha256(f"{seed}/{task}/{mode}/{batch_index}".encode()).hexdigest()[:8], 16)


def build_record(task: Any, question: Question, mode: Mode, k: int, generations: list[Generation]) -> SampleRecord:
    """Parse and judge one question's generations. In bok, each sample's single answer is one candidate,
    in sample order, duplicates kept; the set's flags summarise the samples."""
    if mode == "multi":
        answer_set = task.parse(generations[0].text, mode, k)
    else:
        parsed = [task.parse(g.text, mode, k) for g in generations]
        candidates = [
            p.candidates[0].model_copy(update={"rank": i}) for i, p in enumerate(parsed, start=1) if p.candidates
        ]
        keys = [c.text.strip().lower() for c in candidates]
        answer_set = parsed[0].model_copy(update={
            "candidates": candidates,
            "format_ok": all(p.format_ok for p in parsed),
            "missing_confidence": any(p.missing_confidence for p in parsed),
            "confidence_out_of_range": any(p.confidence_out_of_range for p in parsed),
            "confidence_percent_scale": any(p.confidence_percent_scale for p in parsed),
            "sum_exceeds_one": False,  # independent samples: their confidences need not sum to 1
            "duplicate_answers": len(set(keys)) < len(keys),
        })
    errors = [g.error or "generation failed" for g in generations if g.finish_reason == "error"]
    judgements, extra = task.judge(question, answer_set)
    usage = Usage(
        prompt_tokens=generations[0].prompt_tokens if generations else 0,
        completion_tokens=sum(g.completion_tokens for g in generations),
    )
    return SampleRecord(
        question_id=question.id, task=question.task, mode=mode, gold=question.gold,
        generations=generations, answer_set=answer_set, judgements=judgements, usage=usage, extra=extra,
        error="; ".join(errors) if errors else None,
    )


def run(config: RunConfig, out: Path, backend_factory: BackendFactory, *, fresh: bool = False,
        console: Console | None = None, tasks: dict[str, Any] | None = None) -> RunResult:
    from mabench.tasks import load_task

    console = console or Console(stderr=True)
    timings: dict[str, float] = {"load": 0.0, "generate": 0.0, "judge": 0.0, "metrics": 0.0}
    store = RunStore(config.run_dir(out))
    if fresh:
        store.reset()
    tasks = tasks or {name: load_task(name) for name in config.tasks}
    questions = {name: select_questions(t, config, name) for name, t in tasks.items()}
    # A question may be logged twice: a failed attempt, then its retry. The last line wins.
    latest = {(r.task, r.mode, r.question_id): r for r in store.load_records()}
    done = {key for key, r in latest.items() if r.error is None}
    todo = [
        (name, mode, b, batch)
        for name in config.tasks
        for mode in config.modes
        for b, batch in enumerate(_chunks(questions[name], config.batch_size))
        if any((name, mode, q.id) not in done for q in batch)
    ]
    manifest = store.read_manifest()
    generated = 0
    if todo or manifest is None:
        start = time.perf_counter()
        backend = backend_factory(config.model)
        timings["load"] = time.perf_counter() - start
        previous, manifest = manifest, build_manifest(config, backend, status="running")
        if previous:  # a resumed run keeps the time it was first started
            manifest["created"] = previous.get("created", manifest["created"])
        if previous and latest and previous["model_fingerprint"] != manifest["model_fingerprint"]:
            raise RunStoreError(
                f"{store.dir}: the model changed since this run started "
                f"({previous['model_fingerprint']} -> {manifest['model_fingerprint']}); rerun with --fresh"
            )
        with contextlib.ExitStack() as stack, _progress(console) as progress:
            isolation = _share_sandbox(tasks.values(), stack)
            if isolation is not None:
                manifest["sandbox"] = isolation
            store.write_manifest(manifest)
            bars = {
                (name, mode): progress.add_task(
                    f"{name} / {mode}", total=len(questions[name]),
                    completed=sum((name, mode, q.id) in done for q in questions[name]),
                )
                for name in config.tasks for mode in config.modes
            }
            # Batch-invariant backends (per-request seeds: vLLM, OpenAI) take many batches per call; the
            # requests and their seeds are the same as batch by batch, so the records are too.
            for group in _group(todo, getattr(backend, "preferred_batch_size", None)):
                calls = [(name, mode, batch, [
                    GenerationRequest(messages=tasks[name].messages(q, mode, config.k),
                                      n=1 if mode == "multi" else config.k,
                                      seed=batch_seed(config.seed, name, mode, b) + i)
                    for i, q in enumerate(batch)
                ]) for name, mode, b, batch in group]
                start = time.perf_counter()
                outputs = backend.generate([r for *_, requests in calls for r in requests], config.sampling)
                timings["generate"] += time.perf_counter() - start
                if len(outputs) != sum(len(requests) for *_, requests in calls):
                    raise RuntimeError(f"backend {backend.name} returned {len(outputs)} results for "
                                       f"{sum(len(requests) for *_, requests in calls)} requests")
                for name, mode, batch, requests in calls:
                    batch_outputs, outputs = outputs[: len(requests)], outputs[len(requests):]
                    start = time.perf_counter()
                    new = [
                        build_record(tasks[name], q, mode, config.k, gens)
                        for q, gens in zip(batch, batch_outputs, strict=True)
                        if (name, mode, q.id) not in done
                    ]
                    timings["judge"] += time.perf_counter() - start
                    store.append(new)
                    latest.update(((name, mode, r.question_id), r) for r in new)
                    done.update((name, mode, r.question_id) for r in new if r.error is None)
                    generated += len(new)
                    progress.update(bars[(name, mode)], advance=len(new))
    start = time.perf_counter()
    wanted = {(name, mode, q.id) for name in config.tasks for mode in config.modes for q in questions[name]}
    final = [r for key, r in latest.items() if key in wanted]
    metrics = aggregate(final)
    comparison = compare_modes(final, metrics)
    timings["metrics"] = time.perf_counter() - start
    errors = sum(1 for key, r in latest.items() if key in wanted and r.error is not None)
    stats = backend_stats(backend) if todo else manifest.get("backend_stats", {})
    store.write_metrics(metrics)
    store.write_comparison(comparison)
    store.write_manifest({**manifest, "status": "complete", "errors": errors, "backend_stats": stats,
                          "timings_s": timings if generated else manifest.get("timings_s", timings)})
    return RunResult(run_dir=store.dir, metrics=metrics, comparison=comparison, generated=generated, timings=timings,
                     errors=errors,
                     backend_stats=stats)


def _share_sandbox(tasks: Any, stack: contextlib.ExitStack) -> dict[str, Any] | None:
    """Code tasks judge in one warm sandbox for the whole run, instead of starting one per record. Returns
    the isolation in force, for the manifest."""
    users = [t for t in tasks if hasattr(t, "attach_sandbox")]
    if not users:
        return None
    from mabench.sandbox import Sandbox

    sandbox = stack.enter_context(Sandbox(workers=2))
    for task in users:
        task.attach_sandbox(sandbox)
    return sandbox.isolation.to_dict()


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
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    )
