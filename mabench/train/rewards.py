"""The Multi-RLVR / Multi-RLCR rewards of METHOD.md, computed from mabench's own parse and judgements.

For a generation parsed into an `AnswerSet` with K candidates, judged y_1..y_K, with confidences p_1..p_K:

- format F ∈ {0, 1}: the parser's strict `format_ok` (every numbered tag present once, a well-formed think
  block, and for the RLCR methods every confidence a float in [0, 1]; a 0–100 confidence fails it). The RLVR
  methods do not ask for confidences, so their format ignores the confidence tags.
- accuracy A: 0 when F = 0, and for Multi-RLCR also when two answers are equal after strip + lowercase;
  otherwise 1 when any candidate is correct ("any", the default), or the number of distinct correct candidates
  divided by K ("distinct").
- set Brier B (RLCR methods only): 0 when F = 0, when answers repeat, or when Σ p_i > 1; otherwise
  1 − (1/K) Σ (y_i − p_i)².
- total: w_F·F + w_A·A (+ w_B·B), with the paper's weights 0.5 / 0.5 / 0.5 by default.

The single-answer methods are the K = 1 cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from mabench.answer_format import answer_key, parse_answer_set
from mabench.types import AnswerSet, Judgement

from .methods import AccuracyMode, MethodSpec


class RewardWeights(BaseModel):
    """Weights of the reward components in the total reward (TRL's `reward_weights`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: float = Field(0.5, ge=0.0)
    accuracy: float = Field(0.5, ge=0.0)
    brier: float = Field(0.5, ge=0.0)

    def for_components(self, components: Sequence[str]) -> list[float]:
        return [float(getattr(self, name)) for name in components]


@dataclass(frozen=True)
class RewardBreakdown:
    format: float
    accuracy: float
    brier: float | None  # None for the RLVR methods, which train no Brier term
    duplicate_answers: bool = False
    sum_exceeds_one: bool = False

    def component(self, name: str) -> float:
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"reward component {name!r} is not trained by this method")
        return float(value)

    def total(self, weights: RewardWeights) -> float:
        parts = [weights.format * self.format, weights.accuracy * self.accuracy]
        if self.brier is not None:
            parts.append(weights.brier * self.brier)
        return sum(parts)


def method_format_ok(text: str, answers: AnswerSet, spec: MethodSpec, k: int, tag: str = "answer") -> bool:
    """F for this method. The RLCR methods take the parser's strict flag as it is; the RLVR methods re-read the
    text with confidences not required (answer tag `tag`), since their prompt's confidences earn nothing."""
    if answers.format_ok or spec.confidence:
        return answers.format_ok
    return parse_answer_set(text, k if spec.multi else None, tag=tag, require_confidence=False).format_ok


def correctness(answers: AnswerSet, judgements: Sequence[Judgement]) -> list[bool]:
    """y_i for each candidate, in listed order (a candidate the judge did not score counts as wrong)."""
    by_rank = {j.rank: j.correct for j in judgements}
    return [by_rank.get(c.rank, False) for c in answers.candidates]


def distinct_correct(answers: AnswerSet, judgements: Sequence[Judgement]) -> int:
    """Correct candidates counted once per gold answer they match (or per strip+lower text when the judge names
    no gold entry, as execution judges do)."""
    by_rank = {j.rank: j for j in judgements}
    keys = set()
    for candidate in answers.candidates:
        judgement = by_rank.get(candidate.rank)
        if judgement is not None and judgement.correct:
            if judgement.gold_index is not None:
                keys.add(("gold", judgement.gold_index))
            else:
                keys.add(("text", answer_key(candidate.text)))
    return len(keys)


def score(
    answers: AnswerSet,
    judgements: Sequence[Judgement],
    spec: MethodSpec,
    k: int,
    accuracy: AccuracyMode = "any",
    format_ok: bool | None = None,
) -> RewardBreakdown:
    """Every reward component of one generation. `format_ok` defaults to the parser's strict flag; pass
    `method_format_ok(...)` for the RLVR methods."""
    n = spec.candidates(k)
    fmt = answers.format_ok if format_ok is None else format_ok
    distinct = not answers.duplicate_answers
    y = correctness(answers, judgements)
    if not fmt or (spec.duplicates_zero_accuracy and not distinct):
        acc = 0.0
    elif accuracy == "any":
        acc = float(any(y))
    else:
        acc = distinct_correct(answers, judgements) / n
    brier: float | None = None
    if spec.confidence:
        if not fmt or not distinct or answers.sum_exceeds_one:
            brier = 0.0
        else:
            from mabench.metrics import set_brier_score  # the evaluation's own set Brier (mean over the K candidates)

            p = [c.confidence if c.confidence is not None else 0.0 for c in answers.candidates]
            brier = 1.0 - set_brier_score(p, y, reduce="mean")
    return RewardBreakdown(
        format=float(fmt), accuracy=acc, brier=brier,
        duplicate_answers=answers.duplicate_answers, sum_exceeds_one=answers.sum_exceeds_one,
    )
