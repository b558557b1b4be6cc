"""The whole framework contract: what flows from a task, through a backend, to a metric."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["multi", "bok"]
MODES: tuple[Mode, ...] = ("multi", "bok")
Message = dict[str, str]  # {"role": ..., "content": ...}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Question(_Frozen):
    """One evaluation item. `gold` lists the distinct acceptable answers; each entry is task-defined
    (for QA, a list of aliases). `inputs` holds whatever the task's prompt and judge need."""

    id: str
    task: str
    inputs: dict[str, Any]
    gold: list[Any]


class Generation(_Frozen):
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: Literal["stop", "length", "error"]
    sample_index: int = 0
    latency: float = 0.0  # seconds, for the batch this generation came from
    error: str | None = None  # why the backend gave up on it (finish_reason "error")


class Candidate(_Frozen):
    text: str
    confidence: float | None  # always in [0, 1] or None
    rank: int  # 1-based position as listed by the model (or sample order in bok)


class AnswerSet(_Frozen):
    candidates: list[Candidate]
    format_ok: bool  # strictly the paper's format: every tag present once, confidences in [0, 1]
    missing_confidence: bool = False
    confidence_out_of_range: bool = False  # a confidence could not be mapped into [0, 1]
    confidence_percent_scale: bool = False  # a confidence was read on the 0-100 scale
    sum_exceeds_one: bool = False
    duplicate_answers: bool = False  # two candidates equal after strip + lowercase

    @property
    def n_candidates(self) -> int:
        return len(self.candidates)


class Judgement(_Frozen):
    rank: int  # the candidate this judges
    correct: bool
    gold_index: int | None = None  # which entry of Question.gold it matched
    method: str = "none"  # exact, alias, fuzzy, judge-model, execution, ...
    detail: str | None = None


class Usage(_Frozen):
    prompt_tokens: int  # counted once per question: every sample shares the prompt
    completion_tokens: int  # summed over all generations


class SampleRecord(_Frozen):
    """One question under one mode: the append-only unit of a run."""

    question_id: str
    task: str
    mode: Mode
    gold: list[Any]
    generations: list[Generation]
    answer_set: AnswerSet
    judgements: list[Judgement]
    usage: Usage
    extra: dict[str, Any] = Field(default_factory=dict)  # task-specific evidence, e.g. covered groups
    error: str | None = None  # set when generation failed for good; a resumed run retries the question
