"""Backends turn chat requests into generations. `resolve_model` maps a --model value to a registered backend
kind (`registry.py`: by prefix, plugins through the `mabench.backends` entry points) and a target without loading
anything; `load_backend` builds it, behind the response cache when one is configured. Close what it returns
(`with load_backend(...) as backend:` or `backend.close()`): engines, sessions and the cache hold resources."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from mabench.types import PromptSource

from .base import Backend, GenerationRequest, SamplingConfig, UnknownModelError, judge_model
from .identity import ModelIdentity, model_identity
from .options import BackendOptions
from .registry import (
    BUILTIN,
    DEFAULT_MODEL,
    DEFAULT_MODEL_PACKAGES,
    HF_INSTALL,
    BackendKind,
    backend_kind,
    plugin_forms,
)

MODEL_FORMS = (
    "'default' (the embedded SmolLM2-135M-Instruct)",
    "a local Hugging Face model directory (served by vLLM when vllm is installed, else by transformers)",
    "a Hub id such as HuggingFaceTB/SmolLM2-135M-Instruct",
    *(kind.form for kind in BUILTIN),
)
HUB_ID = re.compile(r"^[\w.-]+/[\w.-]+$")


def installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def require_packages(kind: str, model: str) -> None:
    """Fail early, in one line that names the fix, when the packages a backend kind imports are missing."""
    registered = backend_kind(kind)
    packages, install = (DEFAULT_MODEL_PACKAGES, HF_INSTALL) if kind == DEFAULT_MODEL or registered is None else (
        registered.packages, registered.install)
    missing = [p for p in packages if not installed(p)]
    if missing:
        raise UnknownModelError(f"--model {model!r} needs the package{'s' if len(missing) > 1 else ''} "
                                f"{', '.join(missing)}, which {'are' if len(missing) > 1 else 'is'} not installed: "
                                f"{install}")


def unknown_model(model: str) -> UnknownModelError:
    return UnknownModelError(f"unknown model {model!r}; --model takes one of: {'; '.join(_forms())}")


def _forms() -> list[str]:
    return [*MODEL_FORMS, *plugin_forms()]


def resolve_model(model: str) -> tuple[str, str]:
    """(backend kind, model path, id or source) for a --model value, without loading anything. Kinds: the
    prefixes of `registry.py` (hf, vllm, openai, replay, and those of installed plugins)."""
    kind, target = _resolve(model)
    if target == DEFAULT_MODEL:
        require_packages(DEFAULT_MODEL, model)
    elif kind != "replay":
        require_packages(kind, model)
    return kind, target


def _resolve(model: str) -> tuple[str, str]:
    if model == DEFAULT_MODEL:
        return "hf", DEFAULT_MODEL
    prefix, sep, rest = model.partition(":")
    registered = backend_kind(prefix) if sep else None
    if registered is not None:
        if not rest:
            raise UnknownModelError(f"--model {model!r} names no model after '{prefix}:'; "
                                    f"--model takes one of: {'; '.join(_forms())}")
        return prefix, registered.check(model, rest) if registered.check else rest
    if Path(model).is_dir():
        return ("vllm" if installed("vllm") else "hf"), model
    if HUB_ID.match(model) and not Path(model).exists():
        return "hf", model
    raise unknown_model(model)


def load_backend(model: str, options: BackendOptions | None = None, identity: ModelIdentity | None = None,
                 prompts: PromptSource | None = None) -> Backend:
    """The backend for a --model value. With `options.cache` on and a `cache_path`, it answers from the response
    cache first (never for replay, which calls no model), keyed on the model's `identity` (found here if not
    given). `prompts` (`mabench.prompts.TaskPrompts()`) lets replay find recorded generations by question id."""
    options = options or BackendOptions()
    kind, target = resolve_model(model)
    registered = backend_kind(kind)
    assert registered is not None  # resolve_model returns registered kinds only
    backend = registered.load(target, registered.options.part_of(options), prompts)
    if registered.cached and options.cache and options.cache_path is not None:
        from .cache import CachedBackend, ResponseCache

        identity = identity or model_identity(model, options)
        backend = CachedBackend(backend, ResponseCache(options.cache_path), identity.fingerprint())
    return backend


__all__ = [
    "Backend", "BackendOptions", "GenerationRequest", "ModelIdentity", "SamplingConfig", "UnknownModelError",
    "load_backend", "model_identity", "resolve_model", "DEFAULT_MODEL", "BackendKind", "backend_kind",
    "judge_model",
]
