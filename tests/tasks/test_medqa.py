"""medqa: the original JSON-lines format, the Hub formats, "up to K" parsing and the letter/text judge."""

from __future__ import annotations

import json

import pytest

from mabench.answer_format import parse_answer_set
from mabench.tasks import DataFormatError
from mabench.tasks.medqa import MedQA, questions_from_records, resolve_option
from mabench.types import ChoiceEvidence

OPTIONS = {
    "A": "Protect against invasive helminth infection",
    "B": "Protect against viral infections",
    "C": "Inhibiting bacterial adherance and colonization of mucous membranes",
    "D": "A 5-day course of oral antibiotics",
}
RECORD = {"question": "The only immunoglobulin found as a dimer has what primary function?", "answer": OPTIONS["C"],
          "options": OPTIONS, "meta_info": "step1", "answer_idx": "C", "metamap_phrases": ["dimer"]}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_bundled_sample_is_in_the_original_schema_with_every_answer_letter():
    questions = MedQA().load()
    assert len(questions) >= 30 and len({q.id for q in questions}) == len(questions)
    assert {q.gold[0][0] for q in questions} == {"A", "B", "C", "D"}
    for q in questions:
        letter, text = q.gold[0]
        assert list(q.inputs["options"]) == ["A", "B", "C", "D"] and q.inputs["options"][letter] == text


def test_original_file_loads_in_order_with_line_numbered_ids(tmp_path):
    path = write_jsonl(tmp_path / "phrases_no_exclude_test.jsonl", [RECORD, {**RECORD, "answer_idx": "A",
                                                                              "answer": OPTIONS["A"]}])
    first, second = MedQA().load(path)
    assert (first.id, second.id) == ("medqa-0001", "medqa-0002")
    assert first.gold == [["C", OPTIONS["C"]]] and second.gold == [["A", OPTIONS["A"]]]
    assert first.inputs["meta_info"] == "step1"


@pytest.mark.parametrize(("record", "message"), [
    ({**RECORD, "answer_idx": "E"}, r"line 2: 'answer_idx' must be one of A, B, C, D"),
    ({**RECORD, "answer": "something else"}, r"line 2: 'answer' 'something else' is not the text of option C"),
    ({**RECORD, "options": ["x", "y"]}, r"line 2: 'options' must map letters"),
    ({k: v for k, v in RECORD.items() if k != "question"}, r"line 2: missing or empty 'question'"),
])
def test_malformed_records_are_named_by_file_and_line(tmp_path, record, message):
    path = write_jsonl(tmp_path / "bad.jsonl", [RECORD, record])
    with pytest.raises(DataFormatError, match=rf"bad.jsonl, {message}"):
        MedQA().load(path)


def test_missing_file_names_the_path_and_the_expected_format(tmp_path):
    with pytest.raises(DataFormatError, match=r"nope.jsonl: no such file; expected MedQA JSON lines"):
        MedQA().load(tmp_path / "nope.jsonl")


def test_bigbio_source_rows_with_option_lists_read_like_the_original():
    row = {**RECORD, "options": [{"key": k, "value": v} for k, v in OPTIONS.items()]}
    (q,) = questions_from_records([("bigbio row 0", row)])
    assert q.inputs["options"] == OPTIONS and q.gold == [["C", OPTIONS["C"]]]


def test_a_parquet_export_of_the_hub_dataset_loads_through_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "test.parquet"
    datasets.Dataset.from_list([RECORD, {**RECORD, "answer_idx": "B", "answer": OPTIONS["B"]}]).to_parquet(str(path))
    questions = MedQA().load(path)
    assert [q.gold[0][0] for q in questions] == ["C", "B"] and questions[0].inputs["options"] == OPTIONS


@pytest.mark.parametrize(("text", "letter", "how"), [
    ("C", "C", "letter"),
    ("(c)", "C", "letter"),
    ("c.", "C", "letter"),
    ("Option C", "C", "letter"),
    ("The answer is: C", "C", "letter"),
    ("inhibiting bacterial adherance and colonization of mucous membranes.", "C", "text"),
    ("C. Inhibiting bacterial adherance and colonization of mucous membranes", "C", "letter+text"),
    ("(C) inhibiting bacterial adherance, and colonization of mucous membranes", "C", "letter+text"),
    ("C: Protect against viral infections", None, "conflict"),
    ("A 5-day course of oral antibiotics", "D", "text"),  # an option text that starts with a capital A
    ("A protein that binds antigens", None, "none"),  # prose, not the letter A
    ("a", "A", "letter"),
    ("E", None, "none"),
    ("C or D", None, "none"),
    ("", None, "none"),
])
def test_options_resolve_from_a_letter_the_text_or_both(text, letter, how):
    assert resolve_option(text, OPTIONS) == (letter, how)


def test_judge_credits_the_right_option_however_it_is_written_and_reports_the_set_size():
    (q,) = questions_from_records([("r", RECORD)])
    answers = parse_answer_set(
        "<answer1>C</answer1><confidence1>0.5</confidence1>"
        "<answer2>Protect against viral infections</answer2><confidence2>0.3</confidence2>"
        "<answer3>c) inhibiting bacterial adherance and colonization of mucous membranes</answer3>"
        "<confidence3>0.1</confidence3>", k=3)
    judgements, evidence = MedQA().judge(q, answers)
    assert [j.correct for j in judgements] == [True, False, True]
    assert [j.method for j in judgements] == ["letter", "text", "letter+text"]
    assert [j.detail for j in judgements] == ["C", "B", "C"] and judgements[0].gold_index == 0
    assert evidence == ChoiceEvidence(answer_idx="C", chosen=["C", "B", "C"], set_size=2, n_options=4)


def test_multi_mode_accepts_up_to_k_options_but_not_gaps():
    task = MedQA()
    two = task.parse("<answer1>A</answer1><confidence1>0.6</confidence1>"
                     "<answer2>B</answer2><confidence2>0.3</confidence2>", "multi", 3)
    assert two.format_ok and [c.text for c in two.candidates] == ["A", "B"]
    gap = task.parse("<answer1>A</answer1><confidence1>0.6</confidence1>"
                     "<answer3>B</answer3><confidence3>0.3</confidence3>", "multi", 3)
    assert not gap.format_ok
    prompt = task.messages(task.load()[0], "multi", 6)[1]["content"]
    assert "up to 4 DISTINCT options" in prompt and "<answer4>" in prompt and "<answer5>" not in prompt
