"""Training splits that are disjoint from a task's bundled evaluation sample, and the record of what was trained.

Why: the bundled checkpoints are evaluated on the bundled AmbigQA sample (100 questions of the official dev
split), and they are trained on the same dev split, so the two must not share a question, and anyone must be
able to rebuild the exact training list from the rule alone.

The rule (`disjoint_split`), written down also in docs/bundled-checkpoints.md:

1. load the task's questions from the given file (for AmbigQA: the official light `dev_light.json`, 2,002
   questions);
2. drop every question whose id is in the task's bundled evaluation sample (`bundled_ids()`: 100 ids);
3. order the rest by `sha256("mabench/ambigqa-train/" + id)` (hex digest, ascending); the salt differs from
   the one that picked the evaluation sample, so the order is unrelated to it;
4. take the first `n` (all when `n` is None).

The result depends on nothing but the file and the bundled sample: no seed, no file order.
`training_record` is what a checkpoint stores about its training questions (ids and a hash of the id list), so
that `mabench run` can count the evaluation questions a checkpoint was trained on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

from mabench.types import Question

SALT = "mabench/ambigqa-train/"
RECORD_KEY = "train_questions"  # the key of `training_record` in mabench_train.json
Split = Literal["file", "bundled-disjoint"]


class SplitError(ValueError):
    """A split that cannot be made: a task without a bundled sample, or no questions left."""


def split_key(question_id: str, salt: str = SALT) -> str:
    return hashlib.sha256((salt + question_id).encode("utf-8")).hexdigest()


def disjoint_split(questions: Iterable[Question], excluded: Iterable[str], n: int | None = None,
                   salt: str = SALT) -> list[Question]:
    """The questions whose ids are not in `excluded`, ordered by the salted sha256 of their id, first `n`."""
    leave_out = frozenset(excluded)
    kept = sorted((q for q in questions if q.id not in leave_out), key=lambda q: split_key(q.id, salt))
    if not kept:
        raise SplitError("no training questions left once the bundled evaluation sample is left out")
    if n is not None and n > len(kept):
        raise SplitError(f"asked for {n} training questions, but only {len(kept)} are disjoint from the "
                         "bundled evaluation sample")
    return kept[:n]


def bundled_eval_ids(task_name: str) -> frozenset[str]:
    """The ids of a task's bundled evaluation sample (the task module's `bundled_ids()`)."""
    import importlib

    module = importlib.import_module(f"mabench.tasks.{task_name.replace('-', '_')}")
    ids = getattr(module, "bundled_ids", None)
    if ids is None:
        raise SplitError(f"task {task_name!r} declares no bundled evaluation sample (bundled_ids), so a "
                         "disjoint training split cannot be made")
    return frozenset(ids())


def ids_sha256(ids: Iterable[str]) -> str:
    """A hash of a set of question ids (sorted, newline-joined), to compare id lists without reading them."""
    return hashlib.sha256("\n".join(sorted(ids)).encode("utf-8")).hexdigest()


def training_record(task_name: str, questions: list[Question], split: str | None = None) -> dict[str, Any]:
    """What mabench_train.json keeps about the training questions: the task, the split rule, every id in
    training order, and the sha256 of the sorted id list."""
    ids = [q.id for q in questions]
    return {"task": task_name, "split": split, "n": len(ids), "ids_sha256": ids_sha256(ids), "ids": ids}


def select_questions(task: Any, config: Any) -> list[Question]:
    """The training questions a `TrainConfig` asks for. `split: file`: the data file's questions (optionally
    shuffled by `seed`), first `limit`. `split: bundled-disjoint`: `disjoint_split` of the data file against the
    task's bundled evaluation sample, first `limit` (shuffle and seed play no part: the rule fixes the order)."""
    from pathlib import Path

    from .data import load_questions

    if config.split == "file":
        return load_questions(task, config.data_path, config.limit, config.seed, config.shuffle)
    if config.data_path is None:
        raise SplitError("split 'bundled-disjoint' needs --data-path (the full split the bundled sample came from)")
    return disjoint_split(task.load(Path(config.data_path)), bundled_eval_ids(config.task), config.limit)
