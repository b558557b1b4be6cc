"""The whole framework contract: what flows from a task, through a backend, to a metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

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


# ---------------------------------------------------------------- judge evidence
# What a task's judge found beyond its per-candidate judgements, kept in the record for the metrics that need it.
# One typed model per kind of judge, told apart by `kind`; metrics read these fields, never string keys.


class AmbigQAEvidence(_Frozen):
    """AmbigQA's exact-match judge: the annotations (for AmbigQA F1) and the gold groups some candidate hit."""

    kind: Literal["ambigqa"] = "ambigqa"
    annotations: list[list[list[str]]]  # per annotation, its answer groups, each a list of aliases
    covered: list[int] = Field(default_factory=list)


class ConditionMapping(_Frozen):
    """How DDXPlus' judge mapped one candidate onto a condition, and by which tier."""

    rank: int
    condition: str | None
    tier: str  # exact, synonym, icd10, fuzzy, judge-model, none
    score: float | None = None  # the fuzzy score, for the fuzzy tier


class DiagnosisEvidence(_Frozen):
    """DDXPlus' judge: the true pathology and, when the data has it, the gold differential (for DDR/DDP/DDF1)."""

    kind: Literal["ddxplus"] = "ddxplus"
    true_pathology: str
    differential: list[tuple[str, float]] | None = None  # (pathology, probability); None: only GTPA is defined
    mapping: list[ConditionMapping] = Field(default_factory=list)


class Execution(_Frozen):
    """One candidate program as the sandbox ran it (status "not_run" for an empty program)."""

    rank: int
    status: str  # passed, failed, timeout, exited_early, sandbox_error, not_run, ...
    passed: bool
    duration_s: float = 0.0
    detail: str = ""
    stderr: str = ""  # its tail


class ExecutionEvidence(_Frozen):
    """A code task's judge: the tests the programs ran against and one execution per candidate."""

    kind: Literal["execution"] = "execution"
    executions: list[Execution]
    tests: str = ""  # empty in records written before evidence was typed whose sandbox failed
    task_id: int | str | None = None  # MBPP
    entry_point: str | None = None  # HumanEval


class ChoiceEvidence(_Frozen):
    """A multiple-choice judge (MedQA): the right option, the option each candidate chose, the options offered."""

    kind: Literal["choice"] = "choice"
    answer_idx: str
    chosen: list[str | None]
    set_size: int
    n_options: int


Evidence = Annotated[
    Union[AmbigQAEvidence, DiagnosisEvidence, ExecutionEvidence, ChoiceEvidence],  # noqa: UP007 (runtime alias)
    Field(discriminator="kind"),
]

# Records written before evidence was typed kept it as string keys in `extra`: the key that tells each kind
# apart, and the keys that belong to it. `SampleRecord` reads them into the typed model, so old runs replay.
_LEGACY_EVIDENCE: tuple[tuple[str, type[BaseModel], tuple[str, ...]], ...] = (
    ("annotations", AmbigQAEvidence, ("annotations", "covered")),
    ("true_pathology", DiagnosisEvidence, ("true_pathology", "differential", "mapping")),
    ("executions", ExecutionEvidence, ("executions", "tests", "task_id", "entry_point")),
    ("answer_idx", ChoiceEvidence, ("answer_idx", "chosen", "set_size", "n_options")),
)


def evidence_from_extra(extra: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(evidence as a dict with its `kind`, or None; the keys left over) from an old record's `extra`."""
    for marker, model, keys in _LEGACY_EVIDENCE:
        if extra.get(marker) is not None:
            kind = model.model_fields["kind"].default
            found = {key: extra[key] for key in keys if key in extra}
            return {"kind": kind, **found}, {key: v for key, v in extra.items() if key not in keys}
    return None, extra


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
    evidence: Evidence | None = None  # what the task's judge found, typed by kind (see the models above)
    extra: dict[str, Any] = Field(default_factory=dict)  # anything else a (third-party) judge returned, untyped
    error: str | None = None  # generation or judging failed for good (not the answer); a resumed run retries it

    @model_validator(mode="before")
    @classmethod
    def _read_legacy_extra(cls, data: Any) -> Any:
        """Records written before evidence was typed: their `extra` keys become `evidence`."""
        if isinstance(data, dict) and data.get("evidence") is None and isinstance(data.get("extra"), dict):
            evidence, rest = evidence_from_extra(data["extra"])
            if evidence is not None:
                return {**data, "evidence": evidence, "extra": rest}
        return data


class JudgeUnavailable(Exception):
    """A task's judge could not reach a verdict for reasons that say nothing about the answer (the code
    sandbox failed, say). The record is stored with `error` set, like a failed generation: excluded from
    the scores, counted on the summary's errors line, retried by a resumed run. `judgements` and `evidence`
    keep what the judge did find."""

    def __init__(self, message: str, judgements: list[Judgement], evidence: Evidence | None) -> None:
        super().__init__(message)
        self.judgements, self.evidence = judgements, evidence
