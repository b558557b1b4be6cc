"""Input checks shared by the array-level functions: each failure is a ValueError naming the argument."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_1d(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """A 1-D float array of finite numbers."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a 1-D sequence of numbers ({exc})") from None
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D sequence of numbers, got an array of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got NaN or infinity")
    return arr


def as_confidence(values: Sequence[float] | np.ndarray, name: str = "confidence") -> np.ndarray:
    """A 1-D float array of probabilities in [0, 1]."""
    arr = as_1d(values, name)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        bad = arr[(arr < 0.0) | (arr > 1.0)][0]
        raise ValueError(f"{name}: expected values in [0, 1], got {float(bad)!r}")
    return arr


def as_binary(values: Sequence[float] | Sequence[bool] | np.ndarray, name: str = "correct") -> np.ndarray:
    """A 1-D float array of 0/1 outcomes (bools accepted)."""
    arr = as_1d(values, name)
    if arr.size and not np.all((arr == 0.0) | (arr == 1.0)):
        bad = arr[(arr != 0.0) & (arr != 1.0)][0]
        raise ValueError(f"{name}: expected 0/1 (or bool) outcomes, got {float(bad)!r}")
    return arr


def same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b}: expected the same length, got {a.size} and {b.size}")


def confidence_pairs(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[float] | Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (confidence in [0, 1], correct in {0, 1}) arrays of equal length."""
    conf = as_confidence(confidence, "confidence")
    y = as_binary(correct, "correct")
    same_length(conf, y, "confidence", "correct")
    return conf, y
