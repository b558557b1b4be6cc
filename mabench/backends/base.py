"""The backend contract: a batch of chat requests in, n generations per request out, with token usage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from mabench.types import Generation, Message


class SamplingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    temperature: float = Field(0.7, ge=0.0)  # 0 means greedy
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_new_tokens: int = Field(256, ge=1)


class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message]
    n: int = Field(1, ge=1)
    seed: int = 0


class Backend(Protocol):
    name: str
    fingerprint: str  # identifies the weights: a content hash or a Hub revision
    chat_template_hash: str | None

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        """Exactly `request.n` generations for each request, in request order."""


class UnknownModelError(ValueError):
    """A --model value that names no loadable model."""
