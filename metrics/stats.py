"""Uncertainty for headline metrics and paired comparisons between two modes or runs.

- Standard error of a mean: sample std (ddof=1) / sqrt(n).
- Bootstrap CIs: `scipy.stats.bootstrap`, percentile method, resampling question ids with a fixed seed.
  Every metric is bootstrapped from the same resamples: each resample is a vector of per-question
  multiplicities w, and a metric's resampled value is combine(w @ stats) (see `spec.Pooled`).
- Paired tests: exact McNemar (binomial test on discordant pairs; McNemar 1947) for 0/1 outcomes, a
  sign-flip permutation test of the mean difference for continuous ones, and a paired-bootstrap CI.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats

_MAX_CELLS = 10_000_000  # resamples x questions per bootstrap batch (about 80 MB per int64 array)


@dataclass(frozen=True)
class Head:
    """One bootstrapped metric: per-question statistics and the function of their weighted sums."""

    stats: np.ndarray | sp.csr_matrix  # (Q, s)
    combine: Callable[[np.ndarray], np.ndarray]  # (b, s) -> (b,)


@dataclass(frozen=True)
class Interval:
    low: float | None
    high: float | None
    stderr: float | None  # the bootstrap standard error


def mean_stderr(values: np.ndarray) -> tuple[float | None, float | None, int]:
    """(mean, standard error, n) over the non-NaN values; None where undefined."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    n = int(v.size)
    mean = float(v.mean()) if n else None
    stderr = float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else None
    return mean, stderr, n


def bootstrap_heads(
    heads: Sequence[Head], n_questions: int, *, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> list[Interval]:
    """Percentile bootstrap intervals for many metrics from one set of question resamples."""
    none = [Interval(None, None, None)] * len(heads)
    if not heads or n_questions < 2 or n_resamples < 1:
        return none
    columns, slots = _shared_columns(heads)
    x = np.column_stack(columns) if columns else np.zeros((n_questions, 0))

    def statistic(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.atleast_2d(idx)
        w = np.empty(idx.shape)
        for r, row in enumerate(idx):
            w[r] = np.bincount(row, minlength=n_questions)  # multiplicity of each question
        sums = w @ x
        out = np.empty((len(heads), idx.shape[0]))
        for m, (h, cols) in enumerate(zip(heads, slots, strict=True)):
            out[m] = h.combine(sums[:, cols] if cols is not None else np.asarray((h.stats.T @ w.T).T))
        return out

    batch = max(1, min(n_resamples, _MAX_CELLS // n_questions))
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(
            (np.arange(n_questions),),
            statistic,
            n_resamples=n_resamples,
            batch=batch,
            vectorized=True,
            method="percentile",
            confidence_level=level,
            rng=np.random.default_rng(seed),
        )
    dist = np.atleast_2d(res.bootstrap_distribution)
    low = np.atleast_1d(res.confidence_interval.low)
    high = np.atleast_1d(res.confidence_interval.high)
    out = []
    for m in range(len(heads)):
        row = dist[m]
        finite = row[np.isfinite(row)]
        if finite.size < 2:
            out.append(Interval(None, None, None))
            continue
        lo, hi = float(low[m]), float(high[m])
        if not (np.isfinite(lo) and np.isfinite(hi)):  # some resamples undefined: percentiles of the rest
            alpha = (1 - level) / 2
            lo, hi = (float(v) for v in np.quantile(finite, [alpha, 1 - alpha]))
        out.append(Interval(lo, hi, float(finite.std(ddof=1))))
    return out


def _shared_columns(heads: Sequence[Head]) -> tuple[list[np.ndarray], list[list[int] | None]]:
    """Dense statistic columns, each stored once (many metrics share a denominator or even a numerator),
    and for each head the indices of its columns (None for a sparse head)."""
    columns: list[np.ndarray] = []
    seen: dict[int, list[int]] = {}
    slots: list[list[int] | None] = []
    for h in heads:
        if sp.issparse(h.stats):
            slots.append(None)
            continue
        stats_ = np.asarray(h.stats, dtype=float)
        cols = []
        for j in range(stats_.shape[1]):
            col = np.ascontiguousarray(stats_[:, j])
            key = hash(col.tobytes())
            match = next((i for i in seen.get(key, []) if np.array_equal(columns[i], col)), None)
            if match is None:
                match = len(columns)
                columns.append(col)
                seen.setdefault(key, []).append(match)
            cols.append(match)
        slots.append(cols)
    return columns, slots


def _align(
    values_a: Mapping[str, float | None] | Sequence[float | None] | np.ndarray,
    values_b: Mapping[str, float | None] | Sequence[float | None] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Paired arrays (by question id for mappings, by position for sequences), pairs with a missing or NaN
    value dropped; also how many ids only one side has."""
    if isinstance(values_a, Mapping) != isinstance(values_b, Mapping):
        raise ValueError(
            "values_a and values_b: expected both mappings (question id -> value) or both sequences"
        )
    if isinstance(values_a, Mapping) and isinstance(values_b, Mapping):
        common = sorted(set(values_a) & set(values_b))
        only_a, only_b = len(set(values_a) - set(values_b)), len(set(values_b) - set(values_a))
        pairs = [(values_a[k], values_b[k]) for k in common]
    else:
        if len(values_a) != len(values_b):
            raise ValueError(
                f"values_a and values_b: expected the same length, got {len(values_a)} and {len(values_b)}"
            )
        only_a = only_b = 0
        pairs = list(zip(values_a, values_b, strict=True))
    arr = np.array([(np.nan if a is None else a, np.nan if b is None else b) for a, b in pairs], dtype=float)
    arr = arr.reshape(-1, 2)
    keep = ~np.isnan(arr).any(axis=1)
    return arr[keep, 0], arr[keep, 1], only_a, only_b


def mcnemar_exact(a: np.ndarray, b: np.ndarray) -> tuple[float, int, int]:
    """Two-sided exact McNemar p-value for paired 0/1 outcomes: binomial test of the a-only successes
    among the discordant pairs at p = 1/2 (McNemar 1947; Edwards 1948). Returns (p, a_only, b_only)."""
    a_only = int(np.sum((a == 1) & (b == 0)))
    b_only = int(np.sum((a == 0) & (b == 1)))
    if a_only + b_only == 0:
        return 1.0, 0, 0
    return float(stats.binomtest(a_only, a_only + b_only, 0.5).pvalue), a_only, b_only


def paired_compare(
    values_a: Mapping[str, float | None] | Sequence[float | None] | np.ndarray,
    values_b: Mapping[str, float | None] | Sequence[float | None] | np.ndarray,
    binary: bool,
    *,
    n_resamples: int = 9999,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """Compare two modes or runs on the same questions; the difference is a - b.

    Mappings are aligned by question id (ids on one side only are counted, not used); sequences by
    position. Pairs where either value is None or NaN are dropped. `binary=True`: outcomes must be 0/1 and
    the test is exact McNemar; otherwise a paired permutation test (random sign flips of the per-question
    differences; `scipy.stats.permutation_test`, permutation_type="samples", exact when 2^n <= n_resamples).
    The CI is a paired percentile bootstrap (`scipy.stats.bootstrap` of the mean difference, fixed seed).
    """
    a, b, only_a, only_b = _align(values_a, values_b)
    if binary:
        for name, arr in (("values_a", a), ("values_b", b)):
            if not np.all((arr == 0) | (arr == 1)):
                raise ValueError(f"{name}: expected 0/1 outcomes when binary=True")
    n = int(a.size)
    out: dict[str, Any] = {
        "n": n,
        "n_only_a": only_a,
        "n_only_b": only_b,
        "mean_a": float(a.mean()) if n else None,
        "mean_b": float(b.mean()) if n else None,
        "diff": float((a - b).mean()) if n else None,
        "ci_low": None,
        "ci_high": None,
        "p_value": None,
        "test": "mcnemar_exact" if binary else "paired_permutation",
    }
    if n == 0:
        return out
    rng = np.random.default_rng(seed)
    if binary:
        out["p_value"], out["a_only"], out["b_only"] = mcnemar_exact(a, b)
    elif n < 2 or np.all(a == b):
        out["p_value"] = 1.0  # one pair: its sign flip is as extreme as itself
    else:
        res = stats.permutation_test(
            (a, b),
            lambda x, y, axis: np.mean(x - y, axis=axis),
            permutation_type="samples",
            n_resamples=n_resamples,
            vectorized=True,
            rng=rng,
        )
        out["p_value"] = float(res.pvalue)
    diff = a - b
    if n >= 2 and np.ptp(diff) > 0:
        batch = max(1, min(n_resamples, _MAX_CELLS // n))
        ci = stats.bootstrap(
            (diff,),
            np.mean,
            n_resamples=n_resamples,
            batch=batch,
            method="percentile",
            confidence_level=level,
            rng=rng,
        ).confidence_interval
        out["ci_low"], out["ci_high"] = float(ci.low), float(ci.high)
    elif n >= 1:
        out["ci_low"] = out["ci_high"] = float(diff.mean())
    return out
