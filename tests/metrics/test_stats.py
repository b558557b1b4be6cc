"""Uncertainty: standard errors, question-level bootstrap CIs, and paired comparisons."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mabench.metrics import brier_score, compute_metrics, mcnemar_exact, paired_compare
from mabench.metrics import metric_by_name as by_name

from .records import NO_EMBEDDING, make_record


def _records(seed: int, n: int = 40):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        conf = rng.dirichlet([1, 1, 1, 1])[:3].round(2)
        ok = rng.uniform(size=3) < conf
        out.append(make_record(f"q{i:03d}", ["a", "b", "c"], ok.tolist(), conf.tolist()))
    return out


def test_mean_metrics_report_mean_and_standard_error():
    recs = _records(0)
    entry = compute_metrics(recs, [by_name("hit_at_k")], n_resamples=0)["hit_at_k"]
    hits = np.array([any(j.correct for j in r.judgements) for r in recs], dtype=float)
    assert entry["value"] == pytest.approx(hits.mean())
    assert entry["stderr"] == pytest.approx(hits.std(ddof=1) / np.sqrt(hits.size))
    assert entry["n"] == 40


def test_bootstrap_ci_of_a_mean_equals_scipy_bootstrap_of_the_per_question_values():
    recs = _records(1)
    entry = compute_metrics(recs, [by_name("set_brier")], n_resamples=500, seed=7)["set_brier"]
    values = np.array(
        [entry["per_question"][r.question_id] for r in sorted(recs, key=lambda r: r.question_id)]
    )
    ref = stats.bootstrap(
        (values,), np.mean, n_resamples=500, method="percentile", rng=np.random.default_rng(7)
    )
    assert entry["ci_low"] == pytest.approx(ref.confidence_interval.low, abs=1e-12)
    assert entry["ci_high"] == pytest.approx(ref.confidence_interval.high, abs=1e-12)


def test_pooled_metrics_are_bootstrapped_by_resampling_whole_questions():
    recs = sorted(_records(2), key=lambda r: r.question_id)
    entry = compute_metrics(recs, [by_name("brier")], n_resamples=300, seed=3)["brier"]
    # brute force: the same question resamples scipy draws, the pooled Brier recomputed on each
    idx = np.random.default_rng(3).integers(0, len(recs), (300, len(recs)))
    per_q = [
        ([c.confidence for c in r.answer_set.candidates], [j.correct for j in r.judgements]) for r in recs
    ]
    dist = [brier_score(sum((per_q[i][0] for i in row), []), sum((per_q[i][1] for i in row), [])) for row in idx]
    assert entry["ci_low"] == pytest.approx(np.percentile(dist, 2.5), abs=1e-12)
    assert entry["ci_high"] == pytest.approx(np.percentile(dist, 97.5), abs=1e-12)
    assert entry["stderr"] == pytest.approx(np.std(dist, ddof=1), abs=1e-12)
    assert entry["ci_low"] <= entry["value"] <= entry["ci_high"]


def test_bootstrap_is_reproducible_with_a_fixed_seed():
    recs = _records(3)
    a = compute_metrics(recs, NO_EMBEDDING, n_resamples=100, seed=5)
    b = compute_metrics(recs, NO_EMBEDDING, n_resamples=100, seed=5)
    assert a == b


records_strategy = st.lists(
    st.tuples(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "The A", "c d"]), st.booleans(), st.floats(0, 1)), max_size=4
        ),
        st.integers(0, 200),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(records_strategy, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_record_order(spec, rnd):
    recs = [
        make_record(
            f"q{i}",
            [a for a, _, _ in cands],
            [ok for _, ok, _ in cands],
            [c for _, _, c in cands],
            completion_tokens=tok,
        )  # fmt: skip
        for i, (cands, tok) in enumerate(spec)
    ]
    shuffled = list(recs)
    rnd.shuffle(shuffled)
    assert compute_metrics(recs, NO_EMBEDDING, n_resamples=30) == compute_metrics(
        shuffled, NO_EMBEDDING, n_resamples=30
    )


@settings(max_examples=25, deadline=None)
@given(records_strategy)
def test_fractions_stay_in_the_unit_interval(spec):
    recs = [
        make_record(f"q{i}", [a for a, _, _ in cands], [ok for _, ok, _ in cands], [c for _, _, c in cands])
        for i, (cands, _) in enumerate(spec)
    ]
    for name, entry in compute_metrics(recs, NO_EMBEDDING, n_resamples=30).items():
        if entry["unit"] == "fraction" and entry["value"] is not None:
            assert 0.0 <= entry["value"] <= 1.0, name
            assert entry["ci_low"] is None or 0.0 <= entry["ci_low"] <= entry["ci_high"] <= 1.0, name


def test_mcnemar_exact_is_the_binomial_test_on_discordant_pairs():
    a = np.array([1] * 8 + [0] * 2 + [1] * 5)
    b = np.array([0] * 8 + [1] * 2 + [1] * 5)
    p, a_only, b_only = mcnemar_exact(a, b)
    assert (a_only, b_only) == (8, 2)
    assert p == pytest.approx(2 * (1 + 10 + 45) / 1024)  # two-sided, P(X <= 2 | n=10, p=1/2) doubled


def test_paired_compare_aligns_by_question_id_and_reports_the_difference():
    a = {"q1": 1, "q2": 1, "q3": 0, "only_a": 1}
    b = {"q3": 0, "q2": 0, "q1": 0, "only_b": 0}
    out = paired_compare(a, b, binary=True)
    assert (out["n"], out["n_only_a"], out["n_only_b"]) == (3, 1, 1)
    assert out["diff"] == pytest.approx(2 / 3)
    assert out["test"] == "mcnemar_exact" and out["p_value"] == pytest.approx(0.5)
    assert out["ci_low"] <= out["diff"] <= out["ci_high"]


def test_paired_permutation_test_is_exact_for_small_samples():
    out = paired_compare([1.0, 2.0, 3.0], [0.0, 0.0, 0.0], binary=False)
    assert out["test"] == "paired_permutation"
    assert out["p_value"] == pytest.approx(
        2 / 8
    )  # only all-positive and all-negative sign flips are as extreme


def test_paired_compare_detects_a_real_shift_and_not_a_null_one():
    rng = random.Random(0)
    base = [rng.random() for _ in range(200)]
    shifted = [v + 0.1 + rng.gauss(0, 0.05) for v in base]
    assert paired_compare(shifted, base, binary=False)["p_value"] < 0.001
    assert paired_compare(base, list(base), binary=False)["p_value"] == 1.0


def test_paired_compare_rejects_bad_input():
    with pytest.raises(ValueError, match="values_a and values_b: expected the same length"):
        paired_compare([1, 0], [1], binary=True)
    with pytest.raises(ValueError, match="values_a: expected 0/1 outcomes"):
        paired_compare([0.5, 1], [1, 1], binary=True)
    with pytest.raises(ValueError, match="both mappings"):
        paired_compare({"q": 1}, [1], binary=True)


def test_paired_compare_drops_missing_values():
    out = paired_compare(
        {"q1": 1.0, "q2": None, "q3": 2.0}, {"q1": 0.0, "q2": 1.0, "q3": float("nan")}, binary=False
    )
    assert out["n"] == 1 and out["diff"] == 1.0
