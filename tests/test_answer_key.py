"""One answer key: a multi set and the same answers sampled in bok are duplicates by the same rule."""

from __future__ import annotations

import pytest

from mabench.answer_format import answer_key, format_answer_set, has_duplicate_answers, parse_answer_set
from mabench.judging import build_record
from mabench.tasks import load_task
from mabench.types import Generation

CASES = [
    (["Paris", " paris ", "Lyon"], True),  # case and surrounding spaces do not make a new answer
    (["The Beatles", "Beatles", "Queen"], False),  # SQuAD normalisation would merge these; the key does not
    (["U.S.", "US", "USA"], False),
    (["Nice", "Lyon", "NICE"], True),
]


@pytest.mark.parametrize(("answers", "duplicate"), CASES)
def test_multi_and_bok_flag_duplicates_by_the_answer_key(answers: list[str], duplicate: bool) -> None:
    assert has_duplicate_answers(answers) is duplicate
    assert (len({answer_key(a) for a in answers}) < len(answers)) is duplicate
    assert parse_answer_set(format_answer_set(answers, [0.3, 0.3, 0.3]), 3).duplicate_answers is duplicate
    task = load_task("ambigqa")
    question = task.load(None)[0]
    samples = [Generation(text=f"<answer>{a}</answer><confidence>0.5</confidence>", prompt_tokens=1,
                          completion_tokens=1, finish_reason="stop", sample_index=i) for i, a in enumerate(answers)]
    assert build_record(task, question, "bok", 3, samples).answer_set.duplicate_answers is duplicate
