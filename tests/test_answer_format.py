"""The multi-answer format: what the parser must accept, flag and never do (raise)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mabench.answer_format import format_answer_set, multi_instructions, parse_answer_set, single_instructions

WELL_FORMED = (
    "<think>Two films share the name.</think>"
    "<answer1>James Cameron</answer1><confidence1>0.6</confidence1>"
    "<answer2>Jean Negulesco</answer2><confidence2>0.3</confidence2>"
    "<answer3>Steven Spielberg</answer3><confidence3>0.05</confidence3>"
)


def texts(s):
    return [c.text for c in s.candidates]


def confs(s):
    return [c.confidence for c in s.candidates]


def test_well_formed_output_parses_in_order_with_every_flag_clear():
    s = parse_answer_set(WELL_FORMED, k=3)
    assert texts(s) == ["James Cameron", "Jean Negulesco", "Steven Spielberg"]
    assert confs(s) == [0.6, 0.3, 0.05]
    assert [c.rank for c in s.candidates] == [1, 2, 3]
    assert s.format_ok and s.n_candidates == 3
    assert not (s.missing_confidence or s.sum_exceeds_one or s.duplicate_answers or s.confidence_out_of_range)


def test_split_layout_all_answers_then_all_confidences():
    text = ("<answer1>a</answer1><answer2>b</answer2><answer3>c</answer3>"
            "<confidence1>0.5</confidence1><confidence2>0.2</confidence2><confidence3>0.1</confidence3>")
    s = parse_answer_set(text, k=3)
    assert texts(s) == ["a", "b", "c"] and confs(s) == [0.5, 0.2, 0.1] and s.format_ok


def test_percent_scale_is_read_but_is_not_the_strict_format():
    s = parse_answer_set("<answer1>a</answer1><confidence1>70</confidence1>"
                         "<answer2>b</answer2><confidence2>20%</confidence2>", k=2)
    assert confs(s) == [0.7, 0.2]
    assert s.confidence_percent_scale and not s.format_ok


def test_confidence_that_is_not_a_number_or_out_of_range_is_missing():
    s = parse_answer_set("<answer1>a</answer1><confidence1>very sure</confidence1>"
                         "<answer2>b</answer2><confidence2>-3</confidence2>"
                         "<answer3>c</answer3><confidence3>250</confidence3>", k=3)
    assert confs(s) == [None, None, None]
    assert s.missing_confidence and s.confidence_out_of_range and not s.format_ok


def test_missing_confidences_are_allowed_when_not_required():
    s = parse_answer_set("<answer1>a</answer1><answer2>b</answer2>", k=2, require_confidence=False)
    assert s.format_ok and s.missing_confidence and confs(s) == [None, None]


def test_sum_above_one_and_duplicates_are_flagged():
    s = parse_answer_set("<answer1>Paris</answer1><confidence1>0.8</confidence1>"
                         "<answer2> paris </answer2><confidence2>0.5</confidence2>", k=2)
    assert s.sum_exceeds_one and s.duplicate_answers
    assert s.format_ok  # flags describe the set; the tags themselves are well formed


def test_unclosed_tags_end_at_the_next_tag():
    s = parse_answer_set("<answer1>Canberra<confidence1>0.9<answer2>Sydney</answer2><confidence2>0.1", k=2)
    assert texts(s) == ["Canberra", "Sydney"] and confs(s) == [0.9, 0.1]
    assert not s.format_ok


def test_extra_candidates_beyond_k_are_dropped_and_missing_ones_are_not_invented():
    extra = parse_answer_set(WELL_FORMED + "<answer4>d</answer4><confidence4>0</confidence4>", k=3)
    assert texts(extra) == ["James Cameron", "Jean Negulesco", "Steven Spielberg"] and not extra.format_ok
    short = parse_answer_set("<answer1>a</answer1><confidence1>0.5</confidence1>", k=3)
    assert texts(short) == ["a"] and not short.format_ok


def test_a_repeated_index_keeps_the_first_occurrence():
    s = parse_answer_set("<answer1>a</answer1><answer1>b</answer1><confidence1>0.4</confidence1>", k=1)
    assert texts(s) == ["a"] and not s.format_ok


def test_answers_inside_think_do_not_count_and_an_unclosed_think_is_a_format_error():
    s = parse_answer_set("<think>maybe <answer1>wrong</answer1></think><answer1>right</answer1>"
                         "<confidence1>1</confidence1>", k=1)
    assert texts(s) == ["right"] and s.format_ok
    unclosed = parse_answer_set("<think>hmm<answer1>x</answer1><confidence1>0.2</confidence1>", k=1)
    assert texts(unclosed) == ["x"] and not unclosed.format_ok


def test_single_answer_mode():
    s = parse_answer_set("<answer>Mary Shelley</answer><confidence>0.9</confidence>")
    assert texts(s) == ["Mary Shelley"] and confs(s) == [0.9] and s.format_ok
    bare = parse_answer_set("<answer>Mary Shelley</answer>")
    assert texts(bare) == ["Mary Shelley"] and bare.missing_confidence and not bare.format_ok


def test_prose_without_tags_gives_no_candidates():
    s = parse_answer_set("The capital of Australia is Melbourne.", k=3)
    assert s.candidates == [] and not s.format_ok and s.missing_confidence


def test_prompts_ask_for_exactly_k_distinct_answers_summing_to_at_most_one():
    text = multi_instructions(4)
    assert "EXACTLY 4 DISTINCT" in text and "sum to at most 1" in text
    assert "<answer4>...</answer4><confidence4>...</confidence4>" in text and "<answer5>" not in text
    assert "<code2>" in multi_instructions(2, tag="code")
    assert "<answer>...</answer>" in single_instructions() and "<confidence>" in single_instructions()
    assert "<confidence>" not in single_instructions(confidence=False)


# --- properties -------------------------------------------------------------------------------------

TAGS = st.sampled_from(["<answer1>", "</answer1>", "<answer2>", "<confidence1>", "</confidence2>", "<answer>",
                        "<think>", "</think>", "<confidence>", "</answer3>", "<answer10>", "%", "0.5", "77"])
NOISY = st.lists(st.one_of(st.text(max_size=12), TAGS), max_size=30).map("".join)


@given(NOISY, st.integers(min_value=1, max_value=5) | st.none())
def test_parser_never_raises_and_confidences_stay_in_unit_interval(text, k):
    s = parse_answer_set(text, k=k)
    assert all(c.confidence is None or 0.0 <= c.confidence <= 1.0 for c in s.candidates)
    assert s.n_candidates <= (k or 1)
    assert [c.rank for c in s.candidates] == list(range(1, s.n_candidates + 1))


ANSWER = st.text(st.characters(blacklist_characters="<>", blacklist_categories=("Cs",)), min_size=1,
                 max_size=20).map(str.strip).filter(bool)


@given(st.lists(st.tuples(ANSWER, st.floats(0, 1)), min_size=1, max_size=6))
def test_well_formed_output_round_trips(pairs):
    answers, confidences = [a for a, _ in pairs], [c for _, c in pairs]
    s = parse_answer_set(format_answer_set(answers, confidences), k=len(pairs))
    assert texts(s) == answers
    assert confs(s) == confidences
    assert s.format_ok  # every tag present once; the sum is a separate flag


def test_markup_inside_an_unclosed_tag_does_not_end_it():
    s = parse_answer_set('<code1>def f():\n    return "<b>bold</b>"\n<confidence1>0.5</confidence1>', k=1, tag="code")
    assert texts(s) == ['def f():\n    return "<b>bold</b>"']
