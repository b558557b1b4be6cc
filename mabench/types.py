"""The whole framework contract: what flows from a task, through a backend, to a metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["multi", "bok"]
MODES: tuple[Mode, ...] = ("multi", "bok")
Message = dict[str, str]  # {"role": ..., "content": ...}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SamplingConfig(_Frozen):
    """How a model samples: the run's settings for answers, a judge's own (greedy) for judging."""

    temperature: float = Field(0.7, ge=0.0)  # 0 means greedy
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1)


class PromptSource(Protocol):
    """The chat messages a task gives one of its questions: what replay needs to find recorded generations by
    question id without importing tasks (`mabench.prompts.TaskPrompts` is the one mabench uses)."""

    def messages(self, task: str, question_id: str, mode: Mode, k: int, data_path: str | None) -> list[Message]:
        """KeyError when the task has no such question."""
        ...


class JudgeModel(Protocol):
    """What a task's judge may ask of a language model (DDXPlus' third tier): one reply per chat prompt. Tasks
    take one of these instead of a backend, so that tasks never import backends; `mabench.backends.judge_model`
    makes one of any backend."""

    def replies(self, prompts: Sequence[list[Message]], sampling: SamplingConfig) -> list[str]:
        """The text of one generation per prompt, in order ("" where the model gave none)."""
        ...


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
    error: str | None = None  # generation or judging failed for good (not the answer); a resumed run retries it


class JudgeUnavailable(Exception):
    """A task's judge could not reach a verdict for reasons that say nothing about the answer (the code
    sandbox failed, say). The record is stored with `error` set, like a failed generation: excluded from
    the scores, counted on the summary's errors line, retried by a resumed run. `judgements` and `extra`
    keep what the judge did find."""

    def __init__(self, message: str, judgements: list[Judgement], extra: dict[str, Any]) -> None:
        super().__init__(message)
        self.judgements, self.extra = judgements, extra
