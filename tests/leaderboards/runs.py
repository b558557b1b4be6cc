"""Run directories for the leaderboard tests, written the way `mabench run` writes them.

`write_run` evaluates hand-written generations (a checkpoint that answers a chosen set of questions right)
through the real task parser and judge (`judging.build_record`), appends the records with `RunStore`, computes
metrics.json with the runner's `run_metrics`, and writes a manifest with
the runner's keys. Only the text of the generations is chosen here; every number is computed by mabench.

The metric set is DEFAULT_METRICS without `semantic_diversity`, which loads a sentence-embedding model per
task x mode (the runner skips it too where that optional extra is not installed); that keeps these tests fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mabench.answer_format import format_answer_set, parse_answer_set
from mabench.backends.identity import ModelIdentity
from mabench.config import RunConfig
from mabench.identity import run_identity
from mabench.judging import build_record
from mabench.manifest import package_versions
from mabench.metrics import DEFAULT_METRICS, run_metrics
from mabench.runner import select_questions
from mabench.store import RunStore
from mabench.tasks import load_task
from mabench.types import AnswerSet, Generation, Judgement, Message, Mode, Question, SampleRecord

WRONG = ("Nobody", "Somebody else", "Not sure")
METRICS = tuple(m for m in DEFAULT_METRICS if m.spec.name != "semantic_diversity")


class Arithmetic:
    """A second task plugin (sums), so that runs can cover different task sets."""

    spec_name = "arith"

    def load(self, data_path: Path | None = None) -> list[Question]:
        return [Question(id=f"arith-{i:03d}", task="arith", inputs={"question": f"What is {i} + {i + 1}?"},
                         gold=[[str(2 * i + 1)]]) for i in range(1, 31)]

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        return [{"role": "user", "content": question.inputs["question"]}]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_answer_set(text, k if mode == "multi" else None)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], dict[str, Any]]:
        gold = question.gold[0][0]
        return [Judgement(rank=c.rank, correct=c.text.strip() == gold, gold_index=0 if c.text.strip() == gold else None,
                          method="exact") for c in answers.candidates], {}


def generations(question: Question, mode: Mode, k: int, right: bool, confident: bool = True) -> list[Generation]:
    """A multi generation listing the gold answer first when `right`; k bok samples, the first and the last
    right when `right`. Token counts are the texts' lengths in 4-character pieces."""
    gold = question.gold[0][0] if question.gold else "?"
    if mode == "multi":
        answers = ([gold] if right else []) + list(WRONG)
        confs = [0.9, 0.06, 0.04] if confident else [None] * k
        texts = [format_answer_set(answers[:k], (confs + [0.0] * k)[:k])]
    else:
        picks = [gold if right and i in (0, k - 1) else WRONG[i % len(WRONG)] for i in range(k)]
        texts = [f"<think>Recall what is known.</think><answer>{p}</answer>"
                 + ("<confidence>0.8</confidence>" if confident else "") for p in picks]
    return [Generation(text=t, prompt_tokens=40, completion_tokens=len(t) // 4 + 1, finish_reason="stop",
                       sample_index=i) for i, t in enumerate(texts)]


def write_run(out: Path, model: str, right: Callable[[int], bool], *, task: str = "ambigqa",
              modes: Sequence[Mode] = ("multi", "bok"), k: int = 3, limit: int = 30, seed: int = 0,
              status: str = "complete", confident: bool = True) -> Path:
    """A run of `model` that answers question i right when `right(i)`; returns its run directory."""
    plugin = Arithmetic() if task == "arith" else load_task(task)
    config = RunConfig(model=model, tasks=[task], modes=list(modes), k=k, limit=limit, seed=seed, max_new_tokens=16)
    questions = select_questions(plugin, config, task)
    identity = run_identity(config, ModelIdentity(backend="hand-written", model=model), {task: questions})
    records = [build_record(plugin, q, mode, k, generations(q, mode, k, right(i), confident))
               for mode in modes for i, q in enumerate(questions)]
    store = RunStore(out / identity.run_id)
    store.append(records)
    store.write_metrics(metrics_json(records))
    store.write_manifest({
        "run_id": identity.run_id, "status": status, "config": config.model_dump(mode="json"), "seed": seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "backend": "hand-written",
        "model_fingerprint": f"fingerprint-of-{model}", "chat_template_hash": None, "packages": package_versions(),
    })
    return store.dir


def metrics_json(records: Sequence[SampleRecord]) -> dict[str, dict[str, dict[str, Any]]]:
    """{task: {mode: {metric: entry}}} plus the `errors` entry, as the runner writes it (`run_metrics`)."""
    return run_metrics(records, METRICS)


def metrics_of(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "metrics.json").read_text())
