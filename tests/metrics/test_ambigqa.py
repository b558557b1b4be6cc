"""AmbigQA F1: hand cases that pin the official evaluation script's behaviour (Min et al. 2020)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mabench.metrics import ambigqa_f1_score, ambigqa_is_multi, compute_metrics
from mabench.metrics.ambigqa import ambigqa_f1, ambigqa_f1_multi

from .records import make_record

DEV_LIGHT = Path(__file__).resolve().parents[3] / "shared" / "data" / "ambigqa" / "dev_light.json"


def single(*aliases: str) -> dict:
    return {"type": "singleAnswer", "answer": list(aliases)}


def multi(*groups: list[str]) -> dict:
    return {
        "type": "multipleQAs",
        "qaPairs": [{"question": f"q{i}", "answer": g} for i, g in enumerate(groups)],
    }


def f1(recall: float, precision: float) -> float:
    return 2 * recall * precision / (recall + precision)


def test_single_answer_matches_any_alias_after_normalisation():
    assert ambigqa_f1_score(["the Tony Goldwyn."], [single("Tony Goldwyn", "Goldwyn")]) == 1.0
    assert ambigqa_f1_score(["Goldwyn"], [single("Tony Goldwyn", "Goldwyn")]) == 1.0


def test_extra_predictions_lower_precision():
    assert ambigqa_f1_score(["Goldwyn", "Dexter", "Miami"], [single("Goldwyn")]) == pytest.approx(f1(1, 1 / 3))


def test_multiple_qas_recall_is_over_qa_pairs():
    annotation = multi(["8"], ["9"], ["10"])
    assert ambigqa_f1_score(["8", "10"], [annotation]) == pytest.approx(f1(2 / 3, 1))


def test_matching_is_greedy_first_fit_not_a_maximum_matching():
    # gold 0 takes the first prediction that fits it ("a"), so gold 1 (only "a") finds nothing left;
    # a maximum matching would pair both.
    annotation = multi(["a", "b"], ["a"])
    assert ambigqa_f1_score(["a", "b"], [annotation]) == pytest.approx(f1(1 / 2, 1 / 2))
    # in the other prediction order gold 0 takes "b" and both match
    assert ambigqa_f1_score(["b", "a"], [annotation]) == 1.0


def test_gold_order_decides_who_claims_a_shared_prediction():
    assert ambigqa_f1_score(["x"], [multi(["x"], ["x", "y"])]) == pytest.approx(f1(1 / 2, 1))


def test_matching_is_one_to_one_and_duplicates_are_not_collapsed():
    assert ambigqa_f1_score(["8", "8"], [single("8")]) == pytest.approx(f1(1, 1 / 2))
    assert ambigqa_f1_score(["8", "8"], [multi(["8"], ["8"])]) == 1.0  # the same string answers two qaPairs


def test_score_is_the_maximum_over_annotations():
    annotations = [single("Paris"), multi(["Paris"], ["Lyon"])]
    assert ambigqa_f1_score(["Paris", "Lyon"], annotations) == 1.0
    assert ambigqa_f1_score(["Paris"], annotations) == 1.0
    assert ambigqa_f1_score(["Nice"], annotations) == 0.0


def test_light_group_lists_behave_like_official_dicts():
    official = [single("Paris", "paris france"), multi(["8"], ["9"])]
    light = [[["Paris", "paris france"]], [["8"], ["9"]]]
    for preds in (["paris"], ["9", "8"], ["8", "x", "9"], []):
        assert ambigqa_f1_score(preds, light) == ambigqa_f1_score(preds, official)


def test_multi_only_subset_excludes_any_question_with_a_single_answer_annotation():
    assert ambigqa_is_multi([multi(["a"], ["b"])])
    assert not ambigqa_is_multi([multi(["a"], ["b"]), single("a")])
    assert ambigqa_is_multi([[["a"], ["b"]], [["c"], ["d"]]])
    assert not ambigqa_is_multi([[["a", "alias"]]])


def test_no_prediction_scores_zero_and_bad_input_is_rejected():
    assert ambigqa_f1_score([], [single("a")]) == 0.0
    with pytest.raises(ValueError, match="annotations: expected at least one annotation"):
        ambigqa_f1_score(["a"], [])
    with pytest.raises(ValueError, match="predictions: expected a list"):
        ambigqa_f1_score("a", [single("a")])
    with pytest.raises(ValueError, match="annotations: expected type"):
        ambigqa_f1_score(["a"], [{"type": "other"}])


@pytest.mark.skipif(not DEV_LIGHT.exists(), reason="shared AmbigQA dev file not present")
def test_every_dev_annotation_scores_one_against_its_own_first_aliases():
    data = json.loads(DEV_LIGHT.read_text())
    assert len(data) == 2002
    n_multi = 0
    for item in data:
        anns = item["annotations"]
        for ann in anns:
            groups = (
                [ann["answer"]] if ann["type"] == "singleAnswer" else [p["answer"] for p in ann["qaPairs"]]
            )
            assert ambigqa_f1_score([g[0] for g in groups], anns) == 1.0
        n_multi += ambigqa_is_multi(anns)
    assert n_multi == sum(all(a["type"] == "multipleQAs" for a in item["annotations"]) for item in data)


def test_registered_metrics_read_annotations_from_records():
    records = [
        make_record(
            "q1",
            ["Paris", "Lyon", "Nice"],
            [True, True, False],
            extra={"annotations": [[["Paris"], ["Lyon"]]]},
        ),
        make_record("q2", ["a", "b", "c"], [True, False, False], extra={"annotations": [[["a"]]]}),
        make_record("q3", ["x"], [False]),  # no annotations: left out
    ]
    out = compute_metrics(records, [ambigqa_f1, ambigqa_f1_multi], n_resamples=0)
    assert out["ambigqa_f1"]["value"] == pytest.approx((f1(1, 2 / 3) + f1(1, 1 / 3)) / 2)
    assert out["ambigqa_f1"]["n"] == 2
    assert out["ambigqa_f1_multi"]["value"] == pytest.approx(f1(1, 2 / 3))
    assert out["ambigqa_f1"]["per_question"]["q3"] is None


def test_registered_metric_skips_without_annotations():
    out = compute_metrics([make_record("q1", ["a"], [True])], [ambigqa_f1], n_resamples=0)
    assert out["ambigqa_f1"]["value"] is None
    assert "annotations" in out["ambigqa_f1"]["skipped"]
