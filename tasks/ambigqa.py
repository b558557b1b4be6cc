"""AmbigQA (Min et al., EMNLP 2020): open-domain questions with several plausible answers.

Gold: one alias group per distinct answer, merged over all annotations. Judge: SQuAD-normalised exact
match against every alias; the record keeps the raw annotations (for AmbigQA F1) and the covered groups.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from mabench.answer_format import multi_instructions, parse_answer_set, single_instructions
from mabench.text import normalize_answer
from mabench.types import AnswerSet, Judgement, Message, Mode, Question

from .registry import DataFormatError, task

SYSTEM_PROMPT = (
    "You answer open-domain questions that may be ambiguous: a question can have several valid readings, "
    "each with its own answer. Answers are graded by exact match, so write only a short name, date or number."
)


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


@task(
    "ambigqa",
    description="Ambiguous open-domain QA; several readings, one answer each",
    source="AmbigQA light format (sewon/ambig_qa); bundled sample of 34 questions",
)
class AmbigQA:
    def load(self, data_path: Path | None = None) -> list[Question]:
        if data_path is None:
            source = files("mabench.tasks").joinpath("data/ambigqa_sample.json")
            name = "bundled ambigqa_sample.json"
        else:
            source, name = Path(data_path), str(data_path)
            if not source.is_file():
                raise DataFormatError(f"{name}: no such file; expected an AmbigQA light JSON array")
        try:
            records = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{name}: not valid JSON ({err}); expected an AmbigQA light JSON array") from err
        if not isinstance(records, list):
            raise DataFormatError(f"{name}: expected a JSON array of records, got {type(records).__name__}")
        return [question_from_light(r, f"{name}, record {i}") for i, r in enumerate(records)]

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        how = multi_instructions(k) if mode == "multi" else single_instructions()
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Question: {question.inputs['question']}\n\n{how}"},
        ]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_answer_set(text, k if mode == "multi" else None)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], dict[str, Any]]:
        judgements = [judge_candidate(c.text, c.rank, question.gold) for c in answers.candidates]
        covered = sorted({j.gold_index for j in judgements if j.gold_index is not None})
        return judgements, {"annotations": question.inputs["annotations"], "covered": covered}


def judge_candidate(text: str, rank: int, gold: list[list[str]]) -> Judgement:
    key = normalize_answer(text)
    if key:
        for index, aliases in enumerate(gold):
            for position, alias in enumerate(aliases):
                if normalize_answer(alias) == key:
                    method = "exact" if position == 0 else "alias"
                    return Judgement(rank=rank, correct=True, gold_index=index, method=method, detail=alias)
    return Judgement(rank=rank, correct=False)
