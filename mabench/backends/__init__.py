"""Backends turn chat requests into generations. `resolve_backend` maps a --model value to one."""

from __future__ import annotations

import re
from pathlib import Path

from .base import Backend, GenerationRequest, SamplingConfig, UnknownModelError

DEFAULT_MODEL = "default"
MODEL_FORMS = (
    "'default' (the embedded SmolLM2-135M-Instruct)",
    "a local Hugging Face model directory",
    "a Hub id such as HuggingFaceTB/SmolLM2-135M-Instruct",
    "hf:<directory or Hub id>",
)
_HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def resolve_model(model: str) -> tuple[str, str]:
    """(backend name, model path or id) for a --model value, without loading anything."""
    if model == DEFAULT_MODEL:
        return "hf", DEFAULT_MODEL
    backend, _, rest = model.partition(":")
    if rest and backend == "hf":
        return "hf", rest
    if Path(model).is_dir():
        return "hf", model
    if _HUB_ID.match(model) and not Path(model).exists():
        return "hf", model
    raise UnknownModelError(f"unknown model {model!r}; --model takes one of: {'; '.join(MODEL_FORMS)}")


def load_backend(model: str) -> Backend:
    backend, target = resolve_model(model)
    if target == DEFAULT_MODEL:
        from .default_model import ensure_default_model

        target = str(ensure_default_model())
    from .hf import HFBackend

    return HFBackend(target)


__all__ = [
    "Backend", "GenerationRequest", "SamplingConfig", "UnknownModelError", "load_backend", "resolve_model",
    "DEFAULT_MODEL",
]
