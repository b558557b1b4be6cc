"""Record builders shared by the metric tests: `make_record` writes one SampleRecord tersely."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mabench.metrics import DEFAULT_METRICS
from mabench.types import AnswerSet, Candidate, Generation, Judgement, SampleRecord, Usage


def make_record(
    qid: str,
    answers: Sequence[str],
    correct: Sequence[bool],
    confidences: Sequence[float | None] | None = None,
    *,
    gold: Sequence[Any] = ("gold",),
    gold_index: Sequence[int | None] | None = None,
    mode: str = "multi",
    task: str = "toy",
    format_ok: bool = True,
    duplicate_answers: bool = False,
    sum_exceeds_one: bool = False,
    prompt_tokens: int = 10,
    completion_tokens: int = 30,
    sample_tokens: Sequence[int] | None = None,
    method: str = "exact",
    detail: Sequence[str | None] | None = None,
    extra: dict[str, Any] | None = None,
) -> SampleRecord:
    """One record; bok records get one generation per answer (tokens from `sample_tokens`)."""
    confs = list(confidences) if confidences is not None else [None] * len(answers)
    gidx = list(gold_index) if gold_index is not None else [0 if c else None for c in correct]
    details = list(detail) if detail is not None else [None] * len(answers)
    cands = [
        Candidate(text=a, confidence=c, rank=i + 1)
        for i, (a, c) in enumerate(zip(answers, confs, strict=True))
    ]
    judgements = [
        Judgement(rank=i + 1, correct=bool(ok), gold_index=g if ok else None, method=method, detail=d)
        for i, (ok, g, d) in enumerate(zip(correct, gidx, details, strict=True))
    ]
    if mode == "bok":
        per = (
            list(sample_tokens)
            if sample_tokens is not None
            else [completion_tokens // max(len(answers), 1)] * len(answers)
        )
        gens = [
            Generation(
                text=f"<answer>{a}</answer>",
                prompt_tokens=prompt_tokens,
                completion_tokens=t,
                finish_reason="stop",
                sample_index=i,
            )
            for i, (a, t) in enumerate(zip(answers, per, strict=True))
        ]
        completion_tokens = sum(per)
    else:
        gens = [
            Generation(
                text="x" * 7,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                finish_reason="stop",
            )
        ]
    return SampleRecord(
        question_id=qid,
        task=task,
        mode=mode,  # type: ignore[arg-type]
        gold=list(gold),
        generations=gens,
        answer_set=AnswerSet(
            candidates=cands,
            format_ok=format_ok,
            missing_confidence=any(c is None for c in confs),
            duplicate_answers=duplicate_answers,
            sum_exceeds_one=sum_exceeds_one,
        ),
        judgements=judgements,
        usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
        extra=extra or {},
    )


# Every default metric but the embedding one, so that loops and property tests do not load a model.
NO_EMBEDDING = tuple(m for m in DEFAULT_METRICS if m.spec.name != "semantic_diversity")
