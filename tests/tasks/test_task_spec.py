"""Tasks declare what they need in their spec: the task-specific metrics that apply to them, the tag their parser
reads, and whether their judge needs the sandbox. Each declaration is checked against what the task really does,
and the consumers (trainer, runner, metrics step) take it from the spec rather than guessing."""

from __future__ import annotations

import contextlib

import pytest

from mabench.answer_format import format_answer_set
from mabench.judging import share_sandbox
from mabench.metrics import DEFAULT_METRICS
from mabench.tasks import available_tasks, load_task, task
from mabench.tasks.medqa import MedQA
from mabench.train.methods import method_spec
from mabench.train.reward_funcs import Scorer

TASKS = sorted(available_tasks())


def _canonical(tag: str, mode: str, k: int) -> str:
    if mode == "multi":
        return format_answer_set([f"x{i}" for i in range(k)], [0.5 / k] * k, tag=tag)
    return f"<{tag}>x0</{tag}><confidence>0.5</confidence>"


@pytest.mark.parametrize("name", TASKS)
def test_every_task_declares_the_tag_its_parser_reads(name: str) -> None:
    found = load_task(name)
    tag = found.spec.answer_tag
    other = "code" if tag != "code" else "answer"
    for mode in found.spec.modes:
        k = 3 if mode == "multi" else 1
        parsed = found.parse(_canonical(tag, mode, k), mode, k)
        assert parsed.format_ok and [c.text for c in parsed.candidates] == [f"x{i}" for i in range(k)], (mode, tag)
        assert not found.parse(_canonical(other, mode, k), mode, k).format_ok, (mode, other)


@pytest.mark.parametrize("name", TASKS)
def test_every_declared_metric_is_a_registered_metric(name: str) -> None:
    registered = {fn.spec.name for fn in DEFAULT_METRICS}
    declared = load_task(name).spec.metrics
    assert set(declared) <= registered, sorted(set(declared) - registered)
    assert len(set(declared)) == len(declared)


@pytest.mark.parametrize("name", TASKS)
def test_a_task_needs_the_sandbox_exactly_when_its_judge_can_use_one(name: str) -> None:
    found = load_task(name)
    assert found.spec.needs_sandbox == hasattr(found, "attach_sandbox")


def test_the_trainer_reads_the_answer_tag_from_the_spec_without_probing_the_parser() -> None:
    parsed: list[str] = []

    class Watched(MedQA):
        def parse(self, text, mode, k):  # type: ignore[no-untyped-def]
            parsed.append(text)
            return super().parse(text, mode, k)

    for name in ("ambigqa", "mbpp", "humaneval"):
        scorer = Scorer(load_task(name), method_spec("multi-rlvr"), 3)
        assert scorer.tag == load_task(name).spec.answer_tag
    scorer = Scorer(Watched(), method_spec("multi-rlvr"), 3)
    assert scorer.tag == "answer" and parsed == []  # no invented outputs were parsed to find it


@task("sandbox-free", description="a task whose judge runs no program", source="test")
class _SandboxFree(MedQA):
    def attach_sandbox(self, sandbox: object) -> None:  # a method is no declaration: the spec says no sandbox
        raise AssertionError("a task that does not need the sandbox was given one")


def test_a_task_not_needing_the_sandbox_never_starts_one() -> None:
    with contextlib.ExitStack() as stack:
        assert share_sandbox([load_task("medqa"), load_task("ambigqa"), _SandboxFree()], stack, "auto") is None
    attached: list[object] = []

    class Coding(type(load_task("humaneval"))):  # type: ignore[misc]
        def attach_sandbox(self, sandbox: object) -> None:
            attached.append(sandbox)

    with contextlib.ExitStack() as stack:  # the real sandbox: only a task whose spec needs it gets one
        isolation = share_sandbox([load_task("medqa"), _SandboxFree(), Coding()], stack, "auto")
        assert isolation is not None and isolation["backend"] and len(attached) == 1
