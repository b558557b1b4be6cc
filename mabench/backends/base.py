"""The backend contract: a batch of chat requests in, n generations per request out, with token usage."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

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
    """Required: `name`, `fingerprint`, `chat_template_hash`, `generate`. Optional attributes, read with getattr:
    - `preferred_batch_size: int | None`: how many requests the backend wants per `generate` call; the runner
      then hands over several batches at once. Only for backends whose samples depend on nothing but their own
      request (per-request seeds), so that records are the same however requests are grouped.
    - `batch_invariant: bool`: that property (the response cache relies on it to ask for missing requests only).
    - `stats() -> dict`: counters for the run manifest and summary (cache hits, retries, usage sources, ...).
    A generation that failed for good has finish_reason "error" and says why in `error`."""

    name: str
    fingerprint: str  # identifies the weights: a content hash or a Hub revision
    chat_template_hash: str | None

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        """Exactly `request.n` generations for each request, in request order."""


def sample_seed(seed: int, index: int = 0) -> int:
    """A well-spread 32-bit seed for sample `index` of a request with seed `seed`. The runner's request seeds are
    consecutive, and engines seed the i-th of n samples with seed + i, so passing them on unchanged would let
    sample j of one question reuse the random stream of sample j - 1 of the next one."""
    return int(hashlib.sha256(f"{seed}/{index}".encode()).hexdigest()[:8], 16)


def backend_stats(backend: Backend) -> dict[str, Any]:
    stats = getattr(backend, "stats", None)
    return dict(stats()) if callable(stats) else {}


class UnknownModelError(ValueError):
    """A --model value that names no loadable model."""
