"""Equal-budget comparison: bok's accuracy-versus-tokens curve and the multi mode placed on it."""

from __future__ import annotations

import pytest

from mabench.metrics import equal_budget, pass_at_k

from .records import make_record


def _bok():
    return [
        make_record(
            "q1",
            ["a", "b", "c"],
            [False, True, False],
            mode="bok",
            sample_tokens=[10, 20, 30],
            prompt_tokens=5,
        ),
        make_record(
            "q2",
            ["a", "b", "c"],
            [True, False, False],
            mode="bok",
            sample_tokens=[30, 20, 10],
            prompt_tokens=5,
        ),
    ]


def _multi(tokens: int):
    return [
        make_record("q1", ["a", "b", "c"], [True, False, False], completion_tokens=tokens),
        make_record("q2", ["a", "b", "c"], [False, False, False], completion_tokens=tokens),
        make_record("q9", ["a"], [True], completion_tokens=tokens),  # not in the bok run: left out
    ]


def test_bok_curve_is_cumulative_in_sample_order():
    out = equal_budget(_bok(), _multi(35))
    assert out["n_questions"] == 2
    assert out["bok"]["k"] == [1, 2, 3]
    assert out["bok"]["tokens"] == [20.0, 40.0, 60.0]  # (10+30)/2, (30+50)/2, (60+60)/2
    assert out["bok"]["hit_at_k"] == [0.5, 1.0, 1.0]
    assert out["bok"]["pass_at_k"] == pytest.approx([pass_at_k(3, 1, k) for k in (1, 2, 3)])


def test_multi_is_read_off_the_curve_at_its_own_cost():
    out = equal_budget(_bok(), _multi(30))
    assert out["multi"] == {"tokens": 30.0, "hit_at_k": 0.5, "n_candidates": 3.0}
    assert out["position"] == "within"
    assert out["bok_at_multi_cost"]["k_equivalent"] == pytest.approx(1.5)
    assert out["bok_at_multi_cost"]["hit_at_k"] == pytest.approx(0.75)
    assert out["advantage"]["hit_at_k"] == pytest.approx(0.5 - 0.75)


def test_total_budget_counts_the_prompt_once():
    out = equal_budget(_bok(), _multi(30), budget="total")
    assert out["bok"]["tokens"] == [25.0, 45.0, 65.0]
    assert out["multi"]["tokens"] == 40.0  # make_record's prompt is 10 tokens


def test_costs_outside_the_curve_are_not_extrapolated():
    assert equal_budget(_bok(), _multi(5))["position"] == "below"
    out = equal_budget(_bok(), _multi(500))
    assert out["position"] == "above" and out["bok_at_multi_cost"]["hit_at_k"] is None


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="budget: expected 'completion' or 'total'"):
        equal_budget(_bok(), _multi(30), budget="prompt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected at least one shared question id"):
        equal_budget(_bok(), [make_record("other", ["a"], [True])])
