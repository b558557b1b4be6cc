"""AmbigQA answer F1 with the semantics of the official evaluation script (Min et al. 2020,
`shmsw25/AmbigQA`, `ambigqa_evaluate_script.py`: `get_f1` and `QAPairEvaluation`), re-implemented."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

import numpy as np

from mabench.text import normalize_answer
from mabench.types import AmbigQAEvidence

from .spec import PerQuestion, Skipped, metric
from .table import NormCache, SampleTable

# An annotation is either the official dict ({"type": "singleAnswer", "answer": [aliases]} or
# {"type": "multipleQAs", "qaPairs": [{"answer": [aliases], ...}, ...]}) or the light form that
# mabench records carry: a list of answer groups, each a list of aliases (singleAnswer = one group).
Annotation = Union[Mapping[str, Any], Sequence[Sequence[str]]]  # noqa: UP007 (runtime alias)


def _groups(annotation: Annotation) -> tuple[list[list[str]], bool]:
    """(answer groups, is_single) of one annotation, validated."""
    if isinstance(annotation, Mapping):
        kind = annotation.get("type")
        if kind == "singleAnswer":
            return [list(annotation["answer"])], True
        if kind == "multipleQAs":
            return [list(pair["answer"]) for pair in annotation["qaPairs"]], False
        raise ValueError(f"annotations: expected type 'singleAnswer' or 'multipleQAs', got {kind!r}")
    if isinstance(annotation, str) or not all(
        isinstance(g, (list, tuple)) or (isinstance(g, Sequence) and not isinstance(g, str))
        for g in annotation
    ):
        raise ValueError("annotations: expected each annotation to be a dict or a list of alias lists")
    return list(annotation), len(annotation) == 1


def greedy_f1(predictions: Sequence[str], groups: Sequence[set[str] | Sequence[str]]) -> float:
    """F1 of already-normalised predictions against answer groups, matched as the official `get_f1` does:
    for each gold group in order, the first unused prediction (in order) equal to any alias claims it;
    one-to-one, greedy (not a maximum matching), duplicate predictions not collapsed."""
    if not predictions or not groups:
        return 0.0
    used = [False] * len(predictions)
    matched = 0
    for group in groups:
        for j, pred in enumerate(predictions):
            if not used[j] and pred in group:
                used[j] = True
                matched += 1
                break
    if matched == 0:
        return 0.0
    recall, precision = matched / len(groups), matched / len(predictions)
    return 2 * recall * precision / (recall + precision)


def ambigqa_f1_score(predictions: Sequence[str], annotations: Sequence[Annotation]) -> float:
    """AmbigQA "F1 answer" of one question (Min et al. 2020, official evaluation script).

    For each annotation the gold answers are its groups (one for singleAnswer, one per qaPair for
    multipleQAs); a prediction matches a group when its SQuAD-normalised text equals a normalised alias.
    Matching is greedy first-fit in gold order then prediction order, one-to-one; recall = matched / |gold|,
    precision = matched / |predictions|. The score is the maximum over annotations (0 if none matches).
    Deviation: the official script asserts non-empty predictions; here no prediction scores 0.0.
    """
    if isinstance(predictions, str):
        raise ValueError("predictions: expected a list of answer strings, got a single string")
    if not annotations:
        raise ValueError("annotations: expected at least one annotation")
    preds = [normalize_answer(p) for p in predictions]
    best = 0.0
    for annotation in annotations:
        groups, _ = _groups(annotation)
        best = max(best, greedy_f1(preds, [{normalize_answer(a) for a in g} for g in groups]))
    return best


def ambigqa_is_multi(annotations: Sequence[Annotation]) -> bool:
    """True when no annotation is singleAnswer: the official script's "multi only" subset."""
    return not any(_groups(a)[1] for a in annotations)


def _per_question(table: SampleTable) -> tuple[np.ndarray, np.ndarray]:
    """(F1, is_multi) per question; NaN / False where a record carries no `AmbigQAEvidence` annotations."""

    def build() -> tuple[np.ndarray, np.ndarray]:
        f1 = np.full(table.n_questions, np.nan)
        multi = np.zeros(table.n_questions, dtype=bool)
        vocab, norm_id, starts = table.vocab, table.norm_id.tolist(), table.starts.tolist()
        norm = NormCache()
        for qi, evidence in enumerate(table.evidence):
            if not isinstance(evidence, AmbigQAEvidence) or not evidence.annotations:
                continue
            annotations = evidence.annotations
            preds = [vocab[i] for i in norm_id[starts[qi] : starts[qi + 1]]]
            best, any_single = 0.0, False
            for annotation in annotations:
                groups, single = _groups(annotation)
                any_single |= single
                best = max(best, greedy_f1(preds, [{norm[a] for a in g} for g in groups]))
            f1[qi], multi[qi] = best, not any_single
        return f1, multi

    return table.memo("ambigqa", build)


# The wording predates typed evidence; recorded runs' metrics.json hold it, so it stays (their results are fixed).
_NO_ANNOTATIONS = "no record carries extra['annotations'] (AmbigQA tasks only)"


def _f1_metric(select: Callable[[np.ndarray, np.ndarray], np.ndarray], empty: str):
    def compute(table: SampleTable) -> PerQuestion | Skipped:
        f1, multi = _per_question(table)
        if np.all(np.isnan(f1)):
            return Skipped(_NO_ANNOTATIONS)
        values = select(f1, multi)
        return Skipped(empty) if np.all(np.isnan(values)) else PerQuestion(values)

    return compute


@metric("ambigqa_f1", "fraction", group="coverage", summary=True)
def ambigqa_f1(table: SampleTable) -> PerQuestion | Skipped:
    """AmbigQA answer F1 of the candidate list, max over annotations (Min et al. 2020, official script)."""
    return _f1_metric(lambda f1, multi: f1, _NO_ANNOTATIONS)(table)


@metric("ambigqa_f1_multi", "fraction", group="coverage")
def ambigqa_f1_multi(table: SampleTable) -> PerQuestion | Skipped:
    """AmbigQA answer F1 on questions none of whose annotations is singleAnswer (Min et al. 2020)."""
    return _f1_metric(lambda f1, multi: np.where(multi, f1, np.nan), "no multi-answer question")(table)
