"""The checkpoints shipped inside mabench: LoRA adapters for the embedded SmolLM2-135M-Instruct, trained by
`mabench train` (docs/bundled-checkpoints.md). `--model bundled:NAME` runs one; `--model default` runs the pair:
Multi-RLCR (K = 3) for multi mode against single-answer RLCR sampled k times for bok mode, as in the paper.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mabench.types import PromptSource

from .base import Backend, UnknownModelError
from .identity import ModelIdentity
from .options import NoOptions

PREFIX = "bundled"
FOLDER = Path(__file__).resolve().parents[1] / "checkpoints"
MULTI, SINGLE = f"{PREFIX}:multi-rlcr", f"{PREFIX}:rlcr"  # what `--model default` runs in multi and bok mode
ADAPTER_CONFIG = "adapter_config.json"


def available() -> list[str]:
    return sorted(p.name for p in FOLDER.iterdir() if (p / ADAPTER_CONFIG).is_file()) if FOLDER.is_dir() else []


def default_pair(modes: list[str]) -> tuple[str, str | None]:
    """(--model, --bok-model) that `--model default` stands for: each mode's bundled checkpoint."""
    if modes == ["bok"]:
        return SINGLE, None
    return MULTI, (SINGLE if "bok" in modes else None)


def folder(model: str, name: str) -> str:
    """The adapter folder of a bundled checkpoint; UnknownModelError naming the bundled ones otherwise."""
    path = FOLDER / name
    if not (path / ADAPTER_CONFIG).is_file():
        raise UnknownModelError(f"--model {model!r}: no bundled checkpoint {name!r}; bundled: "
                                f"{', '.join(f'{PREFIX}:{n}' for n in available()) or 'none'}")
    base = json.loads((path / ADAPTER_CONFIG).read_text()).get("base_model_name_or_path")
    if base != "default":
        raise UnknownModelError(f"{path}/{ADAPTER_CONFIG}: base model {base!r}; a bundled checkpoint adapts the "
                                "embedded model ('default')")
    return str(path)


def load(target: str, options: NoOptions, prompts: PromptSource | None) -> Backend:
    from .default_model import load_default_backend

    return load_default_backend(adapter=Path(target))


def identify(model: str, target: str, options: Any) -> ModelIdentity:
    """The adapter's files and the embedded base model's, with the HF backend's fields (dtype, device, sampler)."""
    from .default_model import converted_folder
    from .filehash import folder_hash
    from .hf import identity_fields

    weights = f"{folder_hash(Path(target))}+{folder_hash(converted_folder())}"
    return ModelIdentity(backend="hf", model=model, weights=weights, **identity_fields())
