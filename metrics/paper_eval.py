"""The authors' evaluation metrics (`ishapuri/multi_answer_rl`, `eval/check_functions.confidence_verifier` and
`eval/eval_utils.py`, commit 918e956), reproduced so that mabench numbers can be put beside the paper's tables.

`paper_eval(completions, golds, format_pattern=...)` takes one completion per question (their n = 1 evaluation)
and returns their aggregate keys. Their quirks are reproduced on purpose; docs/paper-profile.md explains each one
and why mabench's own metric is the one to trust:

- candidates come from the back-referenced regex `<answer(\\d+)>(.*?)</answer\\1>`: a repeated index keeps its
  LAST occurrence, indices above K count, and a gap (answer1, answer3) is an empty candidate;
- correctness is math-verify, then SQuAD exact match (`paper_match.eval_correct`);
- pass@k ranks candidates by their numbered confidence (RLCR patterns; missing ones last) or keeps the
  listed order (RLVR patterns); an output without numbered answer tags scores 0 everywhere;
- set_brier is the SUM over candidates of (p_i − y_i)² (a missing confidence counts as 0), averaged over
  questions; an output without answer tags contributes 0 (the best possible value);
- ECE, AUROC and "confidence level" pair every candidate's correctness with the LAST UNNUMBERED `<confidence>` of
  its output, not with the candidate's own confidence; that tag is also "confidence format adherence";
- confidences in (1, 100] are percentages; a non-number yields its first number (`0.6 (sure)` is 0.6);
- "completion length" counts characters.

Single-answer patterns follow their single-answer branch: correctness of the last `<answer>`, pass@1, a
per-answer Brier ("brier_score"), no pass@2/3 and no set_brier. Their `ans_at_end` / `confidence_at_end`
re-prompting (a second generation when a tag is missing) is a generation step and is not reproduced: a missing
tag stays missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .calibration import auroc_score
from .paper_match import eval_correct

RLCR_PATTERNS = ("multi_answer_short", "multi_answer", "multi_answer_no_analysis")
RLVR_PATTERNS = ("multi_answer_rlvr_short", "multi_answer_rlvr")
SINGLE_PATTERNS = ("rlcr_single_answer", "rlvr_single_answer", "ta", "tac", "tabc", "tbac")
EVAL_PATTERNS = (*RLCR_PATTERNS, *RLVR_PATTERNS, *SINGLE_PATTERNS)

_ANSWER_N = re.compile(r"<answer(\d+)>(.*?)</answer\1>", re.DOTALL)
_CONFIDENCE_N = re.compile(r"<confidence(\d+)>(.*?)</confidence\1>", re.DOTALL)
_CONFIDENCE = re.compile(r"<confidence>(.*?)</confidence>", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FIRST_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _scaled(value: float) -> float | None:
    if 0.0 <= value <= 1.0:
        return value
    if 1.0 < value <= 100.0:
        return value / 100.0
    return None


def unnumbered_confidence(text: str) -> tuple[int, float]:
    """(adherence, confidence) from the last `<confidence>`: (0, 0.0) when absent or unusable. A float out of
    range is unusable; text that is not a float yields its first number."""
    matches = _CONFIDENCE.findall(text)
    last = matches[-1] if matches else ""
    if last == "":
        return 0, 0.0
    try:
        value: float | None = _scaled(float(last))
    except ValueError:
        number = _FIRST_NUMBER.search(last)
        value = _scaled(float(number.group())) if number else None
    return (1, value) if value is not None else (0, 0.0)


def numbered_confidence(text: str) -> float | None:
    """A `<confidenceI>` value: a float in range (percentages scaled), else the first number of the text."""
    try:
        value = _scaled(float(text))
        if value is not None:
            return value
    except ValueError:
        pass
    number = _FIRST_NUMBER.search(text)
    return _scaled(float(number.group())) if number else None


def numbered_candidates(text: str) -> tuple[list[str], dict[int, float | None]]:
    """Candidates 1..max index (gaps empty; a repeated index keeps its last text) and confidences by index."""
    answers = {int(i): a.strip() for i, a in _ANSWER_N.findall(text)}
    confidences = {int(i): numbered_confidence(c.strip()) for i, c in _CONFIDENCE_N.findall(text)}
    if not answers:
        return [], confidences
    return [answers.get(i, "").strip() for i in range(1, max(answers) + 1)], confidences


def paper_ece(correct: np.ndarray, confidence: np.ndarray, n_bins: int = 10) -> float:
    """Their ECE: `linspace(0, 1, 11)` edges with the outer two opened to ±inf, `np.digitize` (left-closed
    bins, so the float edges put 0.3, 0.6 and 0.7 one bin low); 0 for no items."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    edges[0], edges[-1] = -np.inf, np.inf
    bins = np.digitize(confidence, edges) - 1
    total = 0.0
    for b in range(n_bins):
        mask = bins == b
        if mask.any():
            total += mask.sum() / confidence.size * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def paper_auroc(correct: np.ndarray, confidence: np.ndarray) -> float:
    """AUROC (sklearn's roc_curve + auc, ties as one half); NaN without both classes."""
    if correct.size == 0 or np.unique(correct).size < 2:
        return float("nan")
    return auroc_score(confidence, correct)


def _check(completions: Sequence[str], golds: Sequence[Sequence[str]], format_pattern: str) -> str:
    fmt = str(format_pattern).lower()
    if fmt not in EVAL_PATTERNS:
        raise ValueError(f"unknown format_pattern {format_pattern!r}; valid patterns: {', '.join(EVAL_PATTERNS)}")
    if len(completions) != len(golds):
        raise ValueError(f"completions and golds differ in length: {len(completions)} vs {len(golds)}")
    if not completions:
        raise ValueError("paper_eval needs at least one completion")
    if any(isinstance(g, str) for g in golds):
        raise TypeError("golds must hold one list of gold strings per completion")
    return fmt


def _multi(completions: Sequence[str], golds: Sequence[Sequence[str]], rlcr: bool) -> dict[str, float]:
    passes: dict[int, list[float]] = {1: [], 2: [], 3: []}
    set_briers: list[float] = []
    correct: list[float] = []
    paired_confidence: list[float] = []
    for text, gold in zip(completions, golds, strict=True):
        _, confidence = unnumbered_confidence(text)
        candidates, confidences = numbered_candidates(text)
        ys = [float(eval_correct(c, gold)) for c in candidates]
        correct.extend(ys)
        paired_confidence.extend([confidence] * len(ys))
        order = list(range(len(candidates)))
        if rlcr:  # by confidence, highest first; a missing confidence last; ties in listed order
            keys = [confidences.get(i + 1) for i in order]
            order.sort(key=lambda i: -keys[i] if keys[i] is not None else float("inf"))  # type: ignore[operator]
        for k in passes:
            passes[k].append(float(any(ys[i] for i in order[:k])))
        if rlcr:
            ps = [confidences.get(i + 1) or 0.0 for i in range(len(candidates))]
            set_briers.append(float(sum((p - y) ** 2 for p, y in zip(ps, ys, strict=True))))
    y_arr, c_arr = np.array(correct, dtype=float), np.array(paired_confidence, dtype=float)
    out = {f"pass@{k}": float(np.mean(v)) for k, v in passes.items()}
    out["accuracy"] = out["pass@1"]
    if rlcr:
        out["set_brier"] = float(np.mean(set_briers))
    out["ece"] = paper_ece(y_arr, c_arr)
    out["auroc"] = paper_auroc(y_arr, c_arr)
    out["confidence level"] = float(c_arr.mean()) if c_arr.size else 0.0
    return out


def _samples(completions: Sequence[str | Sequence[str]]) -> list[list[str]]:
    """Single-answer patterns take one completion or a list of n samples per question (their `n`)."""
    samples = [[c] if isinstance(c, str) else list(c) for c in completions]
    sizes = {len(s) for s in samples}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"every question needs the same number of samples (at least one), got sizes {sorted(sizes)}")
    return samples


def pass_at_k_estimate(n: int, c: int, k: int) -> float:
    """Chen et al.'s unbiased pass@k, 1 − C(n−c, k)/C(n, k), as their `estimate_pass_at_k` computes it."""
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def _single(samples: list[list[str]], golds: Sequence[Sequence[str]]) -> dict[str, float]:
    correct: list[list[float]] = []
    confidence: list[float] = []
    for texts, gold in zip(samples, golds, strict=True):
        row = []
        for text in texts:
            answers = _ANSWER.findall(text)
            row.append(float(eval_correct(answers[-1] if answers else "", gold)))
            confidence.append(unnumbered_confidence(text)[1])
        correct.append(row)
    n = len(samples[0])
    out = {f"pass@{k}": float(np.mean([pass_at_k_estimate(n, int(sum(row)), k) for row in correct]))
           for k in sorted({1, n})}
    y_arr, c_arr = np.array(correct).flatten(), np.array(confidence)
    out["brier_score"] = float(np.mean((c_arr - y_arr) ** 2))
    out["ece"] = paper_ece(y_arr, c_arr)
    out["auroc"] = paper_auroc(y_arr, c_arr)
    out["accuracy"] = out["pass@1"]
    out["confidence level"] = float(c_arr.mean())
    return out


def paper_eval(completions: Sequence[str] | Sequence[Sequence[str]], golds: Sequence[Sequence[str]], *,
               format_pattern: str) -> dict[str, float]:
    """The authors' aggregate metrics (see the module docstring). Multi-answer patterns take one completion per
    question; single-answer patterns also take a list of n samples per question, which gives pass@1 and pass@n
    by the unbiased estimator (their `pass_k_vals` default) and pools every sample for the other metrics."""
    fmt = _check(completions, golds, format_pattern)
    if fmt in SINGLE_PATTERNS:
        samples = _samples(completions)
        out = _single(samples, golds)
        texts = [t for row in samples for t in row]
    else:
        if not all(isinstance(c, str) for c in completions):
            raise TypeError(f"format_pattern {fmt!r} takes one completion (a string) per question")
        texts = list(completions)  # type: ignore[arg-type]
        out = _multi(texts, golds, rlcr=fmt in RLCR_PATTERNS)
    out["completion length"] = float(np.mean([len(t) for t in texts]))
    out["confidence format adherence"] = float(np.mean([unnumbered_confidence(t)[0] for t in texts]))
    return out
