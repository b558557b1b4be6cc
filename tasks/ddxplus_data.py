"""DDXPlus patient records (Fansi Tchango et al. 2022) and their rendering into a clinical vignette.

A patient file (``release_{train,validate,test}_patients``, CSV, optionally zipped as released) has the
columns AGE, SEX, PATHOLOGY, EVIDENCES, INITIAL_EVIDENCE and DIFFERENTIAL_DIAGNOSIS; EVIDENCES and
DIFFERENTIAL_DIAGNOSIS are Python literals. Evidences read ``E_91`` (binary), ``E_54_@_V_161`` (a
categorical or multi-choice value) or ``E_56_@_7`` (a numeric scale value); their wording comes from the
release's ``release_evidences.json``.
"""

from __future__ import annotations

import ast
import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ddxplus_conditions import ConditionIndex
from .registry import DataFormatError
from .sources import read_json, read_text

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

COLUMNS = ("AGE", "SEX", "PATHOLOGY", "EVIDENCES", "INITIAL_EVIDENCE", "DIFFERENTIAL_DIAGNOSIS")
EXPECTED_PATIENTS = ("a DDXPlus patients CSV (release_test_patients[.csv|.zip]) with columns "
                     + ", ".join(COLUMNS))
EXPECTED_EVIDENCES = "the DDXPlus release_evidences.json (an object keyed by evidence code)"
_SEX = {"M": "male", "F": "female"}
_YES_NO = {"Y": "yes", "N": "no"}  # the release's meaning of V_12 / V_10


@dataclass(frozen=True)
class Patient:
    age: int
    sex: str
    pathology: str  # canonical condition name
    evidences: tuple[str, ...]  # raw codes, in file order
    initial_evidence: str
    differential: tuple[tuple[str, float], ...]  # canonical names, as listed


@dataclass(frozen=True)
class EvidenceCatalog:
    """The evidence metadata: code -> its release_evidences.json entry."""

    entries: Mapping[str, Mapping[str, Any]]
    source: str

    @classmethod
    def read(cls, source: Path | Traversable, name: str) -> EvidenceCatalog:
        data = read_json(source, name, EXPECTED_EVIDENCES)
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("question_en"), str) and v.get("data_type") in ("B", "C", "M")
            for v in data.values()
        ):
            raise DataFormatError(f"{name}: expected {EXPECTED_EVIDENCES}, each with question_en and data_type")
        return cls(data, name)

    def entry(self, code: str, where: str) -> Mapping[str, Any]:
        if code not in self.entries:
            raise DataFormatError(
                f"{where}: evidence {code!r} is not described in {self.source}; put the release's "
                "release_evidences.json beside the patients file"
            )
        return self.entries[code]


def read_patient_rows(source: Path | Traversable, name: str) -> list[tuple[str, dict[str, str]]]:
    """(where, row) per data row of a patients CSV; `where` names the file and its line."""
    if name.lower().endswith(".zip"):
        with zipfile.ZipFile(Path(str(source))) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DataFormatError(f"{name}: expected one patients CSV inside the zip, found {members}")
            text = archive.read(members[0]).decode("utf-8")
            name = f"{name}!{members[0]}"
    else:
        text = read_text(source, name, EXPECTED_PATIENTS)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataFormatError(f"{name}: missing columns {missing}; expected {EXPECTED_PATIENTS}")
    return [(f"{name}, line {reader.line_num}", row) for row in reader]


def _literal(value: str, column: str, where: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError) as err:
        raise DataFormatError(f"{where}: column {column} is not a Python literal list ({err}): {value!r:.80}") from err


def parse_differential(raw: Any, index: ConditionIndex, where: str) -> tuple[tuple[str, float], ...]:
    """[[name, probability], ...] with names mapped onto the 49 canonical conditions."""
    pairs = _literal(raw, "DIFFERENTIAL_DIAGNOSIS", where) if isinstance(raw, str) else raw
    out = []
    for item in pairs if isinstance(pairs, (list, tuple)) else [None]:
        ok = isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
        prob = item[1] if ok else None
        if not ok or isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
            raise DataFormatError(f"{where}: DIFFERENTIAL_DIAGNOSIS must be [[pathology, probability], ...]; "
                                  f"got {item!r:.80}")
        out.append((canonical(item[0], index, "DIFFERENTIAL_DIAGNOSIS", where), float(prob)))
    return tuple(out)


def canonical(name: str, index: ConditionIndex, column: str, where: str) -> str:
    hit = index.lookup(name)
    if hit is None:
        raise DataFormatError(f"{where}: {column} {name!r} is not one of the 49 DDXPlus pathologies")
    return hit[0]


def parse_patient(row: Mapping[str, Any], index: ConditionIndex, where: str) -> Patient:
    try:
        age = int(row["AGE"])
    except (TypeError, ValueError) as err:
        raise DataFormatError(f"{where}: AGE must be an integer, got {row['AGE']!r}") from err
    sex = str(row["SEX"]).strip()
    if sex not in _SEX:
        raise DataFormatError(f"{where}: SEX must be M or F, got {sex!r}")
    raw = row["EVIDENCES"]
    evidences = _literal(raw, "EVIDENCES", where) if isinstance(raw, str) else raw
    if not isinstance(evidences, (list, tuple)) or not all(isinstance(e, str) for e in evidences):
        raise DataFormatError(f"{where}: EVIDENCES must be a list of evidence codes, got {raw!r:.80}")
    return Patient(
        age=age, sex=sex, pathology=canonical(str(row["PATHOLOGY"]), index, "PATHOLOGY", where),
        evidences=tuple(evidences), initial_evidence=str(row["INITIAL_EVIDENCE"]).strip(),
        differential=parse_differential(row["DIFFERENTIAL_DIAGNOSIS"], index, where),
    )


def _value_text(entry: Mapping[str, Any], values: Sequence[str], code: str, where: str) -> str:
    if not values:
        return "yes"
    meanings = entry.get("value_meaning") or {}
    out = []
    for value in values:
        if value in meanings:
            meaning = meanings[value]
            text = meaning.get("en", value) if isinstance(meaning, dict) else str(meaning)
            out.append(_YES_NO.get(text, text))
        elif value.lstrip("-").isdigit() and not meanings:
            scale = [v for v in entry.get("possible-values", []) if isinstance(v, int)]
            out.append(f"{value} (on a scale of {min(scale)} to {max(scale)})" if scale else value)
        else:
            raise DataFormatError(f"{where}: value {value!r} of evidence {code} is not in its possible values")
    return ", ".join(out)


def render_vignette(patient: Patient, catalog: EvidenceCatalog, where: str) -> str:
    """A readable presentation: demographics, the complaint the patient came with, then every reported
    symptom and antecedent as question and answer, in the order of the record (values of one evidence
    merged onto one line)."""
    grouped: dict[str, list[str]] = {}
    for item in patient.evidences:
        code, _, value = item.partition("_@_")
        grouped.setdefault(code, [])
        if value:
            grouped[code].append(value)
    symptoms, antecedents = [], []
    for code, values in grouped.items():
        entry = catalog.entry(code, where)
        answer = _value_text(entry, values, code, where)
        line = f"- {entry['question_en'].strip()} {answer[:1].upper()}{answer[1:]}."
        (antecedents if entry.get("is_antecedent") else symptoms).append(line)
    initial = catalog.entry(patient.initial_evidence, where)["question_en"].strip()
    parts = [
        f"Patient: {patient.age}-year-old {_SEX[patient.sex]}.",
        f"First complaint reported: {initial} Yes.",
        "Symptoms:", *(symptoms or ["- none reported"]),
        "Antecedents (history and risk factors):", *(antecedents or ["- none reported"]),
    ]
    return "\n".join(parts)


def find_evidences_file(data_path: Path) -> Path | None:
    """release_evidences.json beside the patients file (or inside the directory given)."""
    folder = data_path if data_path.is_dir() else data_path.parent
    candidate = folder / "release_evidences.json"
    return candidate if candidate.is_file() else None


def find_patients_file(folder: Path) -> Path:
    """The one patients file in a release directory (test split preferred)."""
    found = sorted(p for p in folder.iterdir() if p.name.startswith("release_") and "patients" in p.name)
    test = [p for p in found if "test" in p.name]
    if test or len(found) == 1:
        return (test or found)[0]
    raise DataFormatError(f"{folder}: expected one release_*_patients file in this directory, found "
                          f"{[p.name for p in found] or 'none'}; pass the file itself with --data-path")
