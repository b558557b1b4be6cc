"""MedQA (Jin et al. 2021), USMLE questions with four options A-D.

Sources: the original ``phrases_no_exclude_*.jsonl`` (question, answer, options {A..D}, meta_info,
answer_idx, metamap_phrases), the Hub's ``GBaker/MedQA-USMLE-4-options`` (the same columns) and
``bigbio/med_qa`` (source schema, options as a list of {key, value}). Multi mode asks for up to K distinct
options with confidences. The judge accepts a letter ("C", "(c)", "Option C"), an option's text, or both
("C. <text>"); a letter whose text names another option is a conflict and is not credited.
"""

from __future__ import annotations

import re
from typing import Any

from mabench.answer_format import parse_answer_set, single_instructions, tag_skeleton
from mabench.text import normalize_answer
from mabench.types import AnswerSet, ChoiceEvidence, Judgement, Message, Mode, Question

from .hub import HubDefaults, is_hub_spec, load_hub_rows, parse_hub_spec
from .registry import DataFormatError, task
from .sources import DataSource, bundled, read_records, require_file

SAMPLE = "medqa_sample.jsonl"
EXPECTED = ("MedQA JSON lines with 'question', 'options' (letter -> text), 'answer_idx' and 'answer' "
            "(e.g. phrases_no_exclude_test.jsonl), or a Parquet export of GBaker/MedQA-USMLE-4-options")
HUB_IDS = {
    "GBaker/MedQA-USMLE-4-options": HubDefaults(None, "test"),
    "bigbio/med_qa": HubDefaults("med_qa_en_4options_source", "test"),
}
SYSTEM_PROMPT = (
    "You are a physician answering United States Medical Licensing Examination (USMLE) questions. Each "
    "question has exactly one best option. Refer to options by their letter."
)

_PREFIX = re.compile(r"^\s*(?:the\s+)?(?:(?:correct|best|final)\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*",
                     re.IGNORECASE)
_LETTER = re.compile(r"^(?P<open>\()?(?P<letter>[A-Za-z])(?(open)\))(?P<sep>\s*[.:)\]\-]\s*|\s+|$)(?P<rest>.*)$",
                     re.DOTALL)


def options_of(record: dict[str, Any], where: str) -> dict[str, str]:
    """Options as {letter: text}, from a dict or from bigbio's list of {"key", "value"}."""
    raw = record.get("options")
    if isinstance(raw, list) and all(isinstance(o, dict) and {"key", "value"} <= set(o) for o in raw):
        raw = {o["key"]: o["value"] for o in raw}
    if not isinstance(raw, dict) or len(raw) < 2 or not all(
        isinstance(k, str) and len(k) == 1 and k.isalpha() and k.isupper() and isinstance(v, str) and v.strip()
        for k, v in raw.items()
    ):
        raise DataFormatError(f"{where}: 'options' must map letters A, B, ... to non-empty texts, got {raw!r:.120}")
    return {letter: raw[letter] for letter in sorted(raw)}


def question_from_record(record: Any, where: str, qid: str) -> Question:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    text = record.get("question")
    if not isinstance(text, str) or not text.strip():
        raise DataFormatError(f"{where}: missing or empty 'question'; expected {EXPECTED}")
    options = options_of(record, where)
    letter = record.get("answer_idx")
    if letter not in options:
        raise DataFormatError(f"{where}: 'answer_idx' must be one of {', '.join(options)}, got {letter!r}")
    answer = record.get("answer")
    if answer is not None and answer != options[letter]:
        raise DataFormatError(
            f"{where}: 'answer' {answer!r:.60} is not the text of option {letter} ({options[letter]!r:.60})"
        )
    inputs = {"question": text, "options": options, "meta_info": record.get("meta_info")}
    return Question(id=qid, task="medqa", inputs=inputs, gold=[[letter, options[letter]]])


def questions_from_records(records: list[tuple[str, Any]]) -> list[Question]:
    """Records in file order; ids are the 1-based record number (the original files carry no id). The
    bundled file is the first records of the official test file, so its ids are the original line numbers."""
    return [question_from_record(r, where, f"medqa-{i:04d}") for i, (where, r) in enumerate(records, start=1)]


def resolve_option(text: str, options: dict[str, str]) -> tuple[str | None, str]:
    """(letter, how) for one candidate; how is "text", "letter", "letter+text", "conflict" or "none"."""
    by_text = _option_by_text(text, options)
    if by_text:
        return by_text, "text"
    body = _PREFIX.sub("", text.strip(), count=1).strip()
    by_text = _option_by_text(body, options)
    if by_text:
        return by_text, "text"
    match = _LETTER.match(body)
    if match is None:
        return None, "none"
    letter, sep, rest = match["letter"].upper(), match["sep"], match["rest"].strip()
    punctuated = bool(match["open"]) or bool(sep.strip())
    if letter not in options or (match["letter"].islower() and rest and not punctuated):
        return None, "none"
    if not rest:
        return letter, "letter"
    named = _option_by_text(rest, options)
    if named == letter:
        return letter, "letter+text"
    if named is not None:
        return None, "conflict"
    # "C. something else": the letter stands when set off by punctuation; "A protein ..." is prose.
    return (letter, "letter") if punctuated else (None, "none")


def _option_by_text(text: str, options: dict[str, str]) -> str | None:
    key = normalize_answer(text)
    if not key:
        return None
    hits = [letter for letter, option in options.items() if normalize_answer(option) == key]
    return hits[0] if len(hits) == 1 else None


def multi_option_instructions(k: int) -> str:
    pairs = tag_skeleton(k)
    return (
        f"Give up to {k} DISTINCT options, most likely first, each as its letter only (for example C). After "
        "each option give your confidence that it is the correct one, a number between 0 and 1; the "
        "confidences must sum to at most 1. You may think first inside <think>...</think>. Then write:\n"
        f"{pairs}\nYou may stop before {k} options if no other option is plausible."
    )


@task(
    "medqa",
    description="USMLE multiple choice (4 options); multi mode lists up to K options",
    source="GBaker/MedQA-USMLE-4-options (MedQA US, 4 options); bundled: first 100 of the test split",
    hub_ids=tuple(HUB_IDS),
)
class MedQA:
    def load(self, data_path: DataSource = None) -> list[Question]:
        if data_path is None:
            return questions_from_records(read_records(bundled(SAMPLE), f"bundled {SAMPLE}", EXPECTED))
        if is_hub_spec(data_path):
            source = parse_hub_spec(data_path, HUB_IDS)
            return questions_from_records([(f"{source}, row {i}", r) for i, r in enumerate(load_hub_rows(source))])
        path = require_file(data_path, EXPECTED)
        return questions_from_records(read_records(path, str(path), EXPECTED))

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        options = question.inputs["options"]
        listing = "\n".join(f"{letter}. {text}" for letter, text in options.items())
        how = (multi_option_instructions(min(k, len(options))) if mode == "multi"
               else single_instructions() + " Answer with the option's letter only.")
        return [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Question: {question.inputs['question']}\n\nOptions:\n{listing}\n\n{how}"},
        ]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        """Multi mode accepts any 1..K complete, consecutive answer/confidence pairs ("up to K")."""
        if mode != "multi":
            return parse_answer_set(text, None)
        answers = parse_answer_set(text, k)
        m = len(answers.candidates)
        if not answers.format_ok and 0 < m < k:
            shorter = parse_answer_set(text, m)
            if shorter.format_ok:
                return shorter
        return answers

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], ChoiceEvidence]:
        options: dict[str, str] = question.inputs["options"]
        truth = question.gold[0][0]
        judgements, chosen = [], []
        for c in answers.candidates:
            letter, how = resolve_option(c.text, options)
            chosen.append(letter)
            correct = letter == truth
            method = how if letter else "none"
            judgements.append(Judgement(rank=c.rank, correct=correct, gold_index=0 if correct else None,
                                        method=method, detail=letter if letter else how if how != "none" else None))
        distinct = sorted({x for x in chosen if x})
        return judgements, ChoiceEvidence(answer_idx=truth, chosen=chosen, set_size=len(distinct),
                                          n_options=len(options))
