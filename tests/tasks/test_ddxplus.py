"""ddxplus: patient records rendered with the evidence metadata, the paper's presentation format, and the
tiered judge that maps free text onto the 49 pathologies."""

from __future__ import annotations

import csv
import json
import zipfile

import pytest

from mabench.answer_format import parse_answer_set
from mabench.judging import build_record
from mabench.tasks import DataFormatError
from mabench.tasks.ddxplus import DDXPlus
from mabench.tasks.ddxplus_conditions import CONDITIONS, ConditionIndex
from mabench.tasks.ddxplus_match import ConditionMatcher, parse_judge_reply
from mabench.tasks.sources import bundled
from mabench.types import DiagnosisEvidence, Generation

HEADER = ["AGE", "DIFFERENTIAL_DIAGNOSIS", "SEX", "PATHOLOGY", "EVIDENCES", "INITIAL_EVIDENCE"]
PATIENT = {"AGE": "54", "DIFFERENTIAL_DIAGNOSIS": "[['Pneumonia', 0.61], ['Bronchitis', 0.3], ['URTI', 0.005]]",
           "SEX": "F", "PATHOLOGY": "Pneumonia",
           "EVIDENCES": "['E_91', 'E_201', 'E_53', 'E_54_@_V_192', 'E_54_@_V_161', 'E_56_@_6', 'E_79', "
                        "'E_204_@_V_10']",
           "INITIAL_EVIDENCE": "E_91"}


def release_dir(tmp_path, rows, name="release_test_patients"):
    """A folder laid out like the DDXPlus release: the patients CSV beside release_evidences.json."""
    folder = tmp_path / "ddxplus"
    folder.mkdir()
    with (folder / name).open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    (folder / "release_evidences.json").write_bytes(bundled("ddxplus_evidences.json").read_bytes())
    return folder


@pytest.fixture(scope="module")
def ddx():
    return DDXPlus()


def test_bundled_sample_covers_many_pathologies_with_rendered_vignettes(ddx):
    questions = ddx.load()
    assert len(questions) >= 30 and len({q.gold[0] for q in questions}) >= 25
    for q in questions:
        assert q.gold == [q.inputs["true_pathology"]] and q.gold[0] in CONDITIONS
        probabilities = [p for _, p in q.inputs["differential"]]
        assert abs(sum(probabilities) - 1) < 0.02 and all(name in CONDITIONS for name, _ in q.inputs["differential"])
        assert q.inputs["vignette"].startswith("Patient: ") and "Symptoms:" in q.inputs["vignette"]


def test_original_release_layout_renders_every_evidence_kind(ddx, tmp_path):
    (q,) = ddx.load(release_dir(tmp_path, [PATIENT]))  # a directory: its release_*_patients file is found
    vignette = q.inputs["vignette"]
    fever = "Do you have a fever (either felt or measured with a thermometer)?"  # the release's own wording
    assert vignette.splitlines()[:2] == ["Patient: 54-year-old female.", f"First complaint reported: {fever} Yes."]
    assert "- Do you have a cough? Yes." in vignette  # binary
    assert "- Characterize your pain: Sharp, sensitive." in vignette  # multi-choice, merged
    assert "- How intense is the pain? 6 (on a scale of 0 to 10)." in vignette  # numeric scale
    assert "- Have you traveled out of the country in the last 4 weeks? No." in vignette  # categorical, antecedents
    assert vignette.index("Antecedents") < vignette.index("Do you smoke cigarettes? Yes.")
    assert q.gold == ["Pneumonia"] and q.inputs["differential"] == [["Pneumonia", 0.61], ["Bronchitis", 0.3],
                                                                    ["URTI", 0.005]]


def test_zipped_patients_and_french_condition_names_are_read(ddx, tmp_path):
    french = {**PATIENT, "PATHOLOGY": "Pneumonie", "DIFFERENTIAL_DIAGNOSIS": "[['Pneumonie', 0.7], ['Bronchite', 0.3]]"}
    folder = release_dir(tmp_path, [french], name="release_test_patients.csv")
    (folder / "release_conditions.json").write_text(json.dumps({
        "Pneumonia": {"condition_name": "Pneumonia", "cond-name-fr": "Pneumonie", "cond-name-eng": "Pneumonia"},
        "Bronchitis": {"condition_name": "Bronchitis", "cond-name-fr": "Bronchite", "cond-name-eng": "Bronchitis"},
    }))
    with zipfile.ZipFile(folder / "release_test_patients.zip", "w") as archive:
        archive.write(folder / "release_test_patients.csv", "release_test_patients")
    (q,) = ddx.load(folder / "release_test_patients.zip")
    assert q.gold == ["Pneumonia"] and q.inputs["differential"] == [["Pneumonia", 0.7], ["Bronchitis", 0.3]]


@pytest.mark.parametrize(("change", "message"), [
    ({"PATHOLOGY": "Appendicitis"}, r"line 3: PATHOLOGY 'Appendicitis' is not one of the 49 DDXPlus pathologies"),
    ({"EVIDENCES": "['E_999']"}, r"line 3: evidence 'E_999' is not described in .*release_evidences.json"),
    ({"EVIDENCES": "['E_91'"}, r"line 3: column EVIDENCES is not a Python literal list"),
    ({"DIFFERENTIAL_DIAGNOSIS": "[['URTI', 1.5]]"}, r"line 3: DIFFERENTIAL_DIAGNOSIS must be \[\[pathology, prob"),
    ({"SEX": "X"}, r"line 3: SEX must be M or F"),
])
def test_malformed_patients_are_named_by_file_and_line(ddx, tmp_path, change, message):
    folder = release_dir(tmp_path, [PATIENT, {**PATIENT, **change}])
    with pytest.raises(DataFormatError, match=rf"release_test_patients, {message}"):
        ddx.load(folder / "release_test_patients")


def test_missing_files_and_columns_say_what_was_expected(ddx, tmp_path):
    with pytest.raises(DataFormatError, match=r"absent.csv: no such file; expected a DDXPlus patients CSV"):
        ddx.load(tmp_path / "absent.csv")
    bad = tmp_path / "patients.csv"
    bad.write_text("AGE,SEX\n30,M\n")
    with pytest.raises(DataFormatError, match=r"patients.csv: missing columns \['PATHOLOGY', 'EVIDENCES'"):
        ddx.load(bad)


def test_paper_format_rows_load_through_datasets_and_directly(ddx, tmp_path):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "medDataset_test.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"question": "A 30-year-old man with fever and a productive cough ...", "answer": "pneumonia"},
        {"question": "Sudden chest pain ...", "answers": ["Spontaneous pneumothorax", "Pulmonary embolism"]},
        {"problem": "Wheezing ...", "answer": [["Bronchospasm / acute asthma exacerbation", 0.8], ["Croup", 0.2]]},
    ]))
    direct = ddx.load(path)
    rows = datasets.load_dataset("json", data_files=str(path), split="train").to_list()
    assert [q.gold for q in ddx.from_records([(f"row {i}", r) for i, r in enumerate(rows)], None)] == \
        [q.gold for q in direct]
    assert [q.gold for q in direct] == [["Pneumonia"], ["Spontaneous pneumothorax", "Pulmonary embolism"],
                                        ["Bronchospasm / acute asthma exacerbation", "Croup"]]
    assert "differential" not in direct[0].inputs and direct[2].inputs["differential"][1] == ["Croup", 0.2]
    with pytest.raises(DataFormatError, match=r"line 1: expected .*a presentation column"):
        path.write_text(json.dumps({"text": "no diagnosis"}))
        ddx.load(path)


@pytest.mark.parametrize(("text", "condition", "tier"), [
    ("Pneumonia", "Pneumonia", "exact"),
    ("the pneumonia.", "Pneumonia", "exact"),  # articles and punctuation
    ("GUILLAIN BARRE SYNDROME", "Guillain-Barré syndrome", "exact"),  # accents and hyphens folded
    ("heart attack", "Possible NSTEMI / STEMI", "synonym"),
    ("Pertussis", "Whooping cough", "synonym"),
    ("laryngospasm", "Larygospasm", "synonym"),  # the release's spelling is canonical
    ("J18.9", "Pneumonia", "icd10"),  # a code in a listed WHO category
    ("j06.9", "URTI", "icd10"),
    ("Pneumonia (J18.9)", "Pneumonia", "exact"),
    ("Pnuemonia", "Pneumonia", "fuzzy"),  # one transposition: 88.9
    ("unstabel angina", "Unstable angina", "fuzzy"),  # beats "stable angina" by the margin
    ("Tuberclosis", "Tuberculosis", "fuzzy"),
    ("sinusitis", None, "none"),  # acute, chronic or allergic: ambiguous on purpose
    ("COVID-19", None, "none"),
    ("I20.1", None, "none"),  # I20 is split between two conditions: no category match
    ("", None, "none"),
])
def test_free_text_maps_onto_conditions_in_tiers(text, condition, tier):
    match = ConditionMatcher(ConditionIndex.build()).match_text(text)
    assert (match.condition, match.tier) == (condition, tier)


def test_judge_records_tier_and_condition_and_keeps_the_differential_for_metrics(ddx, tmp_path):
    from mabench.metrics import ddx_metrics

    (q,) = ddx.load(release_dir(tmp_path, [PATIENT]))
    text = ("<answer1>Community-acquired pneumonia</answer1><confidence1>0.6</confidence1>"
            "<answer2>bronchitiss</answer2><confidence2>0.3</confidence2>"
            "<answer3>Lyme disease</answer3><confidence3>0.05</confidence3>")
    gen = Generation(text=text, prompt_tokens=5, completion_tokens=20, finish_reason="stop")
    record = build_record(ddx, q, "multi", 3, [gen])
    assert [(j.correct, j.method, j.detail) for j in record.judgements] == [
        (True, "synonym", "Pneumonia"), (False, "fuzzy", "Bronchitis"), (False, "none", None)]
    assert record.judgements[0].gold_index == 0 and record.gold == ["Pneumonia"]
    evidence = record.evidence
    assert isinstance(evidence, DiagnosisEvidence) and evidence.differential is not None
    assert evidence.true_pathology == "Pneumonia" and evidence.differential[0] == ("Pneumonia", 0.61)
    assert [m.tier for m in evidence.mapping] == ["synonym", "fuzzy", "none"]
    predicted = [(j.detail or c.text, c.confidence) for j, c in zip(record.judgements, record.answer_set.candidates,
                                                                     strict=True)]
    scores = ddx_metrics(predicted, evidence.differential, evidence.true_pathology)
    assert scores["GTPA@1"] == 1.0 and scores["DDR"] == 1.0  # URTI at 0.005 is below the 0.01 threshold


def test_judge_reply_is_read_as_a_number_else_as_a_condition_name():
    matcher = ConditionMatcher(ConditionIndex.build())
    names = matcher.index.names
    assert parse_judge_reply(" 38.", names, matcher) == names[37]
    assert parse_judge_reply("<think>maybe 5</think>0", names, matcher) is None
    assert parse_judge_reply("99", names, matcher) is None
    assert parse_judge_reply("Acute pulmonary oedema", names, matcher) == "Acute pulmonary edema"
    assert parse_judge_reply("None.", names, matcher) is None


def test_judge_model_tier_runs_through_a_real_backend_only_for_what_tiers_1_and_2_leave(tiny_model, tmp_path):
    from mabench.backends import judge_model
    from mabench.backends.hf import HFBackend

    ddx = DDXPlus(judge_model=judge_model(HFBackend(str(tiny_model))))
    (q,) = ddx.load(release_dir(tmp_path, [PATIENT]))
    answers = parse_answer_set("<answer1>pneumonia</answer1><confidence1>0.5</confidence1>"
                               "<answer2>an infection of the lung alveoli</answer2><confidence2>0.3</confidence2>", k=2)
    judgements, evidence = ddx.judge(q, answers)
    assert [m.tier for m in evidence.mapping] == ["exact", "judge-model"]
    decided = evidence.mapping[1].condition
    assert decided is None or decided in CONDITIONS  # whatever the random model said, it maps into the 49
    assert judgements[1].detail == decided and judgements[1].method == ("judge-model" if decided else "none")
    assert judgements[0].correct


def test_every_release_condition_name_maps_to_itself():
    index = ConditionIndex.build()
    assert all(index.lookup(name) == (name, "exact") for name in CONDITIONS)
    assert len({hit[0] for hit in index.by_key.values()}) == 49

