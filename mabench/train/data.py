"""Training data: a task's questions as a conversational TRL dataset.

Each row has `prompt` (the task's own chat messages for the method's mode, the same prompt `mabench run` sends)
and `question` (the `Question` as JSON, which the reward functions hand back to the task's judge).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from mabench.types import Question

from .methods import MethodSpec


def question_from_json(raw: str) -> Question:
    return Question.model_validate_json(raw)


def training_rows(task: Any, questions: list[Question], spec: MethodSpec, k: int,
                  prompt: str | None = None) -> list[dict[str, Any]]:
    """One row per question; `prompt` (one of the authors' prompt names) replaces the task's own messages."""
    from mabench.prompts import prompt_messages

    def messages(q: Question) -> list[Any]:
        if prompt is None:
            return task.messages(q, spec.mode, k)
        return prompt_messages(prompt, q.task, q, spec.candidates(k))

    return [{"prompt": messages(q), "question": q.model_dump_json(), "question_id": q.id} for q in questions]


def load_questions(task: Any, data_path: str | None = None, limit: int | None = None, seed: int = 0,
                   shuffle: bool = False) -> list[Question]:
    """The task's questions (its bundled sample unless `data_path`), optionally shuffled by `seed`, then limited."""
    questions = list(task.load(Path(data_path) if data_path else None))
    if shuffle:
        random.Random(seed).shuffle(questions)
    return questions[:limit]


def build_dataset(task: Any, questions: list[Question], spec: MethodSpec, k: int, prompt: str | None = None) -> Any:
    """A `datasets.Dataset` with the columns `prompt`, `question` and `question_id`."""
    from datasets import Dataset

    if not questions:
        raise ValueError("no training questions: the task's data is empty (check --data-path and limit)")
    return Dataset.from_list(training_rows(task, questions, spec, k, prompt))
