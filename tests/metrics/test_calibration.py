"""Array-level calibration scores, cross-checked against scikit-learn and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mabench.metrics import auroc_score, bin_index, brier_score, ece_score, reliability_table, set_brier_score

sk_metrics = pytest.importorskip("sklearn.metrics")
sk_calibration = pytest.importorskip("sklearn.calibration")

pairs = st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=60)


def _random(seed: int, n: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0, 1, n)
    return conf, (rng.uniform(0, 1, n) < conf).astype(int)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brier_matches_sklearn(seed):
    conf, y = _random(seed)
    assert brier_score(conf, y) == pytest.approx(sk_metrics.brier_score_loss(y, conf), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auroc_matches_sklearn(seed):
    conf, y = _random(seed)
    assert auroc_score(conf, y) == pytest.approx(sk_metrics.roc_auc_score(y, conf), abs=1e-12)


def test_auroc_counts_ties_as_one_half_like_sklearn():
    conf = [0.1, 0.5, 0.5, 0.5, 0.9, 0.2]
    y = [0, 1, 0, 1, 1, 0]
    assert auroc_score(conf, y) == pytest.approx(sk_metrics.roc_auc_score(y, conf))
    assert auroc_score([0.5, 0.5], [1, 0]) == 0.5


def test_auroc_is_nan_with_one_class():
    assert np.isnan(auroc_score([0.2, 0.9], [1, 1]))
    assert np.isnan(auroc_score([0.2, 0.9], [0, 0]))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_table_matches_sklearn_calibration_curve(strategy):
    conf, y = _random(3, n=1000)  # continuous values: none sits exactly on an edge
    prob_true, prob_pred = sk_calibration.calibration_curve(y, conf, n_bins=10, strategy=strategy)
    bins = [b for b in reliability_table(conf, y, 10, strategy) if b.count]
    np.testing.assert_allclose([b.accuracy for b in bins], prob_true, atol=1e-12)
    np.testing.assert_allclose([b.mean_confidence for b in bins], prob_pred, atol=1e-12)


def test_ece_equals_weighted_gap_of_the_sklearn_bins():
    conf, y = _random(4, n=1000)
    prob_true, prob_pred = sk_calibration.calibration_curve(y, conf, n_bins=10)
    counts = np.bincount(np.minimum((conf * 10).astype(int), 9), minlength=10)
    counts = counts[counts > 0]
    assert ece_score(conf, y) == pytest.approx(
        np.sum(counts / conf.size * np.abs(prob_true - prob_pred)), abs=1e-12
    )


def test_ece_hand_computed():
    # bins: [0.0,0.1): 0.05 (y=0); [0.8,0.9): 0.85, 0.85 (y=1, 0); [0.9,1.0]: 0.95, 1.0 (y=1, 1)
    conf = [0.05, 0.85, 0.85, 0.95, 1.0]
    y = [0, 1, 0, 1, 1]
    expected = (1 / 5) * 0.05 + (2 / 5) * abs(0.5 - 0.85) + (2 / 5) * abs(1.0 - 0.975)
    assert ece_score(conf, y) == pytest.approx(expected)


def test_bins_are_left_closed_with_float_edges_and_one_in_the_last_bin():
    edges = np.linspace(0, 1, 11)
    got = bin_index(np.array([0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.99, 1.0]), edges)
    # 0.1 and 0.2 sit on their edges and go up; 0.3, 0.6 and 0.7 fall below linspace's float edges
    assert got.tolist() == [0, 1, 2, 2, 5, 6, 9, 9]


def test_ece_returns_the_reliability_table_on_request():
    value, bins = ece_score([0.05, 0.95], [0, 1], return_bins=True)
    assert value == pytest.approx(0.05)
    assert len(bins) == 10
    assert (bins[0].count, bins[0].accuracy, bins[0].mean_confidence) == (1, 0.0, 0.05)
    assert (bins[5].count, bins[5].accuracy) == (0, None)
    assert (bins[9].lower, bins[9].upper) == (pytest.approx(0.9), 1.0)


def test_quantile_ece_uses_equal_mass_bins():
    conf = np.array([0.1, 0.2, 0.3, 0.4])
    y = np.array([0, 0, 1, 1])
    value, bins = ece_score(conf, y, n_bins=2, strategy="quantile", return_bins=True)
    assert [b.count for b in bins] == [2, 2]
    assert value == pytest.approx(0.5 * 0.15 + 0.5 * 0.65)


def test_set_brier_sum_is_the_evaluation_form_and_mean_the_reward_form():
    conf, y = [0.6, 0.3, 0.1], [1, 0, 0]
    squared = 0.16 + 0.09 + 0.01
    assert set_brier_score(conf, y, reduce="sum") == pytest.approx(squared)
    assert set_brier_score(conf, y, reduce="mean") == pytest.approx(squared / 3)
    assert set_brier_score(conf, y) == pytest.approx(squared / 3)  # the default is the mean


@settings(deadline=None)
@given(pairs)
def test_scores_are_bounded(items):
    conf = [c for c, _ in items]
    y = [int(ok) for _, ok in items]
    assert 0.0 <= brier_score(conf, y) <= 1.0
    assert 0.0 <= ece_score(conf, y) <= 1.0
    a = auroc_score(conf, y)
    assert np.isnan(a) or 0.0 <= a <= 1.0
    assert 0.0 <= set_brier_score(conf, y, reduce="sum") <= len(items)


@settings(deadline=None)
@given(pairs, st.randoms(use_true_random=False))
def test_pooled_scores_ignore_item_order(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    for fn in (brier_score, ece_score, auroc_score):
        a = fn([c for c, _ in items], [int(o) for _, o in items])
        b = fn([c for c, _ in shuffled], [int(o) for _, o in shuffled])
        assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, abs=1e-12)


@pytest.mark.parametrize("fn", [brier_score, ece_score, auroc_score, set_brier_score])
def test_mismatched_lengths_are_rejected(fn):
    with pytest.raises(ValueError, match="expected the same length"):
        fn([0.5, 0.5], [1])


@pytest.mark.parametrize("fn", [brier_score, ece_score, auroc_score])
def test_confidence_outside_unit_interval_is_rejected(fn):
    with pytest.raises(ValueError, match=r"confidence: expected values in \[0, 1\], got 1.5"):
        fn([0.5, 1.5], [1, 0])


def test_non_binary_outcomes_and_bad_options_are_rejected():
    with pytest.raises(ValueError, match="correct: expected 0/1"):
        brier_score([0.5], [0.5])
    with pytest.raises(ValueError, match="strategy: expected 'uniform' or 'quantile'"):
        ece_score([0.5], [1], strategy="width")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reduce: expected 'mean' or 'sum'"):
        set_brier_score([0.5], [1], reduce="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence: expected finite numbers"):
        brier_score([float("nan")], [1])
    with pytest.raises(ValueError, match="at least one item"):
        brier_score([], [])
