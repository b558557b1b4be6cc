"""Tasks are classes carrying a frozen `TaskSpec`, discovered through the `mabench.tasks` entry points.

A third-party package adds a task by declaring, in its own pyproject.toml::

    [project.entry-points."mabench.tasks"]
    mytask = "mypkg.tasks:MyTask"
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Protocol, TypeVar

from mabench.types import AnswerSet, Evidence, Judgement, Message, Mode, Question

ENTRY_POINT_GROUP = "mabench.tasks"


@dataclass(frozen=True)
class TaskSpec:
    name: str
    description: str
    source: str  # where the data comes from (Hub id, paper)
    modes: tuple[Mode, ...] = ("multi", "bok")
    # The bundled sample (used when no --data-path is given) was written for mabench, not drawn from the
    # dataset: listings, run summaries and manifests must say so, so nobody reads its scores as real ones.
    synthetic_sample: bool = False
    hub_ids: tuple[str, ...] = ()  # Hub datasets that `--data-path TASK=hf:ID` knows how to read
    # What the task needs from the rest of mabench, declared here so that nobody has to guess it:
    # the task-specific metrics that apply to it (registered metric names; the general ones apply to every task),
    metrics: tuple[str, ...] = ()
    # the tag its parser reads candidates from (<answer1>, <code1>, ...), which training's format check re-reads,
    answer_tag: str = "answer"
    # and whether its judge runs programs in `mabench.sandbox` (the runner then shares one warm sandbox with it
    # through the task's `attach_sandbox`; no other run starts one).
    needs_sandbox: bool = False


class Task(Protocol):
    spec: TaskSpec

    def load(self, data_path: Path | None = None) -> list[Question]:
        """The questions: from `data_path` (original format) when given, else the bundled sample."""

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        """Chat messages for one question; `k` is the number of candidates asked for in multi mode."""

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        """One generation parsed into candidates (multi) or a single candidate (bok)."""

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], Evidence | dict | None]:
        """One judgement per candidate, plus what the judge found: a typed `Evidence` (read by the task's
        metrics), or an untyped dict (a third-party task's notes, kept in the record's `extra`), or None."""


T = TypeVar("T")


def task(name: str, *, description: str, source: str, modes: tuple[Mode, ...] = ("multi", "bok"),
         synthetic_sample: bool = False, hub_ids: tuple[str, ...] = (), metrics: tuple[str, ...] = (),
         answer_tag: str = "answer", needs_sandbox: bool = False) -> Callable[[type[T]], type[T]]:
    """Class decorator that attaches the task's spec (fields: `TaskSpec`); registration itself is the entry point."""

    def wrap(cls: type[T]) -> type[T]:
        spec = TaskSpec(name, description, source, modes, synthetic_sample, hub_ids, tuple(metrics), answer_tag,
                        needs_sandbox)
        cls.spec = spec  # type: ignore[attr-defined]
        return cls

    return wrap


def synthetic_tasks(tasks: Mapping[str, object], data_path: Mapping[str, str]) -> list[str]:
    """The tasks of a run that read a synthetic bundled sample: flagged by their spec, and given no
    --data-path (real data replaces the sample). Objects without a spec count as real."""
    return sorted(name for name, t in tasks.items()
                  if getattr(getattr(t, "spec", None), "synthetic_sample", False) and name not in data_path)


class DataFormatError(ValueError):
    """A data file that does not match the expected schema; the message names the file and the record."""


class UnknownTaskError(KeyError):
    def __init__(self, name: str, valid: list[str]):
        super().__init__(name)
        self.name, self.valid = name, valid

    def __str__(self) -> str:
        return f"unknown task {self.name!r}; valid tasks: {', '.join(self.valid) or '(none installed)'}"


def available_tasks() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_task(name: str) -> Task:
    eps = available_tasks()
    if name not in eps:
        raise UnknownTaskError(name, sorted(eps))
    return eps[name].load()()
