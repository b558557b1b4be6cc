"""Coverage: does the candidate set contain the answer, and how much of the gold does it cover.

A question with no parsed candidate scores 0 (a format failure counts as a miss), except where a metric
says it is undefined (NaN, left out of the mean).
"""

from __future__ import annotations

import numpy as np

from .passk import pass_at_k_array
from .spec import Metric, PerQuestion, Skipped, metric
from .table import SampleTable

_NOT_EXECUTED = "no candidate was judged by execution (code tasks only)"


@metric("hit_at_k", "fraction", group="coverage", headline=True, paired=True, binary=True, checked=True)
def hit_at_k(table: SampleTable) -> np.ndarray:
    """hit@K: any candidate is correct (bok: any of the k samples); accuracy A of Puri et al. 2026."""
    return table.q_any(table.correct).astype(float)


@metric("top1_accuracy", "fraction", group="coverage", headline=True, paired=True, binary=True, checked=True)
def top1_accuracy(table: SampleTable) -> np.ndarray:
    """The most confident candidate is correct; ties, missing confidences: listed order (Puri et al. 2026)."""
    return table.q_any(table.correct & (table.conf_order == 0)).astype(float)


def _top_j(table: SampleTable, j: int) -> np.ndarray:
    return table.q_any(table.correct & (table.conf_order < j)).astype(float)


def hit_at_top(j: int) -> Metric:
    """A metric `hit_at_top{j}`: one of the j most confident candidates is correct."""

    @metric(f"hit_at_top{j}", "fraction", group="coverage", binary=True)
    def compute(table: SampleTable) -> np.ndarray:
        """hit@top-j: one of the j most confident candidates is correct (listed order without confidences)."""
        return _top_j(table, j)

    return compute


def pass_at_set_top(j: int) -> Metric:
    """A metric `pass_at_set_top{j}`: one of the j most confident programs passes (code tasks)."""

    @metric(f"pass_at_set_top{j}", "fraction", group="coverage", binary=True)
    def compute(table: SampleTable) -> np.ndarray | Skipped:
        """pass@set@j: one of the j most confident programs passes its tests (Puri et al. 2026)."""
        return _top_j(table, j) if table.executed.any() else Skipped(_NOT_EXECUTED)

    return compute


@metric("pass_at_set", "fraction", group="coverage", summary=True, binary=True)
def pass_at_set(table: SampleTable) -> np.ndarray | Skipped:
    """pass@set: any of the K programs passes its tests (Puri et al. 2026); hit@K for code tasks."""
    return table.q_any(table.correct).astype(float) if table.executed.any() else Skipped(_NOT_EXECUTED)


def pass_at(k: int, *, summary: bool = False) -> Metric:
    """A metric `pass_at_{k}`: the unbiased pass@k over a question's n bok samples (Chen et al. 2021).
    `summary`: a row of the end-of-run summary."""

    @metric(f"pass_at_{k}", "fraction", group="coverage", summary=summary)
    def compute(table: SampleTable) -> np.ndarray | Skipped:
        """pass@k of bok sampling from n samples, c correct: 1 - C(n-c,k)/C(n,k) (Chen et al. 2021);
        NaN for a question with fewer than k samples."""
        bok = table.mode == "bok"
        if not bok.any():
            return Skipped("pass@k estimates bok sampling; multi mode reports hit_at_k / pass_at_set")
        n = np.maximum(table.n_samples, table.n_cand)
        c = table.q_sum(table.correct).astype(np.int64)
        values = pass_at_k_array(n, c, k)
        return np.where(bok & (n >= k), values, np.nan)

    return compute


@metric("recall", "fraction", group="coverage", headline=True, paired=True, checked=True)
def recall(table: SampleTable) -> PerQuestion | Skipped:
    """Share of a question's distinct gold answers matched by a candidate (gold_index); NaN without gold."""
    if not np.any(table.n_gold):
        return Skipped("no record lists gold answers")
    matched = table.q_sum(table.first_gold_claim & (table.gold_index >= 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return PerQuestion(np.where(table.n_gold > 0, matched / table.n_gold, np.nan))


@metric("precision", "fraction", group="coverage", summary=True)
def precision(table: SampleTable) -> np.ndarray:
    """Share of candidates that are correct, one-to-one: a gold answer is credited to its first candidate
    only, as in AmbigQA's matching (Min et al. 2020); 0 for a question with no candidate."""
    n = table.n_cand
    return np.where(n > 0, table.q_sum(table.first_gold_claim) / np.maximum(n, 1), 0.0)


@metric("n_correct", "count", group="coverage")
def n_correct(table: SampleTable) -> np.ndarray:
    """Correct candidates per question (duplicates count each time); compare with sum_confidence."""
    return table.q_sum(table.correct)


hit_at_top2 = hit_at_top(2)
pass_at_set_top1 = pass_at_set_top(1)
pass_at_set_top2 = pass_at_set_top(2)
pass_at_1 = pass_at(1, summary=True)
pass_at_3 = pass_at(3, summary=True)
