"""The authors' reward functions (`ishapuri/multi_answer_rl`, `reward_fns.py`, commit 918e956), one completion at
a time: the `paper` reward profile of `mabench train`.

`paper_rewards(completion, gold, format_pattern=..., num_candidates=...)` returns one value per reward function
of theirs, keyed by the name their training configs use (`reward_funcs: [combined_format_and_constraint,
accuracy, brier, ...]`). Reading rules are in `paper_patterns`; correctness in `mabench.metrics.paper_match`.
What each reward does (F = their format check for the pattern, C = their response constraint):

- format: F. uniqueness: the K answers differ after strip + lower-case (single-answer patterns: always 1).
- response_constraint: exactly K (answer, confidence) pairs read (K = 1: the unnumbered tags, whatever the
  pattern), distinct after strip + lower-case, every confidence a float, and their sum ≤ 1 (no range check:
  a negative confidence passes). The RLVR patterns write no confidences, so C is 0 for them.
- combined_format_and_constraint: F · C.
- accuracy: 0 unless F (and, for multi_answer / multi_answer_no_analysis, uniqueness); then 1 when any
  non-empty candidate is correct. Candidates: the K numbered answers, the RLVR reading, or the LAST `<answer>`.
- accuracy_fraction (their `more_than_one_correctness_pt`): as accuracy, but the number of distinct (stripped,
  case-sensitive) correct candidates divided by K.
- brier: 0 unless F and C; then 1 − mean_i (y_i − clip(p_i))² over the pairs C read.
- pass_at_i / num_correct_at_i: 0 unless F; then whether any of / how many of the first i candidates are
  correct, ranked by clipped confidence (RLCR; unreadable confidences last) or in listed order (RLVR). For
  rlcr_single_answer / rlvr_single_answer only i = 1 exists (their code raises otherwise), and it judges the last
  `<answer>`; the older patterns (ta, tac, tabc, tbac) have no candidates here and always score 0.
- mean_confidence / confidence_one_or_zero (logging): the last UNNUMBERED `<confidence>`, clipped; 0 when absent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mabench.metrics.paper_match import reward_correct

from .paper_patterns import (
    MULTI_CONFIDENCE_PATTERNS,
    MULTI_PATTERNS,
    SINGLE_PATTERNS,
    answers_only,
    candidates_for_accuracy,
    check_pattern,
    clip01,
    flat_candidates,
    format_ok,
    last_between,
    last_unnumbered_confidence,
    ranked_candidates,
    safe_float,
    single_candidate,
)

# The authors' data-source names, by mabench task (their reward judges these by exact match).
PAPER_SOURCES = {"ambigqa": "ambigQA", "ddxplus": "medDataset", "hotpotqa": "hotpotQA"}


@dataclass(frozen=True)
class _Completion:
    """One completion with the arguments every reward function of theirs receives."""

    text: str
    gold: Sequence[str]
    fmt: str
    k: int
    source: str | Sequence[str] | None

    def correct(self, candidate: str) -> bool:
        return reward_correct(candidate, self.gold, self.source)


def _distinct(answers: list[str]) -> bool:
    keys = [a.strip().lower() for a in answers]
    return len(set(keys)) == len(keys)


def _uniqueness(c: _Completion) -> float:
    if c.fmt in MULTI_CONFIDENCE_PATTERNS:
        parsed = flat_candidates(c.text, c.k)
        answers = parsed[0] if parsed else None
    elif c.fmt == "multi_answer_rlvr":
        answers = answers_only(c.text, c.k)
    else:
        return 1.0
    return float(answers is not None and len(answers) == c.k and _distinct(answers))


def _pairs(c: _Completion) -> tuple[list[str], list[str]] | None:
    """The (answers, confidences) their constraint reads: unnumbered tags when K = 1, else the K numbered."""
    return single_candidate(c.text) if c.k == 1 else flat_candidates(c.text, c.k)


def _response_constraint(c: _Completion) -> float:
    parsed = _pairs(c)
    if parsed is None or len(parsed[0]) != c.k or not _distinct(parsed[0]):
        return 0.0
    values = [safe_float(t) for t in parsed[1]]
    if any(v is None for v in values):
        return 0.0
    return float(float(np.sum(values)) <= 1.0)


def _format(c: _Completion) -> float:
    return float(format_ok(c.fmt, c.text, c.k))


def _accuracy_gate(c: _Completion) -> bool:
    if not format_ok(c.fmt, c.text, c.k):
        return False
    return c.fmt not in MULTI_CONFIDENCE_PATTERNS or _uniqueness(c) == 1.0


def _accuracy(c: _Completion) -> float:
    if not _accuracy_gate(c):
        return 0.0
    return float(any(c.correct(x) for x in candidates_for_accuracy(c.fmt, c.text, c.k) if x))


def _accuracy_fraction(c: _Completion) -> float:
    if not _accuracy_gate(c):
        return 0.0
    correct = {x.strip() for x in candidates_for_accuracy(c.fmt, c.text, c.k) if x and c.correct(x)}
    return len(correct) / c.k


def _brier(c: _Completion) -> float:
    if not format_ok(c.fmt, c.text, c.k) or not _response_constraint(c):
        return 0.0
    single = c.fmt not in MULTI_PATTERNS or c.k == 1
    parsed = single_candidate(c.text) if single else flat_candidates(c.text, c.k)
    if parsed is None:
        return 0.0
    errors = []
    for answer, confidence in zip(*parsed, strict=True):
        value = safe_float(confidence)
        p = clip01(value) if value is not None else 0.0
        errors.append((float(c.correct(answer)) - p) ** 2)
    return 1.0 - sum(errors) / len(errors)


def _top(c: _Completion, i: int) -> list[str]:
    if not format_ok(c.fmt, c.text, c.k):
        return []
    if c.fmt in SINGLE_PATTERNS:
        return [last_between(c.text, "<answer>", "</answer>")]
    return ranked_candidates(c.fmt, c.text, c.k)[:i]


def _pass_at(i: int) -> Callable[[_Completion], float]:
    def reward(c: _Completion) -> float:
        return float(any(c.correct(x) for x in _top(c, i)))

    return reward


def _num_correct_at(i: int) -> Callable[[_Completion], float]:
    def reward(c: _Completion) -> float:
        return float(sum(c.correct(x) for x in _top(c, i)))

    return reward


def _mean_confidence(c: _Completion) -> float:
    value = last_unnumbered_confidence(c.text)
    return value if value is not None else 0.0


def _confidence_one_or_zero(c: _Completion) -> float:
    value = last_unnumbered_confidence(c.text)
    return float(value is not None and (abs(value) < 0.01 or abs(value - 1.0) < 0.01))


REWARDS: dict[str, Callable[[_Completion], float]] = {
    "format": _format,
    "uniqueness": _uniqueness,
    "response_constraint": _response_constraint,
    "combined_format_and_constraint": lambda c: _format(c) * _response_constraint(c),
    "accuracy": _accuracy,
    "accuracy_fraction": _accuracy_fraction,
    "brier": _brier,
    **{f"pass_at_{i}": _pass_at(i) for i in (1, 2, 3)},
    **{f"num_correct_at_{i}": _num_correct_at(i) for i in (1, 2, 3)},
    "mean_confidence": _mean_confidence,
    "confidence_one_or_zero": _confidence_one_or_zero,
}
PAPER_REWARD_NAMES: tuple[str, ...] = tuple(REWARDS)


def reward_names(format_pattern: str) -> tuple[str, ...]:
    """The rewards that exist for a pattern: their pass_at_i / num_correct_at_i raise for i > 1 on the
    rlcr_single_answer / rlvr_single_answer patterns, so those are left out there."""
    fmt = check_pattern(format_pattern)
    if fmt in SINGLE_PATTERNS:
        return tuple(n for n in PAPER_REWARD_NAMES if not n.endswith(("_at_2", "_at_3")))
    return PAPER_REWARD_NAMES


def _completion(completion: str, gold: Sequence[str], format_pattern: str, num_candidates: int,
                source: str | Sequence[str] | None) -> _Completion:
    if isinstance(num_candidates, bool) or not isinstance(num_candidates, int) or num_candidates < 1:
        raise ValueError(f"num_candidates must be a positive integer, got {num_candidates!r}")
    if isinstance(gold, str):
        raise TypeError("gold must be a list of gold answer strings, not one string")
    return _Completion(completion, list(gold), check_pattern(format_pattern), num_candidates, source)


def paper_reward(name: str, completion: str, gold: Sequence[str], *, format_pattern: str, num_candidates: int,
                 source: str | Sequence[str] | None = None) -> float:
    """One reward of theirs by name (what a training config's `reward_funcs` entry computes)."""
    c = _completion(completion, gold, format_pattern, num_candidates, source)
    if name not in reward_names(c.fmt):
        raise ValueError(f"no reward {name!r} for format_pattern {c.fmt!r}; "
                         f"valid rewards: {', '.join(reward_names(c.fmt))}")
    return REWARDS[name](c)


def paper_rewards(completion: str, gold: list[str], *, format_pattern: str, num_candidates: int,
                  source: str | Sequence[str] | None = None) -> dict[str, float]:
    """Every reward of theirs for one completion, keyed by name (see the module docstring)."""
    c = _completion(completion, gold, format_pattern, num_candidates, source)
    return {name: REWARDS[name](c) for name in reward_names(c.fmt)}
