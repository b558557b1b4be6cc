"""Registered calibration metrics: per-answer (pooled over candidates) and set-level (per question).

mabench scores every candidate's own numbered confidence. (The authors' evaluation scores ECE/AUROC
against an unnumbered <confidence> tag; that is a deliberate deviation.) Candidates without a confidence
are left out and counted in `format_failures`, which `compute_metrics` keeps beside each number here.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .calibration import bin_edges, bin_index, reliability_table
from .registry import Pooled, Skipped, metric, ratio
from .table import SampleTable

_NO_CONFIDENCE = "no candidate stated a confidence"
_N_BINS = 10
_SUM_TOLERANCE = 1e-9  # float sums such as 0.1 + 0.2 + 0.7 are not "above 1"


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
def brier_metric(table: SampleTable) -> Pooled | Skipped:
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
def ece_metric(table: SampleTable) -> Pooled | Skipped:
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
def auroc_metric(table: SampleTable) -> Pooled | Skipped:
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
def set_brier_metric(table: SampleTable) -> np.ndarray | Skipped:
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
