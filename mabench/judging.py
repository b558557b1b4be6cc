"""From generations to records: parse a question's generations, judge the answers, and give the judges that run
programs their sandbox. The runner calls these for every batch; lm-eval's scoring bridge calls `build_record`.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .answer_format import has_duplicate_answers
from .config import RunConfig
from .types import Generation, JudgeUnavailable, Mode, Question, SampleRecord, Usage

RAY_JUDGE_THREADS = 16  # records of a batch judged at once on the Ray sandbox (each runs its K programs)


def build_record(task: Any, question: Question, mode: Mode, k: int, generations: list[Generation]) -> SampleRecord:
    """Parse and judge one question's generations. In bok, each sample's single answer is one candidate,
    in sample order, duplicates kept; the set's flags summarise the samples."""
    if mode == "multi":
        answer_set = task.parse(generations[0].text, mode, k)
    else:
        parsed = [task.parse(g.text, mode, k) for g in generations]
        candidates = [
            p.candidates[0].model_copy(update={"rank": i}) for i, p in enumerate(parsed, start=1) if p.candidates
        ]
        answer_set = parsed[0].model_copy(update={
            "candidates": candidates,
            "format_ok": all(p.format_ok for p in parsed),
            "missing_confidence": any(p.missing_confidence for p in parsed),
            "confidence_out_of_range": any(p.confidence_out_of_range for p in parsed),
            "confidence_percent_scale": any(p.confidence_percent_scale for p in parsed),
            "sum_exceeds_one": False,  # independent samples: their confidences need not sum to 1
            "duplicate_answers": has_duplicate_answers(c.text for c in candidates),
        })
    errors = [g.error or "generation failed" for g in generations if g.finish_reason == "error"]
    try:
        judgements, found = task.judge(question, answer_set)
    except JudgeUnavailable as failure:  # e.g. the sandbox failed: an error to retry, never a wrong answer
        judgements, found = failure.judgements, failure.evidence
        errors.append(str(failure))
    # A judge returns typed evidence (its metrics read it); a third-party judge's plain dict is kept as `extra`.
    extra = found if isinstance(found, dict) else {}
    evidence = None if isinstance(found, dict) else found
    usage = Usage(
        prompt_tokens=generations[0].prompt_tokens if generations else 0,
        completion_tokens=sum(g.completion_tokens for g in generations),
    )
    return SampleRecord(
        question_id=question.id, task=question.task, mode=mode, gold=question.gold,
        generations=generations, answer_set=answer_set, judgements=judgements, usage=usage, evidence=evidence,
        extra=extra,
        error="; ".join(errors) if errors else None,
    )



def judge_batch(task: Any, mode: Mode, config: RunConfig, todo: list[tuple[Question, list[Generation]]]
                 ) -> list[SampleRecord]:
    """Records for a batch's questions, in order. With the Ray sandbox, the questions are judged RAY_JUDGE_THREADS at
    a time, so that a batch's programs fill the cluster instead of K at a time; each record is still judged by
    itself (RaySandbox serves concurrent calls, each program keeps its own verdict)."""
    def one(item: tuple[Question, list[Generation]]) -> SampleRecord:
        return build_record(task, item[0], mode, config.k, item[1])

    if config.sandbox_executor != "ray" or not task.spec.needs_sandbox or len(todo) < 2:
        return [one(item) for item in todo]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(RAY_JUDGE_THREADS, len(todo))) as pool:
        return list(pool.map(one, todo))


def share_sandbox(tasks: Any, stack: contextlib.ExitStack, backend: str = "auto", executor: str = "local",
                   ray_address: str | None = None) -> dict[str, Any] | None:
    """Code tasks judge in one warm sandbox for the whole run, instead of starting one per record: this machine's
    pool, or with `executor` "ray" sandboxed actors on the Ray cluster at `ray_address` (else $RAY_ADDRESS, else a
    local Ray). Returns the isolation in force, for the manifest. Raises SandboxUnavailable when `backend` does not
    work here (or on a Ray node), RayUnavailable when Ray is missing or unreachable."""
    users = [t for t in tasks if t.spec.needs_sandbox]  # the task's spec says so; no other run starts one
    if not users:
        return None
    from mabench.sandbox import SandboxConfig, open_sandbox

    config = SandboxConfig(backend=backend, executor=executor)  # type: ignore[arg-type]
    sandbox = stack.enter_context(open_sandbox(2, config, ray_address=ray_address))
    for task in users:
        task.attach_sandbox(sandbox)
    return {**sandbox.isolation.to_dict(), "executor": executor, **({"ray_nodes": sandbox.nodes}
                                                                   if hasattr(sandbox, "nodes") else {})}
