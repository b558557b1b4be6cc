"""What the code tasks (MBPP, HumanEval) share: prompts asking for programs in ``<codeN>`` tags, fence
stripping, and a judge that runs every candidate of a record in one `mabench.sandbox.run_many` call.

Programs never run in this process: execution is the sandbox's alone. A candidate passes when the sandbox
reports PASSED for its program followed by its tests. The record's extra keeps one execution entry per
candidate (status, passed, duration, detail, a stderr tail) and the tests it ran against, as an
`ExecutionEvidence`; a program that
ended before its tests did has status ``exited_early`` there (the run summary counts them). When the sandbox
itself fails on a candidate, the judge raises `JudgeUnavailable`: the record is kept with its error set,
excluded from the scores and retried by a resumed run, never scored as a wrong answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mabench.answer_format import has_duplicate_answers, parse_answer_set, tag_skeleton
from mabench.types import AnswerSet, Candidate, Execution, ExecutionEvidence, Judgement, JudgeUnavailable, Mode

if TYPE_CHECKING:
    from mabench.sandbox import ExecutionResult, Sandbox

TAG = "code"
# The metrics only code tasks have (they read judgements made by execution); every code task declares them.
CODE_METRICS = ("pass_at_set", "pass_at_set_top1", "pass_at_set_top2")
STDERR_TAIL = 400
_FENCED = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


def strip_fences(text: str) -> str:
    """The code inside markdown fences (several fenced blocks are joined); an unclosed opening fence, as
    in a truncated generation, is dropped. Text without fences is returned unchanged."""
    blocks = _FENCED.findall(text)
    if blocks:
        return "\n\n".join(block.rstrip() for block in blocks).strip("\n")
    stripped = text.strip("\n")
    if stripped.lstrip().startswith("```"):
        stripped = stripped.split("\n", 1)[1] if "\n" in stripped else ""
    if stripped.rstrip().endswith("```"):
        stripped = stripped.rstrip()[:-3]
    return stripped.strip("\n")


def code_instructions(k: int | None) -> str:
    """Multi mode (k given): K distinct programs with confidences; bok (k None): one program."""
    if k is None:
        return (
            "Write ONE complete Python program inside <code>...</code>, then your confidence that it passes "
            "all the tests, a number between 0 and 1, as <confidence>...</confidence>. Put only code inside "
            "the code tag: no tests, no explanation. You may think first inside <think>...</think>."
        )
    pairs = tag_skeleton(k, TAG)
    return (
        f"Write EXACTLY {k} DISTINCT complete Python programs (different approaches), the most likely correct "
        "first. After each program give your confidence that it passes all the tests, a number between 0 "
        "and 1; the confidences must sum to at most 1. Put only code inside each code tag: no tests, no "
        f"explanation. You may think first inside <think>...</think>. Then write exactly:\n{pairs}"
    )


def parse_programs(text: str, mode: Mode, k: int) -> AnswerSet:
    """Candidates from ``<codeN>`` tags (``<code>`` in bok), with markdown fences stripped."""
    answers = parse_answer_set(text, k if mode == "multi" else None, tag=TAG)
    candidates = [c.model_copy(update={"text": strip_fences(c.text)}) for c in answers.candidates]
    return answers.model_copy(update={"candidates": candidates,
                                      "duplicate_answers": has_duplicate_answers(c.text for c in candidates)})


@dataclass(frozen=True)
class ProgramJudge:
    """Runs candidates in the sandbox. ``sandbox``: a caller-owned `Sandbox` to reuse warm workers (the
    caller closes it); otherwise each record starts ``workers`` fresh workers and closes them."""

    timeout_s: float = 10.0
    memory_mb: int = 1024
    workers: int = 2
    sandbox: Sandbox | None = None

    def run(self, programs: Sequence[tuple[str, str]]) -> list[ExecutionResult]:
        from mabench.sandbox import Program, run_many

        if not programs:
            return []
        items = [Program(code, tests, self.timeout_s, self.memory_mb) for code, tests in programs]
        return run_many(items, workers=min(self.workers, len(items)), progress=False, sandbox=self.sandbox)

    def judge(self, candidates: Sequence[Candidate], build: Callable[[str], tuple[str, str] | None],
              evidence: ExecutionEvidence) -> tuple[list[Judgement], ExecutionEvidence]:
        """One judgement and one execution entry per candidate; `build` turns a candidate's text into
        (program, tests), or None for an empty candidate, which is not run. The executions go into a copy of
        `evidence` (which names the tests and the problem). Raises `JudgeUnavailable` when the sandbox failed
        on any candidate (the record is then retried, not scored)."""
        built = [build(c.text) for c in candidates]
        results = iter(self.run([b for b in built if b is not None]))
        judgements: list[Judgement] = []
        executions: list[Execution] = []
        for c, program in zip(candidates, built, strict=True):
            if program is None:
                judgements.append(Judgement(rank=c.rank, correct=False, method="none", detail="empty program"))
                executions.append(Execution(rank=c.rank, status="not_run", passed=False, detail="empty program"))
                continue
            result = next(results)
            status = result.status.value
            judgements.append(Judgement(rank=c.rank, correct=result.passed, method="execution", detail=status))
            executions.append(Execution(rank=c.rank, status=status, passed=result.passed,
                                        duration_s=round(result.duration_s, 4), detail=result.detail,
                                        stderr=result.stderr[-STDERR_TAIL:]))
        found = evidence.model_copy(update={"executions": executions})
        broken = [e for e in executions if e.status == "sandbox_error"]
        if broken:
            raise JudgeUnavailable(f"the sandbox failed on {len(broken)} of {len(executions)} programs: "
                                   f"{broken[0].detail}", judgements, found)
        return judgements, found
