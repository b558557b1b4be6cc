"""`paper_eval` against the authors' evaluation (ishapuri/multi_answer_rl, eval/check_functions.py and
eval/eval_utils.py at commit 918e956): their keys and their quirks, each pinned by a case read from their code."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mabench.metrics import ece_score as mabench_ece
from mabench.metrics import paper_eval, set_brier_score
from mabench.metrics.paper_eval import paper_ece

MULTI_KEYS = {"pass@1", "pass@2", "pass@3", "accuracy", "set_brier", "ece", "auroc", "confidence level",
              "confidence format adherence", "completion length"}


def out(answers, confidences, tail=""):
    return "<think>t</think>" + "".join(
        f"<answer{i}>{a}</answer{i}>" + (f"<confidence{i}>{c}</confidence{i}>" if c is not None else "")
        for i, (a, c) in enumerate(zip(answers, confidences, strict=True), start=1)) + tail


def test_the_multi_answer_keys_are_theirs():
    m = paper_eval([out(["Paris", "Nice"], ["0.6", "0.3"])], [["Paris"]], format_pattern="multi_answer")
    assert set(m) == MULTI_KEYS
    assert "set_brier" not in paper_eval([out(["a"], [None])], [["a"]], format_pattern="multi_answer_rlvr")


def test_pass_at_k_orders_candidates_by_confidence_and_missing_confidences_last():
    text = out(["Nice", "Paris", "Metz"], ["0.2", "0.7", None])
    m = paper_eval([text], [["Metz"]], format_pattern="multi_answer")
    assert (m["pass@1"], m["pass@2"], m["pass@3"]) == (0.0, 0.0, 1.0)
    rlvr = paper_eval([text], [["Nice"]], format_pattern="multi_answer_rlvr")  # RLVR keeps the listed order
    assert rlvr["pass@1"] == 1.0


def test_set_brier_is_a_sum_over_candidates_and_an_output_without_tags_scores_zero():
    text = out(["Paris", "Nice", "Metz"], ["0.6", "0.3", "0.1"])
    m = paper_eval([text, "I don't know."], [["Paris"], ["Paris"]], format_pattern="multi_answer")
    per_question = set_brier_score([0.6, 0.3, 0.1], [1, 0, 0], reduce="sum")
    assert m["set_brier"] == pytest.approx((per_question + 0.0) / 2)
    assert m["pass@3"] == 0.5


def test_ece_auroc_and_confidence_level_read_the_last_unnumbered_confidence_tag():
    texts = [out(["Paris", "Nice"], ["0.9", "0.1"], tail="<confidence>30</confidence>"),
             out(["Metz", "Lille"], ["0.9", "0.1"], tail="<confidence>0.5</confidence><confidence>0.8</confidence>")]
    m = paper_eval(texts, [["Paris"], ["Brest"]], format_pattern="multi_answer")
    # candidates (1, 0) paired with 0.3 and (0, 0) paired with 0.8
    assert m["confidence level"] == pytest.approx((0.3 * 2 + 0.8 * 2) / 4)
    assert m["auroc"] == pytest.approx(0.5 / 3)  # the correct one (0.3) ties one wrong one, is below two
    assert m["confidence format adherence"] == 1.0
    missing = paper_eval([out(["Paris"], ["0.9"])], [["Paris"]], format_pattern="multi_answer")
    assert missing["confidence format adherence"] == 0.0 and missing["confidence level"] == 0.0


def test_a_repeated_index_keeps_its_last_occurrence_and_indices_beyond_k_count():
    text = "<answer1>Nice</answer1><answer1>Paris</answer1><answer4>Lyon</answer4>"
    m = paper_eval([text], [["Paris", "Lyon"]], format_pattern="multi_answer_rlvr")
    assert m["pass@1"] == 1.0  # candidate 1 is "Paris"; 2 and 3 are empty gaps; 4 is "Lyon"
    assert m["auroc"] == pytest.approx(0.5)  # four candidates, two correct, all at confidence 0


def test_confidences_in_1_to_100_are_percentages_and_text_yields_its_first_number():
    text = out(["Paris", "Nice"], ["60", "0.3 (fairly sure)"], tail="<confidence>about 40</confidence>")
    m = paper_eval([text], [["Nice"]], format_pattern="multi_answer")
    assert m["pass@1"] == 0.0 and m["pass@2"] == 1.0  # 0.6 outranks 0.3
    assert m["set_brier"] == pytest.approx(0.6 ** 2 + 0.7 ** 2)
    assert m["confidence level"] == pytest.approx(0.4)
    bad = paper_eval([out(["a"], ["0.5"], tail="<confidence>250</confidence>")], [["a"]], format_pattern="multi_answer")
    assert bad["confidence format adherence"] == 0.0


def test_completion_length_counts_characters():
    texts = ["<answer1>a</answer1>", "x" * 100]
    m = paper_eval(texts, [["a"], ["a"]], format_pattern="multi_answer_rlvr")
    assert m["completion length"] == pytest.approx((len(texts[0]) + 100) / 2)


def test_correctness_is_math_verify_then_exact_match():
    m = paper_eval([out(["\\boxed{4}", "The Beatles"], ["0.5", "0.4"])], [["4"]], format_pattern="multi_answer")
    assert m["pass@1"] == 1.0
    m = paper_eval([out(["\\boxed{4}", "The Beatles"], ["0.5", "0.4"])], [["beatles"]], format_pattern="multi_answer")
    assert (m["pass@1"], m["pass@2"]) == (0.0, 1.0)


def test_their_ece_bins_put_0_3_one_bin_low_like_the_numpy_edges():
    conf, y = np.array([0.3, 0.25]), np.array([1.0, 0.0])
    assert paper_ece(y, conf) == pytest.approx(abs(0.275 - 0.5))  # one bin: [0.2, 0.3000...04)
    assert paper_ece(y, conf) == pytest.approx(mabench_ece(conf, y))


def test_single_answer_patterns_score_the_last_answer_over_n_samples():
    samples = [["<answer>Nice</answer><answer>Paris</answer><confidence>0.8</confidence>",
                "<answer>Nice</answer><confidence>0.2</confidence>"]]
    m = paper_eval(samples, [["Paris"]], format_pattern="rlcr_single_answer")
    assert set(m) == {"pass@1", "pass@2", "brier_score", "ece", "auroc", "accuracy", "confidence level",
                      "confidence format adherence", "completion length"}
    assert (m["pass@1"], m["pass@2"]) == (0.5, 1.0)
    assert m["brier_score"] == pytest.approx(((0.8 - 1) ** 2 + 0.2 ** 2) / 2)
    assert math.isclose(m["auroc"], 1.0)


def test_bad_input_is_an_error_naming_it():
    with pytest.raises(ValueError, match="unknown format_pattern"):
        paper_eval(["x"], [["a"]], format_pattern="multi")
    with pytest.raises(ValueError, match="differ in length"):
        paper_eval(["x", "y"], [["a"]], format_pattern="multi_answer")
    with pytest.raises(TypeError, match="one list of gold"):
        paper_eval(["x"], ["a"], format_pattern="multi_answer")
    with pytest.raises(ValueError, match="same number of samples"):
        paper_eval([["x"], ["y", "z"]], [["a"], ["a"]], format_pattern="tabc")
