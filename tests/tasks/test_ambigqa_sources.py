"""ambigqa's Hub sources: sewon/ambig_qa (light, annotations stored column-wise by `datasets`) and the
flat mehuldamani/ambigQA (question + answers), read through the same `datasets` code as a Hub download."""

from __future__ import annotations

import json

import pytest

from mabench.answer_format import parse_answer_set
from mabench.tasks import DataFormatError
from mabench.tasks.ambigqa import AmbigQA, annotations_from_columns, questions_from_records
from mabench.tasks.hub import HubDefaults, HubSource, parse_hub_spec

datasets = pytest.importorskip("datasets")

LIGHT_FEATURES = {
    "id": datasets.Value("string"), "question": datasets.Value("string"),
    "annotations": datasets.Sequence({
        "type": datasets.Value("string"), "answer": datasets.Sequence(datasets.Value("string")),
        "qaPairs": datasets.Sequence({"question": datasets.Value("string"),
                                      "answer": datasets.Sequence(datasets.Value("string"))}),
    }),
}
LIGHT_ROWS = [
    {"id": "1", "question": "Who plays the doctor in dexter season 1?",
     "annotations": [{"type": "singleAnswer", "answer": ["Tony Goldwyn", "Goldwyn"], "qaPairs": []}]},
    {"id": "2", "question": "How many teams in the nba in 1956?",
     "annotations": [
         {"type": "multipleQAs", "answer": [], "qaPairs": [
             {"question": "How many teams in the NBA in the 1955-56 season?", "answer": ["8", "eight"]},
             {"question": "How many teams in the NBA in the 1956-57 season?", "answer": ["8"]}]},
         {"type": "singleAnswer", "answer": ["eight teams"], "qaPairs": []}]},
]


def column_wise(annotations):
    """How the HF loading script stored a row's annotations: one list per field."""
    return {
        "type": [a["type"] for a in annotations],
        "answer": [a["answer"] for a in annotations],
        "qaPairs": [{"question": [p["question"] for p in a["qaPairs"]], "answer": [p["answer"] for p in a["qaPairs"]]}
                    for a in annotations],
    }


def light_parquet(path):
    """A Parquet file as the Hub serves sewon/ambig_qa's light config."""
    rows = [{**r, "annotations": column_wise(r["annotations"])} for r in LIGHT_ROWS]
    datasets.Dataset.from_list(rows, features=datasets.Features(LIGHT_FEATURES)).to_parquet(str(path))
    return path


def test_datasets_hands_light_annotations_over_column_wise(tmp_path):
    rows = datasets.load_dataset("parquet", data_files=str(light_parquet(tmp_path / "v.parquet")), split="train")
    annotations = rows[1]["annotations"]
    assert isinstance(annotations, dict) and annotations["type"] == ["multipleQAs", "singleAnswer"]
    assert annotations_from_columns(annotations) == [
        {"type": "multipleQAs", "qaPairs": [
            {"question": "How many teams in the NBA in the 1955-56 season?", "answer": ["8", "eight"]},
            {"question": "How many teams in the NBA in the 1956-57 season?", "answer": ["8"]}]},
        {"type": "singleAnswer", "answer": ["eight teams"]},
    ]


def test_column_wise_and_list_of_dicts_annotations_give_the_same_questions(tmp_path):
    from_hub = AmbigQA().load(light_parquet(tmp_path / "validation.parquet"))
    original = tmp_path / "dev_light.json"
    original.write_text(json.dumps([
        {**r, "annotations": [{k: v for k, v in a.items() if v or k == "type"} for a in r["annotations"]]}
        for r in LIGHT_ROWS]))
    assert from_hub == AmbigQA().load(original)
    nba = from_hub[1]
    assert nba.gold == [["8", "eight"], ["eight teams"]]  # the two 1950s readings share the answer 8
    assert nba.inputs["annotations"] == [[["8", "eight"], ["8"]], [["eight teams"]]]


def test_flat_format_rows_become_one_annotation_with_one_group_per_answer(tmp_path):
    path = tmp_path / "ambigqa_test.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"question": "Who won the world cup?", "answers": ["France", "Germany", "the france"], "source": "ambigQA"},
        {"question": "Who directed titanic?", "answer": "James Cameron"},
        {"id": "x9", "question": "Capital of Australia?", "answers": [["Canberra", "Canberra, ACT"]]},
    ]))
    rows = datasets.load_dataset("json", data_files=str(path), split="train").to_list()
    via_datasets = questions_from_records([(f"row {i}", r) for i, r in enumerate(rows)], "ambigqa_test")
    direct = AmbigQA().load(path)
    assert [q.gold for q in direct] == [[["France", "the france"], ["Germany"]], [["James Cameron"]],
                                        [["Canberra", "Canberra, ACT"]]]
    assert [q.id for q in direct] == ["ambigqa_test-00000", "ambigqa_test-00001", "x9"]
    assert [q.gold for q in via_datasets[:2]] == [q.gold for q in direct[:2]]
    assert direct[0].inputs["annotations"] == [direct[0].gold]


def test_flat_gold_is_judged_per_answer_and_records_coverage():
    (q,) = questions_from_records([("r", {"question": "q", "answers": ["France", "Germany"]})], "t")
    answers = parse_answer_set("<answer1>Germany.</answer1><confidence1>0.5</confidence1>"
                               "<answer2>Italy</answer2><confidence2>0.2</confidence2>", k=2)
    judgements, evidence = AmbigQA().judge(q, answers)
    assert [(j.correct, j.gold_index) for j in judgements] == [(True, 1), (False, None)]
    assert evidence.covered == [1]


def test_bad_rows_name_their_source_and_position(tmp_path):
    path = tmp_path / "flat.jsonl"
    path.write_text(json.dumps({"question": "q", "answers": []}) + "\n" + json.dumps({"text": "no question"}))
    with pytest.raises(DataFormatError, match=r"flat.jsonl, line 1: field 'answers' must be a non-empty"):
        AmbigQA().load(path)
    with pytest.raises(DataFormatError, match=r"row 0: column-wise annotations are malformed"):
        questions_from_records([("row 0", {"id": "1", "question": "q", "annotations": {"answer": [[]]}})], "t")


def test_hub_specs_name_id_config_and_split_with_task_defaults():
    known = {"sewon/ambig_qa": HubDefaults("light", "validation")}
    assert parse_hub_spec("hf:sewon/ambig_qa", known) == HubSource("sewon/ambig_qa", "light", "validation")
    assert parse_hub_spec("hf:sewon/ambig_qa:full@train", known) == HubSource("sewon/ambig_qa", "full", "train")
    assert parse_hub_spec("hf:mehuldamani/ambigQA", known) == HubSource("mehuldamani/ambigQA", None, "test")
    assert str(HubSource("sewon/ambig_qa", "light", "validation")) == "hf:sewon/ambig_qa:light@validation"
    with pytest.raises(DataFormatError, match="not a Hub source; expected hf:OWNER/NAME"):
        parse_hub_spec("hf:no-slash", known)
