"""Backend options: everything `mabench run` can tell a backend beyond the --model value.

Each backend has its own options model (`OpenAIOptions`, `VLLMOptions`, `NoOptions`; the response cache has
`CacheOptions`); `BackendOptions` is all of them at once, built once from the command line, and each backend is
handed its own part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_CONCURRENCY = 32
CACHE_FILE = "cache.sqlite"
OptionsT = TypeVar("OptionsT", bound="KindOptions")


class KindOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def part_of(cls: type[OptionsT], options: BaseModel) -> OptionsT:
        """This backend's own options, taken from the command line's `BackendOptions`."""
        return cls.model_validate(options.model_dump(include=set(cls.model_fields)))


class NoOptions(KindOptions):
    """Backends with nothing to set (hf:, replay:)."""


class OpenAIOptions(KindOptions):
    """`openai:NAME`: an OpenAI-compatible server."""

    base_url: str | None = Field(None, description="e.g. http://localhost:8000/v1; required for openai:NAME")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable that holds the API key; 'none' "
                             "for a server that needs no key (an unset variable is otherwise an error)")
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=4096, description="requests in flight at once")
    request_timeout: float = Field(120.0, gt=0, description="seconds before one HTTP request is abandoned")
    max_retries: int = Field(6, ge=0, le=100, description="retries per request after the first attempt")
    backoff_base: float = Field(0.5, gt=0, description="seconds; the n-th retry waits up to base * 2**n")
    backoff_max: float = Field(30.0, gt=0, description="seconds; cap on one backoff wait and on Retry-After")
    tokenizer: str | None = Field(None, description="tokenizer folder or Hub id that counts tokens when the "
                                                    "server reports no usage")

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {value!r}")
        return value.rstrip("/") if value else value


class VLLMOptions(KindOptions):
    """`vllm:MODEL`: the vLLM engine; with data_parallel_size > 1, that many engine replicas on a Ray cluster
    (`ray_address`). Neither changes a sample, so neither is part of the model's identity (identity.py)."""

    tensor_parallel_size: int = Field(1, ge=1)
    data_parallel_size: int = Field(1, ge=1, description="engine replicas, run on Ray when more than one")
    ray_address: str | None = Field(None, description="the Ray cluster that runs the replicas: HOST:PORT, "
                                    "ray://HOST:PORT or 'auto'; default $RAY_ADDRESS, else a local Ray instance")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1)
    max_model_len: int | None = Field(None, ge=16, description="context length vLLM reserves KV cache for")
    enforce_eager: bool = Field(False, description="vLLM: skip CUDA-graph capture / compilation (faster start)")
    engine_args: dict[str, Any] = Field(default_factory=dict, description="vLLM: further vllm.LLM keyword "
                                        "arguments, e.g. {'dtype': 'float16', 'max_num_seqs': 64}")


class CacheOptions(KindOptions):
    """The response cache, in front of every backend but replay."""

    cache: bool = True
    cache_path: Path | None = Field(None, description="SQLite file; the runner puts it in the run directory")


class BackendOptions(OpenAIOptions, VLLMOptions, CacheOptions):
    """Everything the command line can set, for whichever backend --model names; each backend receives its own
    part (`OpenAIOptions.part_of(options)`, ...), as its registration in `registry.py` says."""

    def with_run_dir(self, run_dir: Path) -> BackendOptions:
        """The options a run uses: the cache goes into the run directory unless a shared path was given."""
        if not self.cache or self.cache_path is not None:
            return self
        return self.model_copy(update={"cache_path": Path(run_dir) / CACHE_FILE})
