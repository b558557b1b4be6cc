"""The `paper` reward profile against the authors' reward_fns.py (ishapuri/multi_answer_rl, commit 918e956).

Each test names the behaviour of theirs it pins, read from their code; most are cases where mabench's own
parser decides differently, which is why the profile exists.
"""

from __future__ import annotations

import pytest

import mabench.train
from mabench.train.paper_reward_fns import PAPER_REWARD_NAMES, paper_reward, paper_rewards

GOLD = ["Paris", "Lyon", "Lyons"]
THINK = "<think>two cities come to mind</think>\n"
ANALYSIS = "<analysis>the question may mean either city</analysis>\n"


def pairs(answers: list[str], confidences: list[str]) -> str:
    return "".join(f"<answer{i}>{a}</answer{i}><confidence{i}>{c}</confidence{i}>"
                   for i, (a, c) in enumerate(zip(answers, confidences, strict=True), start=1))


def multi(answers=("Paris", "Lyon", "Nice"), confidences=("0.5", "0.3", "0.1"), think=THINK, analysis=ANALYSIS):
    return think + analysis + pairs(list(answers), list(confidences))


def rewards(text: str, pattern: str = "multi_answer", k: int = 3, gold=GOLD, source=None) -> dict[str, float]:
    return paper_rewards(text, gold, format_pattern=pattern, num_candidates=k, source=source)


def test_the_keys_are_their_reward_functions_and_a_clean_set_scores_as_their_formulas():
    r = rewards(multi())
    assert set(r) == set(PAPER_REWARD_NAMES)
    assert (r["format"], r["uniqueness"], r["response_constraint"], r["combined_format_and_constraint"]) == (1, 1, 1, 1)
    assert r["accuracy"] == 1.0 and r["accuracy_fraction"] == pytest.approx(2 / 3)
    assert r["brier"] == pytest.approx(1 - ((1 - 0.5) ** 2 + (1 - 0.3) ** 2 + 0.1 ** 2) / 3)
    assert (r["pass_at_1"], r["num_correct_at_1"], r["num_correct_at_2"], r["num_correct_at_3"]) == (1, 1, 2, 2)


def test_it_is_exported_from_mabench_train():
    assert mabench.train.paper_rewards is paper_rewards


def test_multi_answer_requires_an_analysis_block_and_multi_answer_no_analysis_does_not():
    text = multi(analysis="")
    assert rewards(text)["format"] == 0.0 and rewards(text)["accuracy"] == 0.0
    assert rewards(text, "multi_answer_no_analysis")["format"] == 1.0
    assert rewards(text, "multi_answer_no_analysis")["accuracy"] == 1.0


@pytest.mark.parametrize("think", ["<think>   \n </think>", "<think>a</think><think>b", "</think>x<think>",
                                   "", "<think>a</think></think>"])
def test_the_think_block_must_be_balanced_ordered_and_hold_more_than_whitespace(think):
    assert rewards(multi(think=think))["format"] == 0.0


@pytest.mark.parametrize(("confidence", "ok"), [("1e-1", 1.0), (".3", 1.0), (" 0.2 ", 1.0), ("1_0e-1", 1.0),
                                                ("0.6 (fairly sure)", 0.0), ("60%", 0.0), ("60", 0.0),
                                                ("nan", 0.0), ("inf", 0.0), ("-0.1", 0.0), ("", 0.0)])
def test_a_confidence_is_whatever_python_float_reads_in_0_1(confidence, ok):
    assert rewards(multi(confidences=("0.5", confidence, "0.1")))["format"] == ok


def test_a_negative_confidence_fails_the_format_but_passes_the_constraint():
    r = rewards(multi(confidences=("0.5", "-0.2", "0.1")))
    assert r["format"] == 0.0 and r["response_constraint"] == 1.0 and r["combined_format_and_constraint"] == 0.0


def test_an_empty_answer_slot_keeps_the_format_and_counts_as_wrong():
    r = rewards(multi(answers=("Nice", "", "Paris")))
    assert r["format"] == 1.0 and r["accuracy"] == 1.0
    assert r["brier"] == pytest.approx(1 - (0.5 ** 2 + 0.3 ** 2 + (1 - 0.1) ** 2) / 3)
    assert rewards(multi(answers=("", " ", "Paris")))["uniqueness"] == 0.0  # "" and " " strip to the same


def test_a_tag_emitted_twice_is_read_at_its_first_occurrence():
    text = THINK + ANALYSIS + "<answer1>Nice</answer1><answer1>Paris</answer1><confidence1>0.5</confidence1>" \
        "<answer2>Metz</answer2><confidence2>0.2</confidence2><answer3>Lille</answer3><confidence3>0.1</confidence3>"
    assert rewards(text)["format"] == 1.0
    assert rewards(text)["accuracy"] == 0.0  # "Paris" (the second <answer1>) is never read


def test_candidates_beyond_k_are_ignored():
    text = multi(answers=("Nice", "Lille", "Metz")) + "<answer4>Paris</answer4><confidence4>0.05</confidence4>"
    r = rewards(text)
    assert r["format"] == 1.0 and r["accuracy"] == 0.0 and r["pass_at_3"] == 0.0


def test_the_split_layout_answers_then_analysis_then_confidences_is_read_too():
    text = THINK + "<answer1>Paris</answer1><answer2>Nice</answer2><answer3>Metz</answer3>" + ANALYSIS + \
        "<confidence1>0.6</confidence1><confidence2>0.2</confidence2><confidence3>0.1</confidence3>"
    r = rewards(text)
    assert r["format"] == 1.0 and r["accuracy"] == 1.0 and r["brier"] == pytest.approx(1 - (0.16 + 0.04 + 0.01) / 3)


def test_tags_inside_the_think_block_are_read_as_the_answer():
    draft = "<think>draft: <answer1>Paris</answer1><confidence1>0.9</confidence1></think>\n"
    text = draft + ANALYSIS + pairs(["Nice", "Metz", "Lille"], ["0.3", "0.3", "0.3"])
    r = rewards(text, source=None)
    assert r["format"] == 1.0 and r["accuracy"] == 1.0  # the draft inside <think> counts as candidate 1


def test_duplicates_are_strip_and_lowercase_equal_not_normalised():
    dup = rewards(multi(answers=("Paris", " paris ", "Nice")))
    assert (dup["uniqueness"], dup["response_constraint"], dup["accuracy"], dup["brier"]) == (0, 0, 0, 0)
    assert dup["format"] == 1.0 and dup["pass_at_1"] == 1.0  # pass@i checks only the format
    near = rewards(multi(answers=("Paris", "Paris.", "Nice")))  # punctuation differs: distinct
    assert near["uniqueness"] == 1.0 and near["accuracy_fraction"] == pytest.approx(2 / 3)


def test_duplicates_do_not_zero_the_multi_rlvr_accuracy():
    text = THINK + "<answer1>Paris</answer1><answer2>paris</answer2><answer3>Nice</answer3>"
    r = rewards(text, "multi_answer_rlvr")
    assert r["format"] == 1.0 and r["uniqueness"] == 0.0 and r["accuracy"] == 1.0
    assert r["accuracy_fraction"] == pytest.approx(2 / 3)  # "Paris" and "paris": two distinct stripped strings


def test_the_sum_constraint_zeroes_brier_and_the_combined_format_but_not_accuracy():
    r = rewards(multi(confidences=("0.6", "0.5", "0.1")))
    assert (r["format"], r["response_constraint"], r["combined_format_and_constraint"]) == (1, 0, 0)
    assert r["brier"] == 0.0 and r["accuracy"] == 1.0


def test_multi_rlvr_writes_no_confidences_so_its_constraint_is_zero_and_pass_at_i_keeps_listed_order():
    text = THINK + "<answer1>Nice</answer1><answer2>Lyon</answer2><answer3>Paris</answer3>"
    r = rewards(text, "multi_answer_rlvr")
    assert r["format"] == 1.0 and r["response_constraint"] == 0.0 and r["combined_format_and_constraint"] == 0.0
    assert (r["pass_at_1"], r["pass_at_2"], r["num_correct_at_3"]) == (0, 1, 2)
    gap = THINK + "<answer1>Nice</answer1><answer3>Paris</answer3>"
    assert rewards(gap, "multi_answer_rlvr")["format"] == 0.0  # every <answerI> tag must be present


def test_pass_at_i_ranks_by_confidence_and_keeps_listed_order_on_ties():
    r = rewards(multi(answers=("Nice", "Paris", "Metz"), confidences=("0.2", "0.5", "0.1")))
    assert r["pass_at_1"] == 1.0
    tie = rewards(multi(answers=("Nice", "Paris", "Metz"), confidences=("0.3", "0.3", "0.3")))
    assert (tie["pass_at_1"], tie["pass_at_2"]) == (0.0, 1.0)


def test_rlcr_single_answer_reads_the_last_answer_for_accuracy_and_the_first_for_brier():
    text = "<think>hmm</think><answer>Nice</answer><analysis>a</analysis><confidence>0.8</confidence>" \
           "<answer>Paris</answer>"
    r = rewards(text, "rlcr_single_answer", k=1)
    assert r["format"] == 1.0 and r["accuracy"] == 1.0 and r["pass_at_1"] == 1.0
    assert r["brier"] == pytest.approx(1 - 0.8 ** 2)  # "Nice" with its 0.8


def test_single_answer_patterns_have_no_pass_at_2_or_3_and_need_the_analysis_block():
    text = "<think>hmm</think><answer>Paris</answer><confidence>0.9</confidence>"
    r = rewards(text, "rlcr_single_answer", k=1)
    assert "pass_at_2" not in r and "num_correct_at_3" not in r and r["format"] == 0.0
    with pytest.raises(ValueError, match="pass_at_2"):
        paper_reward("pass_at_2", text, GOLD, format_pattern="rlcr_single_answer", num_candidates=1)


def test_the_legacy_single_patterns_read_the_last_confidence_and_never_pass_at_1():
    text = "<think>hmm</think><answer>Paris</answer><analysis>a</analysis><confidence>2</confidence>" \
           "<confidence>0.7</confidence>"
    r = rewards(text, "tabc", k=1)
    assert r["format"] == 1.0 and r["accuracy"] == 1.0 and r["pass_at_1"] == 0.0 and r["pass_at_3"] == 0.0
    assert r["brier"] == 0.0  # the constraint reads the first confidence, 2, whose sum exceeds 1
    assert rewards(text.replace("<analysis>a</analysis>", ""), "tabc", k=1)["format"] == 0.0
    assert rewards("<think>x</think><answer>Paris</answer>", "ta", k=1)["format"] == 1.0


def test_the_logging_rewards_read_only_the_last_unnumbered_confidence():
    assert rewards(multi())["mean_confidence"] == 0.0
    r = rewards(multi() + "<confidence>0.7</confidence>")
    assert r["mean_confidence"] == pytest.approx(0.7) and r["confidence_one_or_zero"] == 0.0
    assert rewards(multi() + "<confidence>1.5</confidence>")["mean_confidence"] == 1.0
    assert rewards(multi() + "<confidence>0.995</confidence>")["confidence_one_or_zero"] == 1.0


def test_correctness_is_exact_match_except_for_math_sources_where_math_verify_decides():
    text = multi(answers=("\\boxed{4}", "Paris", "Nice"))
    assert rewards(text, gold=["4"], source="ambigQA")["accuracy"] == 0.0  # "boxed4" != "4"
    assert rewards(text, gold=["4"], source="math")["accuracy"] == 1.0  # math-verify parses \boxed{4}
    assert rewards(text, gold=["the paris"], source="ambigQA")["accuracy"] == 1.0  # articles dropped
    assert rewards(text, gold=["paris"], source=["math"])["accuracy"] == 0.0  # no exact-match fallback


def test_bad_arguments_are_errors_that_say_what_was_expected():
    with pytest.raises(ValueError, match="unknown format_pattern 'multi'"):
        rewards(multi(), "multi")
    with pytest.raises(ValueError, match="num_candidates"):
        rewards(multi(), k=0)
    with pytest.raises(TypeError, match="list of gold"):
        rewards(multi(), gold="Paris")
