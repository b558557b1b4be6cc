"""Array-level calibration scores: Brier, ECE with its reliability table, AUROC and the set-level Brier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal, overload

import numpy as np
from scipy.stats import rankdata

from ._validate import as_binary, as_confidence, confidence_pairs, same_length

ArrayLike = Sequence[float] | np.ndarray
Strategy = Literal["uniform", "quantile"]


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


def brier(confidence: ArrayLike, correct: ArrayLike) -> float:
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
def ece(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = ...,
    strategy: Strategy = ...,
    return_bins: Literal[False] = ...,
) -> float: ...


@overload
def ece(
    confidence: ArrayLike,
    correct: ArrayLike,
    n_bins: int = ...,
    strategy: Strategy = ...,
    *,
    return_bins: Literal[True],
) -> tuple[float, list[ReliabilityBin]]: ...


def ece(
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


def auroc(confidence: ArrayLike, correct: ArrayLike) -> float:
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


def set_brier(confidences: ArrayLike, correct: ArrayLike, reduce: Literal["mean", "sum"] = "mean") -> float:
    """Set-level Brier of one question's K candidates: sum or mean over i of (y_i - p_i)^2.

    Multi-RLCR (Puri et al. 2026; authors' code `ishapuri/multi_answer_rl`) uses both:
    - the training reward is 1 - set_brier(..., reduce="mean"), and is 0 instead when the format fails,
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
