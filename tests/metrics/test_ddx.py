"""DDXPlus differential metrics, as defined by the DDXPlus authors (Fansi Tchango et al. 2022)."""

from __future__ import annotations

import pytest

from mabench.metrics import compute_metrics, ddx_metrics
from mabench.metrics.ddx import ddx_ddf1, ddx_ddr, ddx_gtpa_at_1, ddx_gtpa_at_3

from .records import make_record

GOLD = [("URTI", 0.5), ("Bronchitis", 0.3), ("Pneumonia", 0.19), ("Influenza", 0.01)]  # 0.01 is not > 0.01


def test_recall_precision_and_f1_over_thresholded_sets():
    out = ddx_metrics([("Bronchitis", 0.6), ("URTI", 0.3), ("Asthma", 0.1)], GOLD, "Bronchitis")
    # G = {URTI, Bronchitis, Pneumonia}; P = {Bronchitis, URTI, Asthma}
    assert out["DDR"] == pytest.approx(2 / 3)
    assert out["DDP"] == pytest.approx(2 / 3)
    assert out["DDF1"] == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3 + 1e-10))


def test_threshold_is_strict_and_applies_to_predictions_too():
    out = ddx_metrics([("Influenza", 0.01), ("URTI", 0.02)], GOLD, "Influenza")
    assert out["DDP"] == 1.0  # Influenza at 0.01 is not predicted; URTI is, and is gold
    assert out["DDR"] == pytest.approx(1 / 3)
    assert out["GTPA"] == 0.0 and out["GTPA@1"] == 0.0


def test_gtpa_at_k_uses_the_confidence_ranking():
    predicted = [("URTI", 0.2), ("Pneumonia", 0.5), ("Bronchitis", 0.3)]
    out = ddx_metrics(predicted, GOLD, "URTI")
    assert (out["GTPA"], out["GTPA@1"], out["GTPA@3"], out["GTPA@5"]) == (1.0, 0.0, 1.0, 1.0)
    out = ddx_metrics(predicted, GOLD, "Pneumonia")
    assert out["GTPA@1"] == 1.0


def test_ties_and_missing_confidences_keep_listed_order():
    assert ddx_metrics([("A", 0.4), ("B", 0.4)], [("B", 1.0)], "B")["GTPA@1"] == 0.0
    no_conf = ddx_metrics([("A", None), ("B", None)], [("B", 1.0)], "B")
    assert (no_conf["DDP"], no_conf["GTPA@1"], no_conf["GTPA@3"]) == (0.5, 0.0, 1.0)


def test_names_are_normalised_and_duplicates_merged():
    out = ddx_metrics({"the urti": 0.3, "URTI.": 0.6}, {"URTI": 1.0}, "urti")
    assert (out["DDR"], out["DDP"], out["GTPA@1"]) == (1.0, 1.0, 1.0)


def test_empty_prediction_scores_zero_without_dividing_by_zero():
    out = ddx_metrics([], GOLD, "URTI")
    assert (out["DDR"], out["DDP"], out["DDF1"], out["GTPA"]) == (0.0, 0.0, 0.0, 0.0)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match=r"predicted: expected probabilities in \[0, 1\]"):
        ddx_metrics([("A", 1.5)], GOLD, "A")
    with pytest.raises(ValueError, match="gold_differential: expected probabilities"):
        ddx_metrics([("A", 0.5)], [("A", None)], "A")
    with pytest.raises(ValueError, match="predicted: expected .pathology name, probability. pairs"):
        ddx_metrics([("A", 0.5, 1)], GOLD, "A")
    with pytest.raises(ValueError, match="true_pathology: expected a pathology name"):
        ddx_metrics([("A", 0.5)], GOLD, None)  # type: ignore[arg-type]


def test_registered_metrics_map_candidates_through_judgement_detail():
    extra = {"differential": [["URTI", 0.7], ["Bronchitis", 0.3]], "true_pathology": "URTI"}
    records = [
        # the candidate text is a paraphrase; the judge's detail names the pathology it matched
        make_record(
            "p1",
            ["a cold", "bronchitis"],
            [True, False],
            [0.8, 0.2],
            detail=["URTI", None],
            gold=["URTI"],
            extra=extra,
        ),
        # without a detail, a correct candidate names the gold entry it matched
        make_record("p2", ["Asthma", "the flu"], [False, True], [0.9, 0.1], gold=["URTI"], extra=extra),
    ]
    out = compute_metrics(records, [ddx_ddr, ddx_ddf1, ddx_gtpa_at_1, ddx_gtpa_at_3], n_resamples=0)
    assert out["ddx_ddr"]["value"] == pytest.approx((1.0 + 0.5) / 2)
    assert out["ddx_gtpa_at_1"]["per_question"] == {"p1": 1.0, "p2": 0.0}
    assert out["ddx_gtpa_at_3"]["value"] == 1.0


def test_registered_metrics_skip_without_ddxplus_extras():
    out = compute_metrics([make_record("q", ["a"], [True])], [ddx_ddr], n_resamples=0)
    assert out["ddx_ddr"]["value"] is None and "DDXPlus" in out["ddx_ddr"]["skipped"]


def test_top_k_accuracy_needs_only_the_true_pathology():
    records = [make_record("p1", ["URTI", "Asthma"], [True, False], [0.3, 0.7], gold=["URTI"],
                           extra={"true_pathology": "URTI"})]  # fmt: skip
    out = compute_metrics(records, [ddx_ddr, ddx_gtpa_at_1, ddx_gtpa_at_3], n_resamples=0)
    assert (out["ddx_gtpa_at_1"]["value"], out["ddx_gtpa_at_3"]["value"]) == (0.0, 1.0)
    assert "differential" in out["ddx_ddr"]["skipped"]
