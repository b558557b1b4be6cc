"""Calibration: array-level scores, and the registered calibration metrics built on the same bins.

Array-level scores (plain arrays in, a float out; named `*_score` so that they never share a name with a
registered metric): Brier, ECE with its reliability table, AUROC and one question's set-level Brier.

Registered metrics (`@metric`, each function named as it is reported): per-answer (pooled over candidates) and
set-level (per question). mabench scores every candidate's own numbered confidence. (The authors' evaluation
scores ECE/AUROC against an unnumbered <confidence> tag; that is a deliberate deviation.) Candidates without a
confidence are left out and counted in `format_failures`, which `compute_metrics` keeps beside each number here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp
from scipy.stats import rankdata

from ._validate import as_binary, as_confidence, confidence_pairs, same_length
from .spec import Pooled, Skipped, metric, ratio
from .table import SampleTable

ArrayLike = Sequence[float] | np.ndarray
Strategy = Literal["uniform", "quantile"]
_NO_CONFIDENCE = "no candidate stated a confidence"
_N_BINS = 10
_SUM_TOLERANCE = 1e-9  # float sums such as 0.1 + 0.2 + 0.7 are not "above 1"


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: items with lower <= confidence < upper (the last bin also
    holds confidence == upper). `accuracy` and `mean_confidence` are None for an empty bin."""

    lower: float
    upper: float
    count: int
    mean_confidence: float | None
    accuracy: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def brier_score(confidence: ArrayLike, correct: ArrayLike) -> float:
    """Brier score, mean of (c - y)^2 over items (Brier 1950). Matches sklearn's `brier_score_loss`.

    `confidence` in [0, 1]; `correct` 0/1 or bool; equal lengths, at least one item.
    """
    conf, y = confidence_pairs(confidence, correct)
    if not conf.size:
        raise ValueError("confidence: expected at least one item")
    return float(np.mean((conf - y) ** 2))


def bin_edges(confidence: np.ndarray, n_bins: int = 10, strategy: Strategy = "uniform") -> np.ndarray:
    """n_bins + 1 edges. "uniform": `np.linspace(0, 1, n_bins + 1)` (as RLCR's evaluation).
    "quantile": `np.percentile(confidence, linspace(0, 100, n_bins + 1))` (as sklearn's
    `calibration_curve`); tied quantiles give empty bins rather than being merged."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins: expected a positive int, got {n_bins!r}")
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "quantile":
        return np.percentile(confidence, np.linspace(0.0, 100.0, n_bins + 1))
    raise ValueError(f"strategy: expected 'uniform' or 'quantile', got {strategy!r}")


def bin_index(confidence: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each confidence: bins are left-closed, [edge_b, edge_b+1), and the top edge falls into the
    last bin (RLCR: `np.digitize` on the inner edges). Edges are the floating-point values of `linspace`,
    so 0.3, 0.6 and 0.7 land one bin lower than floor(10 c) would put them (0.3 < 0.30000000000000004)."""
    return np.digitize(confidence, edges[1:-1], right=False)


def reliability_table(
    confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10, strategy: Strategy = "uniform"
) -> list[ReliabilityBin]:
    """Per-bin counts, mean confidence and accuracy: what a reliability diagram plots (empty bins kept)."""
    conf, y = confidence_pairs(confidence, correct)
    edges = bin_edges(conf, n_bins, strategy) if conf.size else bin_edges(conf, n_bins, "uniform")
    return _table(conf, y, edges)


def _table(conf: np.ndarray, y: np.ndarray, edges: np.ndarray) -> list[ReliabilityBin]:
    n_bins = edges.size - 1
    idx = bin_index(conf, edges)
    count = np.bincount(idx, minlength=n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y, minlength=n_bins)
    return [
        ReliabilityBin(
            lower=float(edges[b]),
            upper=float(edges[b + 1]),
            count=int(count[b]),
            mean_confidence=float(sum_conf[b] / count[b]) if count[b] else None,
            accuracy=float(sum_y[b] / count[b]) if count[b] else None,
        )
        for b in range(n_bins)
    ]


@overload
def ece_score(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = ...,
    strategy: Strategy = ...,
    return_bins: Literal[False] = ...,
) -> float: ...


@overload
def ece_score(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = ...,
    strategy: Strategy = ...,
    *,
    return_bins: Literal[True],
) -> tuple[float, list[ReliabilityBin]]: ...


def ece_score(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = 10,
    strategy: Strategy = "uniform",
    return_bins: bool = False,
) -> float | tuple[float, list[ReliabilityBin]]:
    """Expected calibration error, sum_b (n_b / N) |acc_b - conf_b| (Naeini et al. 2015; Guo et al. 2017).

    Bin rule (RLCR's evaluation, Damani et al. 2025): edges from `bin_edges` ("uniform": linspace(0, 1,
    n_bins + 1); "quantile": percentiles of the confidences), bins left-closed [lo, hi), the top edge in
    the last bin; see `bin_index`. sklearn's `calibration_curve` closes bins on the right instead, so the
    two differ only for confidences exactly on an inner edge. With `return_bins=True` also returns the
    per-bin table (`ReliabilityBin`) for a reliability diagram.
    """
    conf, y = confidence_pairs(confidence, correct)
    if not conf.size:
        raise ValueError("confidence: expected at least one item")
    bins = _table(conf, y, bin_edges(conf, n_bins, strategy))
    value = float(
        sum(b.count / conf.size * abs(b.accuracy - b.mean_confidence) for b in bins if b.count)  # type: ignore[operator]
    )
    return (value, bins) if return_bins else value


def auroc_score(confidence: ArrayLike, correct: ArrayLike) -> float:
    """Area under the ROC curve of confidence as a score for correctness: the probability that a correct
    item outranks an incorrect one, ties counting one half (Mann-Whitney U / (n_pos n_neg); Hanley & McNeil
    1982). Equals sklearn's `roc_auc_score`; NaN when only one class (or no item) is present.
    """
    conf, y = confidence_pairs(confidence, correct)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(conf)  # average ranks for ties
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def set_brier_score(confidences: ArrayLike, correct: ArrayLike, reduce: Literal["mean", "sum"] = "mean") -> float:
    """Set-level Brier of one question's K candidates: sum or mean over i of (y_i - p_i)^2.

    Multi-RLCR (Puri et al. 2026; authors' code `ishapuri/multi_answer_rl`) uses both:
    - the training reward is 1 - set_brier_score(..., reduce="mean"), and is 0 instead when the format fails,
      the answers are not distinct, or sum(p) > 1;
    - the evaluation reports the SUM over the K candidates, averaged over questions (reduce="sum").
    """
    conf = as_confidence(confidences, "confidences")
    y = as_binary(correct, "correct")
    same_length(conf, y, "confidences", "correct")
    if not conf.size:
        raise ValueError("confidences: expected at least one candidate")
    sq = (y - conf) ** 2
    if reduce == "mean":
        return float(sq.mean())
    if reduce == "sum":
        return float(sq.sum())
    raise ValueError(f"reduce: expected 'mean' or 'sum', got {reduce!r}")

# ---------------------------------------------------------------- registered metrics


def _ece_stats(table_q: np.ndarray, conf: np.ndarray, y: np.ndarray, n_questions: int) -> np.ndarray:
    """Per question: [items, sum over items in bin b of (y - c) for each of the 10 RLCR bins]."""
    idx = bin_index(conf, bin_edges(conf, _N_BINS, "uniform"))
    stats = np.zeros((n_questions, _N_BINS + 1))
    np.add.at(stats, (table_q, 0), 1.0)
    np.add.at(stats, (table_q, idx + 1), y - conf)
    return stats


def _ece_combine(sums: np.ndarray) -> np.ndarray:
    """ECE = sum_b |sum_{i in b} (y_i - c_i)| / N, the same as sum_b (n_b/N) |acc_b - conf_b|."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(sums[..., 1:]).sum(axis=-1) / np.where(sums[..., 0] > 0, sums[..., 0], np.nan)


def _ece_pooled(q: np.ndarray, conf: np.ndarray, y: np.ndarray, n_questions: int) -> Pooled:
    bins = [b.as_dict() for b in reliability_table(conf, y, _N_BINS, "uniform")]
    return Pooled(_ece_stats(q, conf, y, n_questions), _ece_combine, int(conf.size), {"bins": bins})


def _pooled_pairs(table: SampleTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = table.has_conf
    return table.q[keep], table.conf[keep], table.correct[keep].astype(float)


@metric(
    "brier", "score", higher_is_better=False, per_question=False, group="calibration", headline=True,
    checked=True,
)
def brier(table: SampleTable) -> Pooled | Skipped:
    """Per-answer Brier score, mean of (c - y)^2 pooled over candidates with a confidence (Brier 1950)."""
    q, conf, y = _pooled_pairs(table)
    if not conf.size:
        return Skipped(_NO_CONFIDENCE)
    n = table.n_questions
    return ratio(np.bincount(q, (conf - y) ** 2, n), np.bincount(q, minlength=n), n_items=int(conf.size))


@metric(
    "ece", "score", higher_is_better=False, per_question=False, group="calibration", headline=True,
    checked=True,
)
def ece(table: SampleTable) -> Pooled | Skipped:
    """Per-answer 10-bin ECE as in RLCR: edges linspace(0, 1, 11), left-closed, 1.0 in the last bin
    (Damani et al. 2025); `bins` holds the reliability-diagram table."""
    q, conf, y = _pooled_pairs(table)
    return _ece_pooled(q, conf, y, table.n_questions) if conf.size else Skipped(_NO_CONFIDENCE)


def _auroc_combine(sums: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney AUROC from per-level positive and negative counts (levels ascending)."""
    half = sums.shape[-1] // 2
    pos, neg = sums[..., :half], sums[..., half:]
    below = np.cumsum(neg, axis=-1) - neg
    u = np.sum(pos * (below + 0.5 * neg), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return u / (pos.sum(axis=-1) * neg.sum(axis=-1))


@metric("auroc", "score", per_question=False, group="calibration", summary=True)
def auroc(table: SampleTable) -> Pooled | Skipped:
    """Per-answer AUROC of confidence for correctness, ties counting 1/2 (Hanley & McNeil 1982); undefined
    when every pooled candidate is correct, or every one is wrong."""
    q, conf, y = _pooled_pairs(table)
    if not conf.size:
        return Skipped(_NO_CONFIDENCE)
    if y.min() == y.max():
        return Skipped("undefined: only one outcome class among the candidates with a confidence")
    levels, level = np.unique(conf, return_inverse=True)
    col = level + np.where(y == 1, 0, levels.size)
    stats = sp.csr_matrix((np.ones(conf.size), (q, col)), shape=(table.n_questions, 2 * levels.size))
    return Pooled(stats, _auroc_combine, int(conf.size))


def _set_conf(table: SampleTable) -> tuple[np.ndarray, np.ndarray]:
    """(sum of confidences, sum of squared errors) per question; NaN unless every candidate has one."""
    complete = table.conf_complete
    conf = np.nan_to_num(table.conf)
    sq = (table.correct - conf) ** 2
    return (
        np.where(complete, table.q_sum(conf), np.nan),
        np.where(complete, table.q_sum(sq), np.nan),
    )


def _needs_confidence(table: SampleTable) -> Skipped | None:
    return None if table.conf_complete.any() else Skipped("no question has a confidence for every candidate")


@metric("set_brier", "score", higher_is_better=False, group="calibration", summary=True)
def set_brier(table: SampleTable) -> np.ndarray | Skipped:
    """Set Brier as the authors evaluate it: sum over the K candidates of (y - p)^2, averaged over
    questions with every confidence stated (Puri et al. 2026)."""
    return _needs_confidence(table) or _set_conf(table)[1]


@metric("set_brier_reward", "score", group="calibration")
def set_brier_reward(table: SampleTable) -> np.ndarray | Skipped:
    """Multi-RLCR's set-Brier reward B: 1 - mean (y - p)^2, or 0 when the format fails, the answers repeat
    (strip + lowercase) or sum p > 1 (+1e-9 for float error) (Puri et al. 2026, ishapuri/multi_answer_rl)."""
    if (skip := _needs_confidence(table)) is not None:
        return skip
    total, sq = _set_conf(table)
    k = np.maximum(table.n_cand, 1)
    over = table.flags["sum_exceeds_one"] | (total > 1.0 + _SUM_TOLERANCE)
    gated = ~table.format_ok | table.flags["duplicate_answers"] | over
    value = np.where(gated, 0.0, 1.0 - sq / k)
    return np.where(table.conf_complete | ~table.format_ok, value, np.nan)


@metric("sum_confidence", "probability", higher_is_better=None, group="calibration")
def sum_confidence(table: SampleTable) -> np.ndarray | Skipped:
    """Mean total confidence of the set, sum_i p_i: the expected number of correct candidates it claims."""
    return _needs_confidence(table) or _set_conf(table)[0]


@metric("count_calibration_gap", "count", higher_is_better=None, group="calibration")
def count_calibration_gap(table: SampleTable) -> np.ndarray | Skipped:
    """Expected-count calibration: mean of (sum_i p_i - number correct); 0 calibrated, > 0 overconfident."""
    return _needs_confidence(table) or _set_conf(table)[0] - table.q_sum(table.correct)


@metric("coverage_calibration_gap", "probability", higher_is_better=None, group="calibration")
def coverage_calibration_gap(table: SampleTable) -> np.ndarray | Skipped:
    """Coverage calibration: mean of (sum_i p_i - hit@K); sum_i p_i is the set's claimed chance to contain
    a correct answer. 0 is calibrated, > 0 overconfident."""
    return _needs_confidence(table) or _set_conf(table)[0] - table.q_any(table.correct)


@metric("coverage_ece", "score", higher_is_better=False, per_question=False, group="calibration")
def coverage_ece(table: SampleTable) -> Pooled | Skipped:
    """10-bin ECE of min(1, sum_i p_i) against hit@K over questions (RLCR bins); `bins` for a diagram."""
    if (skip := _needs_confidence(table)) is not None:
        return skip
    keep = np.flatnonzero(table.conf_complete)
    conf = np.minimum(1.0, _set_conf(table)[0][keep])
    hit = table.q_any(table.correct)[keep].astype(float)
    return _ece_pooled(keep, conf, hit, table.n_questions)
