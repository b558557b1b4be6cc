"""The four training methods of METHOD.md and what each one asks of a generation.

Multi-RLVR / Multi-RLCR: K numbered candidates in one generation (the task's "multi" prompt); RLVR / RLCR: one
answer (the task's single-answer "bok" prompt), i.e. the K = 1 cases. The RLCR variants add confidences and the
set Brier reward.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mabench.types import Mode

Method = Literal["multi-rlcr", "multi-rlvr", "rlcr", "rlvr"]
METHODS: tuple[Method, ...] = ("multi-rlcr", "multi-rlvr", "rlcr", "rlvr")
AccuracyMode = Literal["any", "distinct"]


@dataclass(frozen=True)
class MethodSpec:
    name: Method
    multi: bool  # K candidates in one generation, else one answer
    confidence: bool  # confidences are part of the format, and the Brier reward is trained

    @property
    def mode(self) -> Mode:
        """The task prompt and parser used in training, the same ones `mabench run` uses for that mode."""
        return "multi" if self.multi else "bok"

    @property
    def duplicates_zero_accuracy(self) -> bool:
        """METHOD.md: repeated answers zero the accuracy for Multi-RLCR only (Multi-RLVR keeps it)."""
        return self.multi and self.confidence

    @property
    def components(self) -> tuple[str, ...]:
        """The reward components trained, in TRL's reward-function order (each is logged under its name)."""
        return ("format", "accuracy", "brier") if self.confidence else ("format", "accuracy")

    def candidates(self, k: int) -> int:
        """Candidates per generation: K for the multi methods, 1 for the single-answer ones."""
        return k if self.multi else 1


def method_spec(name: Method) -> MethodSpec:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    return MethodSpec(name=name, multi=name.startswith("multi-"), confidence=name.endswith("rlcr"))
