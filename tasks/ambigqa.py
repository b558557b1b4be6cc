"""AmbigQA (Min et al., EMNLP 2020): open-domain questions with several plausible answers.

Sources: the official light JSON (``dev_light.json``), the Hub's ``sewon/ambig_qa`` (config "light", whose
annotations `datasets` stores column-wise), and the flattened ``mehuldamani/ambigQA`` of the Multi-RLCR
paper (a question plus a list of answers). Gold: one alias group per distinct answer, merged over all
annotations. Judge: SQuAD-normalised exact match against every alias; the record keeps the annotations (for
AmbigQA F1) and the covered groups.

The bundled sample is 100 questions of the official dev split, in its light schema and with their NQ ids,
stratified to keep the dev split's mix of single- and multi-answer questions (rule and counts in
``tasks/data/NOTICE.md``; rebuilt by ``scripts/build_bundled_data.py``). It is an evaluation set: a
training split taken from the dev split must leave out `bundled_ids()`.
"""

from __future__ import annotations

from typing import Any

from mabench.answer_format import multi_instructions, parse_answer_set, single_instructions
from mabench.text import normalize_answer
from mabench.types import AmbigQAEvidence, AnswerSet, Judgement, Message, Mode, Question

from .hub import HubDefaults, is_hub_spec, load_hub_rows, parse_hub_spec
from .registry import DataFormatError, task
from .sources import DataSource, bundled, read_records, require_file

SAMPLE = "ambigqa_sample.json"
EXPECTED = ("an AmbigQA light JSON array (id, question, annotations), or question + answers records "
            "(JSON, JSON lines or Parquet)")
HUB_IDS = {
    "sewon/ambig_qa": HubDefaults("light", "validation"),
    "mehuldamani/ambigQA": HubDefaults(None, "test"),
}

SYSTEM_PROMPT = (
    "You answer open-domain questions that may be ambiguous: a question can have several valid readings, "
    "each with its own answer. Answers are graded by exact match, so write only a short name, date or number."
)


def bundled_ids() -> frozenset[str]:
    """The ids of the bundled evaluation sample; training questions must not be among them."""
    records = read_records(bundled(SAMPLE), f"bundled {SAMPLE}", EXPECTED)
    return frozenset(str(record["id"]) for _, record in records)


def annotation_groups(annotation: dict[str, Any]) -> list[list[str]]:
    """The answer groups (alias lists) of one light-format annotation."""
    if annotation.get("type") == "singleAnswer":
        return [list(annotation["answer"])]
    if annotation.get("type") == "multipleQAs":
        return [list(pair["answer"]) for pair in annotation["qaPairs"]]
    raise KeyError(f"annotation type must be singleAnswer or multipleQAs, got {annotation.get('type')!r}")


def merge_groups(annotations: list[list[list[str]]]) -> list[list[str]]:
    """Distinct answers over all annotations: groups that share a normalised alias are one answer."""
    merged: list[list[str]] = []
    for groups in annotations:
        for group in groups:
            keys = {normalize_answer(a) for a in group}
            home = next((m for m in merged if keys & {normalize_answer(a) for a in m}), None)
            if home is None:
                merged.append(list(dict.fromkeys(group)))
            else:
                home.extend(a for a in group if a not in home)
    return merged


def question_from_light(record: dict[str, Any], where: str) -> Question:
    try:
        annotations = [annotation_groups(a) for a in record["annotations"]]
        qid, text = str(record["id"]), str(record["question"])
    except (KeyError, TypeError) as err:
        raise DataFormatError(
            f"{where}: expected an AmbigQA light record with 'id', 'question' and 'annotations' "
            f"(singleAnswer/multipleQAs); problem: {err}"
        ) from err
    if not annotations:
        raise DataFormatError(f"{where}: record {qid!r} has no annotations")
    return Question(
        id=qid, task="ambigqa", inputs={"question": text, "annotations": annotations},
        gold=merge_groups(annotations),
    )


def annotations_from_columns(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """The light annotations of one row as `datasets` stores them (a dict of lists: {"type": [...],
    "answer": [[...]], "qaPairs": [{"question": [...], "answer": [[...]]}]}), as a list of dicts."""
    types = list(columns["type"])
    answers = list(columns.get("answer") or [[] for _ in types])
    pairs = list(columns.get("qaPairs") or [{"question": [], "answer": []} for _ in types])
    if not len(types) == len(answers) == len(pairs):
        raise KeyError(f"column lengths differ: type {len(types)}, answer {len(answers)}, qaPairs {len(pairs)}")
    out: list[dict[str, Any]] = []
    for kind, answer, pair in zip(types, answers, pairs, strict=True):
        if kind == "singleAnswer":
            out.append({"type": kind, "answer": list(answer)})
        else:
            qa = zip(pair["question"], pair["answer"], strict=True)
            out.append({"type": kind, "qaPairs": [{"question": q, "answer": list(a)} for q, a in qa]})
    return out


def question_from_flat(record: dict[str, Any], where: str, fallback_id: str) -> Question:
    """A row of the flat format: a question and its answers (a string, a list of distinct answers, or a
    list of alias lists). The answers form one annotation, so AmbigQA F1 reads them as one gold set."""
    key = "answers" if record.get("answers") is not None else "answer"  # `datasets` fills absent columns
    raw = record.get(key)
    text = record.get("question") or record.get("problem")
    if not isinstance(text, str) or raw is None:
        raise DataFormatError(
            f"{where}: expected an AmbigQA record: light format ('id', 'question', 'annotations') or flat "
            f"format ('question' plus 'answers' or 'answer'); got fields {sorted(record)}"
        )
    items = [raw] if isinstance(raw, str) else list(raw)
    groups = [list(a) if isinstance(a, (list, tuple)) else [a] for a in items]
    if not groups or not all(g and all(isinstance(a, str) for a in g) for g in groups):
        raise DataFormatError(f"{where}: field {key!r} must be a non-empty string or list of strings, got {raw!r:.80}")
    merged = merge_groups([groups])
    qid = str(record["id"]) if record.get("id") is not None else fallback_id
    return Question(id=qid, task="ambigqa", inputs={"question": text, "annotations": [merged]}, gold=merged)


def question_from_record(record: Any, where: str, fallback_id: str) -> Question:
    """One record in any supported shape: light (list-of-dicts or column-wise annotations) or flat."""
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    if record.get("annotations") is None:
        return question_from_flat(record, where, fallback_id)
    annotations = record["annotations"]
    if isinstance(annotations, dict):
        try:
            record = {**record, "annotations": annotations_from_columns(annotations)}
        except (KeyError, TypeError, ValueError) as err:
            raise DataFormatError(f"{where}: column-wise annotations are malformed: {err}") from err
    return question_from_light(record, where)


def questions_from_records(records: list[tuple[str, Any]], prefix: str) -> list[Question]:
    questions = [question_from_record(r, where, f"{prefix}-{i:05d}") for i, (where, r) in enumerate(records)]
    seen: dict[str, str] = {}
    for (where, _), q in zip(records, questions, strict=True):
        if q.id in seen:
            raise DataFormatError(f"{where}: id {q.id!r} repeats {seen[q.id]}")
        seen[q.id] = where
    return questions


@task(
    "ambigqa",
    description="Ambiguous open-domain QA; several readings, one answer each",
    source="sewon/ambig_qa (light) or mehuldamani/ambigQA (flat); bundled: 100 real dev questions",
    hub_ids=tuple(HUB_IDS),
    metrics=("ambigqa_f1", "ambigqa_f1_multi"),
)
class AmbigQA:
    def load(self, data_path: DataSource = None) -> list[Question]:
        """The bundled sample; a local light JSON, a JSON/JSON-lines/Parquet file in the flat Hub format;
        or a Hub source such as ``hf:sewon/ambig_qa`` or ``hf:mehuldamani/ambigQA``."""
        if data_path is None:
            return questions_from_records(read_records(bundled(SAMPLE), f"bundled {SAMPLE}", EXPECTED), "sample")
        if is_hub_spec(data_path):
            source = parse_hub_spec(data_path, HUB_IDS)
            rows = load_hub_rows(source)
            return questions_from_records([(f"{source}, row {i}", r) for i, r in enumerate(rows)], source.repo_id)
        path = require_file(data_path, EXPECTED)
        return questions_from_records(read_records(path, str(path), EXPECTED), path.stem)

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        how = multi_instructions(k) if mode == "multi" else single_instructions()
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Question: {question.inputs['question']}\n\n{how}"},
        ]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_answer_set(text, k if mode == "multi" else None)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], AmbigQAEvidence]:
        judgements = [judge_candidate(c.text, c.rank, question.gold) for c in answers.candidates]
        covered = sorted({j.gold_index for j in judgements if j.gold_index is not None})
        return judgements, AmbigQAEvidence(annotations=question.inputs["annotations"], covered=covered)


def judge_candidate(text: str, rank: int, gold: list[list[str]]) -> Judgement:
    key = normalize_answer(text)
    if key:
        for index, aliases in enumerate(gold):
            for position, alias in enumerate(aliases):
                if normalize_answer(alias) == key:
                    method = "exact" if position == 0 else "alias"
                    return Judgement(rank=rank, correct=True, gold_index=index, method=method, detail=alias)
    return Judgement(rank=rank, correct=False)
