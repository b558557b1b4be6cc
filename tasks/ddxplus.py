"""DDXPlus differential diagnosis (Fansi Tchango et al., NeurIPS 2022) over its 49 pathologies.

Sources: the release's patient files (CSV, optionally zipped; the evidence wording comes from the
``release_evidences.json`` beside them, and ``release_conditions.json`` there adds the French names), rendered
into a clinical vignette; and the Multi-RLCR paper's ``mehuldamani/medDataset_25k`` (a clinical presentation
plus its diagnosis), from the Hub or a local JSON/Parquet export. Gold: the true pathology (for a Hub row
whose answer is a list, every listed diagnosis counts, as in the paper's reward); the record's evidence
(`DiagnosisEvidence`) keeps ``true_pathology`` and, when known, the ``differential`` for the ddx_* metrics.

The bundled sample is SYNTHETIC (``synthetic_sample=True``: `mabench tasks`, the run summary and the manifest
say so): the patient files are not redistributable offline here, so ``ddxplus_sample.csv`` holds one patient
per pathology drawn from the release's ``release_conditions.json`` by ``scripts/build_bundled_data.py``. The
evidence catalog beside it is the release's own ``release_evidences.json``. For real scores, download the
release (figshare, doi 10.6084/m9.figshare.20043374) and pass ``--data-path ddxplus=DIR`` (the folder with
``release_test_patients`` and the two JSON files) or ``--data-path ddxplus=hf:mehuldamani/medDataset_25k``.

The judge maps each candidate onto a condition in tiers (see `ddxplus_match`) and records the tier;
`Judgement.detail` is the canonical condition the candidate mapped to, whether or not it is correct. The
optional judge-model tier is a constructor option, a `JudgeModel` (any backend through
``DDXPlus(judge_model=mabench.backends.judge_model(backend))``); the CLI does not expose it yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mabench.answer_format import multi_instructions, parse_answer_set, single_instructions
from mabench.types import (
    AnswerSet,
    ConditionMapping,
    DiagnosisEvidence,
    Judgement,
    JudgeModel,
    Message,
    Mode,
    Question,
    SamplingConfig,
)

from .ddxplus_conditions import ConditionIndex, name_key
from .ddxplus_data import (
    COLUMNS,
    EXPECTED_PATIENTS,
    EvidenceCatalog,
    find_evidences_file,
    find_patients_file,
    parse_differential,
    parse_patient,
    read_patient_rows,
    render_vignette,
)
from .ddxplus_match import FUZZY_THRESHOLD, ConditionMatcher, ModelConditionJudge
from .hub import HubDefaults, is_hub_spec, load_hub_rows, parse_hub_spec
from .registry import DataFormatError, task
from .sources import DataSource, bundled, read_json, read_records, require_file

SAMPLE = "ddxplus_sample.csv"
SAMPLE_EVIDENCES = "ddxplus_evidences.json"
EXPECTED = EXPECTED_PATIENTS + "; or presentation + diagnosis records (JSON, JSON lines, Parquet)"
HUB_IDS = {"mehuldamani/medDataset_25k": HubDefaults(None, "test")}
TEXT_COLUMNS = ("question", "problem", "prompt", "clinical_presentation", "presentation", "vignette", "case")
ANSWER_COLUMNS = ("answers", "answer", "diagnosis", "pathology", "label")
DIFFERENTIAL_COLUMNS = ("differential", "differential_diagnosis", "DIFFERENTIAL_DIAGNOSIS", "ddx")

SYSTEM_PROMPT = (
    "You are a physician making a differential diagnosis from a patient's reported symptoms and "
    "antecedents. The diagnosis is one of these conditions; name it exactly as written here: {names}. "
    "Answers are graded by matching the condition name, so write only the name."
)


def _text_of(value: Any) -> str | None:
    """A presentation: a string, or a chat message list (the user turns are joined)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(m, dict) and "content" in m for m in value):
        return "\n\n".join(str(m["content"]) for m in value if m.get("role", "user") == "user") or None
    return None


@task(
    "ddxplus",
    description="Differential diagnosis over DDXPlus's 49 pathologies from a rendered patient record",
    source="DDXPlus release files or mehuldamani/medDataset_25k; bundled: 49 SYNTHETIC patients, one per pathology",
    synthetic_sample=True,
    hub_ids=tuple(HUB_IDS),
    metrics=("ddx_ddr", "ddx_ddp", "ddx_ddf1", "ddx_gtpa", "ddx_gtpa_at_1", "ddx_gtpa_at_3"),
)
class DDXPlus:
    def __init__(self, judge_model: JudgeModel | None = None, judge_sampling: SamplingConfig | None = None,
                 fuzzy_threshold: float = FUZZY_THRESHOLD) -> None:
        judge = None
        if judge_model is not None:
            judge = (ModelConditionJudge(judge_model, judge_sampling) if judge_sampling
                     else ModelConditionJudge(judge_model))
        self.matcher = ConditionMatcher(ConditionIndex.build(), fuzzy_threshold, judge_model=judge)

    # ------------------------------------------------------------------ loading
    def load(self, data_path: DataSource = None) -> list[Question]:
        if data_path is None:
            catalog = EvidenceCatalog.read(bundled(SAMPLE_EVIDENCES), f"bundled {SAMPLE_EVIDENCES}")
            rows = read_patient_rows(bundled(SAMPLE), f"bundled {SAMPLE}")
            return self.from_patient_rows(rows, catalog, ConditionIndex.build())
        if is_hub_spec(data_path):
            source = parse_hub_spec(data_path, HUB_IDS)
            rows = [(f"{source}, row {i}", r) for i, r in enumerate(load_hub_rows(source))]
            return self.from_records(rows, None)
        path = Path(data_path)
        if path.is_dir():
            path = find_patients_file(path)
        path = require_file(path, EXPECTED)
        if path.suffix.lower() in (".json", ".jsonl", ".parquet", ".gz"):
            return self.from_records(read_records(path, str(path), EXPECTED), path)
        return self.from_patient_rows(read_patient_rows(path, str(path)), *self._metadata(path))

    def _metadata(self, path: Path) -> tuple[EvidenceCatalog, ConditionIndex]:
        """The evidence catalog and condition names beside a patients file; the bundled ones otherwise."""
        evidences = find_evidences_file(path)
        catalog = (EvidenceCatalog.read(evidences, str(evidences)) if evidences
                   else EvidenceCatalog.read(bundled(SAMPLE_EVIDENCES), f"bundled {SAMPLE_EVIDENCES}"))
        conditions = path.parent / "release_conditions.json"
        if conditions.is_file():
            release = read_json(conditions, str(conditions), "the DDXPlus release_conditions.json")
            if not isinstance(release, dict):
                raise DataFormatError(f"{conditions}: expected an object keyed by condition name")
            return catalog, ConditionIndex.from_release(release)
        return catalog, ConditionIndex.build()

    def from_patient_rows(self, rows: list[tuple[str, Any]], catalog: EvidenceCatalog,
                          index: ConditionIndex) -> list[Question]:
        out = []
        for i, (where, row) in enumerate(rows, start=1):
            patient = parse_patient(row, index, where)
            inputs = {
                "vignette": render_vignette(patient, catalog, where), "age": patient.age, "sex": patient.sex,
                "initial_evidence": patient.initial_evidence, "evidences": list(patient.evidences),
                "true_pathology": patient.pathology, "differential": [list(p) for p in patient.differential],
            }
            out.append(Question(id=f"ddxplus-{i:06d}", task="ddxplus", inputs=inputs, gold=[patient.pathology]))
        return out

    def from_records(self, rows: list[tuple[str, Any]], origin: Path | None) -> list[Question]:
        """Hub-format rows (presentation + diagnosis), or rows that carry the patient columns."""
        out, index = [], ConditionIndex.build()
        metadata: tuple[EvidenceCatalog, ConditionIndex] | None = None
        for i, (where, row) in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise DataFormatError(f"{where}: expected an object, got {type(row).__name__}")
            if all(c in row for c in COLUMNS):
                metadata = metadata or (self._metadata(origin) if origin else (
                    EvidenceCatalog.read(bundled(SAMPLE_EVIDENCES), f"bundled {SAMPLE_EVIDENCES}"), index))
                (question,) = self.from_patient_rows([(where, row)], *metadata)
                out.append(question.model_copy(update={"id": f"ddxplus-{i:06d}"}))
                continue
            out.append(self._question_from_presentation(row, where, f"ddxplus-{i:06d}", index))
        return out

    def _question_from_presentation(self, row: dict[str, Any], where: str, fallback_id: str,
                                    index: ConditionIndex) -> Question:
        text = next((_text_of(row[c]) for c in TEXT_COLUMNS if c in row and _text_of(row[c])), None)
        answer_key = next((c for c in ANSWER_COLUMNS if row.get(c) not in (None, "", [])), None)
        if text is None or answer_key is None:
            raise DataFormatError(
                f"{where}: expected {EXPECTED}: a presentation column ({', '.join(TEXT_COLUMNS)}) and a diagnosis "
                f"column ({', '.join(ANSWER_COLUMNS)}); got fields {sorted(row)}"
            )
        raw = row[answer_key]
        differential = None
        if isinstance(raw, list) and raw and all(isinstance(x, (list, tuple)) and len(x) == 2 for x in raw):
            differential = parse_differential(raw, index, where)
            names = [name for name, _ in differential]
        elif isinstance(raw, str) or isinstance(raw, list) and all(isinstance(x, str) for x in raw):
            names = [raw] if isinstance(raw, str) else list(raw)
        else:
            raise DataFormatError(f"{where}: {answer_key!r} must be a diagnosis, a list of them, or "
                                  f"[[diagnosis, probability], ...]; got {raw!r:.80}")
        diff_key = next((c for c in DIFFERENTIAL_COLUMNS if row.get(c) not in (None, "", [])), None)
        if diff_key:
            differential = parse_differential(row[diff_key], index, where)
        gold = list(dict.fromkeys(self.matcher.match_text(n).condition or n.strip() for n in names))
        inputs: dict[str, Any] = {"vignette": text, "true_pathology": gold[0]}
        if differential is not None:
            inputs["differential"] = [list(p) for p in differential]
        qid = str(row["id"]) if row.get("id") is not None else fallback_id
        return Question(id=qid, task="ddxplus", inputs=inputs, gold=gold)

    # ------------------------------------------------------------------ prompting and judging
    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        how = multi_instructions(k) if mode == "multi" else single_instructions()
        system = SYSTEM_PROMPT.format(names="; ".join(self.matcher.index.names))
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": f"{question.inputs['vignette']}\n\nWhat is the diagnosis?\n\n{how}"},
        ]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_answer_set(text, k if mode == "multi" else None)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], DiagnosisEvidence]:
        texts = [c.text for c in answers.candidates]
        matches = self.matcher.match_many(texts)
        gold_at: dict[str, int] = {}
        for i, name in enumerate(question.gold):
            gold_at.setdefault(name_key(name), i)
        judgements, mapping = [], []
        for c, m in zip(answers.candidates, matches, strict=True):
            index = gold_at.get(name_key(m.condition)) if m.condition else None
            if index is None and m.condition is None and name_key(c.text):
                index = gold_at.get(name_key(c.text))  # a gold diagnosis outside the 49, written the same way
            method = m.tier if m.condition else ("exact" if index is not None else "none")
            judgements.append(Judgement(rank=c.rank, correct=index is not None, gold_index=index, method=method,
                                        detail=m.condition))
            mapping.append(ConditionMapping(rank=c.rank, condition=m.condition, tier=m.tier, score=m.score))
        return judgements, DiagnosisEvidence(true_pathology=question.inputs["true_pathology"], mapping=mapping,
                                             differential=question.inputs.get("differential"))
