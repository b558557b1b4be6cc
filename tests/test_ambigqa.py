"""The ambigqa task: light-format loading, gold alias groups and the exact-match judge."""

from __future__ import annotations

import json
import re

import pytest

from mabench.answer_format import parse_answer_set
from mabench.tasks import DataFormatError, UnknownTaskError, available_tasks, load_task
from mabench.tasks.ambigqa import SAMPLE, bundled_ids, merge_groups
from mabench.tasks.sources import bundled
from mabench.text import normalize_answer

# The official AmbigQA light dev split (dev_light.json, 2,002 questions): 1,211 of them have more than one
# distinct answer once their annotations' alias groups are merged (counted with mabench's loader; see
# tasks/data/NOTICE.md). The bundled sample must keep that mix.
DEV_QUESTIONS, DEV_MULTI_ANSWER = 2002, 1211


@pytest.fixture(scope="module")
def ambigqa():
    return load_task("ambigqa")


def test_task_is_registered_through_the_entry_point_group():
    assert "ambigqa" in available_tasks()
    with pytest.raises(UnknownTaskError, match="valid tasks: .*ambigqa"):
        load_task("no-such-task")


def test_bundled_sample_has_both_annotation_types(ambigqa):
    questions = ambigqa.load()
    assert len(questions) >= 30
    kinds = {len(q.inputs["annotations"]) for q in questions}
    assert kinds >= {1, 2}
    assert any(len(q.gold) > 1 for q in questions) and any(len(q.gold) == 1 for q in questions)
    assert len({q.id for q in questions}) == len(questions)


def test_groups_that_share_an_alias_across_annotations_are_one_answer():
    merged = merge_groups([[["Mount Everest", "Everest"]], [["Everest"], ["Mauna Kea"]]])
    assert merged == [["Mount Everest", "Everest"], ["Mauna Kea"]]


def test_bundled_sample_is_real_dev_questions_in_the_dev_splits_mix(ambigqa):
    raw = json.loads(bundled(SAMPLE).read_text())
    assert len(raw) >= 100 and all(set(r) == {"annotations", "id", "question"} for r in raw)  # the light schema
    assert all(re.fullmatch(r"-?\d+", r["id"]) for r in raw)  # Natural Questions example ids, as in the dev file
    questions = ambigqa.load()
    multi = sum(len(q.gold) > 1 for q in questions)
    assert abs(multi / len(questions) - DEV_MULTI_ANSWER / DEV_QUESTIONS) <= 1 / len(questions)
    assert 0 < multi < len(questions)


def test_bundled_ids_are_the_evaluation_sample_a_training_split_must_avoid(ambigqa):
    ids = bundled_ids()
    assert ids == {q.id for q in ambigqa.load()} and len(ids) >= 100


def test_judge_matches_aliases_after_squad_normalisation(ambigqa):
    """A real bundled question whose first answer has two different aliases: one written in another case,
    with an article and punctuation, the other with doubled spaces."""
    q = next(q for q in ambigqa.load() if len(q.gold[0]) > 1 and len(q.gold[0][1].split()) > 1
             and normalize_answer(q.gold[0][0]) != normalize_answer(q.gold[0][1]))
    first, alias = q.gold[0][0], q.gold[0][1]
    wrong = "Nobody At All Zzyzx"
    assert not any(normalize_answer(wrong) == normalize_answer(a) for group in q.gold for a in group)
    answers = parse_answer_set(
        f"<answer1>the {alias.upper()}.</answer1><confidence1>0.5</confidence1>"
        f"<answer2>{first.replace(' ', '  ')}</answer2><confidence2>0.2</confidence2>"
        f"<answer3>{wrong}</answer3><confidence3>0.1</confidence3>", k=3)
    judgements, evidence = ambigqa.judge(q, answers)
    assert [j.correct for j in judgements] == [True, True, False]
    assert [j.method for j in judgements] == ["alias", "exact", "none"]
    assert judgements[0].gold_index == judgements[1].gold_index == 0
    assert evidence.covered == [0] and evidence.annotations == q.inputs["annotations"]


def test_empty_or_punctuation_only_answers_never_match(ambigqa):
    q = ambigqa.load()[0]
    judgements, _ = ambigqa.judge(q, parse_answer_set("<answer>...</answer>"))
    assert [j.correct for j in judgements] == [False]


def test_loads_the_original_light_file_format(ambigqa, tmp_path):
    path = tmp_path / "dev_light.json"
    path.write_text(json.dumps([
        {"id": "1", "question": "q?", "annotations": [{"type": "singleAnswer", "answer": ["A", "a1"]}]},
        {"id": "2", "question": "r?", "annotations": [
            {"type": "multipleQAs", "qaPairs": [{"question": "r1", "answer": ["B"]},
                                                 {"question": "r2", "answer": ["C"]}]}]},
    ], indent=2))
    q1, q2 = ambigqa.load(path)
    assert q1.gold == [["A", "a1"]] and q2.gold == [["B"], ["C"]]


def test_bad_files_get_errors_that_name_the_file_and_record(ambigqa, tmp_path):
    with pytest.raises(DataFormatError, match="missing.json: no such file"):
        ambigqa.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "1", "question": "q", "annotations": [{"type": "other"}]}]))
    with pytest.raises(DataFormatError, match=r"bad.json, record 0"):
        ambigqa.load(bad)
    bad.write_text("{not json")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        ambigqa.load(bad)
