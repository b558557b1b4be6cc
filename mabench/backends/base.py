"""The backend contract: a batch of chat requests in, n generations per request out, with token usage.
`SamplingConfig` is a core type (mabench.types), imported here for the backends' convenience."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from mabench.types import Generation, Message, SamplingConfig

B = TypeVar("B")
C = TypeVar("C", bound="Closing")


class GenerationRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    messages: list[Message]
    n: int = Field(1, ge=1)
    seed: int = 0


class Backend(Protocol):
    """Required: `name`, `fingerprint`, `chat_template_hash`, `generate`, `close` (the built-in backends inherit
    `Closing`, which also makes them context managers; the runner closes every backend it opens).
    Optional attributes, read with getattr:
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

    def close(self) -> None:
        """Release what the backend holds (an engine, worker processes, a cache file); safe to call twice."""


class Closing:
    """Makes a backend a context manager over its `close()` (`with load_backend(model) as backend: ...`)."""

    def close(self) -> None:
        """Nothing to release by default."""

    def __enter__(self: C) -> C:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def opened(backend: B) -> Iterator[B]:
    """`backend` as a context manager: closed however the block ends. Works for backends written before
    `close()` was part of the protocol (tests' fakes, older plugins): without one there is nothing to close."""
    try:
        yield backend
    finally:
        close = getattr(backend, "close", None)
        if callable(close):
            close()


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


class BackendJudgeModel:
    """A backend as a task's `JudgeModel`: one greedy-by-default request per prompt, seed 0, in one call."""

    def __init__(self, backend: Backend):
        self.backend = backend

    def replies(self, prompts: Sequence[list[Message]], sampling: SamplingConfig) -> list[str]:
        if not prompts:
            return []
        outputs = self.backend.generate([GenerationRequest(messages=p, n=1, seed=0) for p in prompts], sampling)
        return [gens[0].text if gens else "" for gens in outputs]


def judge_model(backend: Backend) -> BackendJudgeModel:
    """`backend` as the judge model a task takes (e.g. `DDXPlus(judge_model=judge_model(backend))`)."""
    return BackendJudgeModel(backend)
