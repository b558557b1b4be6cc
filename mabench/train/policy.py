"""The model GRPO starts from: the base model itself (TRL loads it from its path), or, with a `lora:` section,
the base with a fresh LoRA adapter, optionally after the supervised format warm-up (`warmup.py`).

Why a separate step: the warm-up must train the very adapter GRPO then continues, and the checkpoint of an
adapter run is the adapter alone (a few MB), which `mabench_train.json` describes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mabench.types import Question

from .lora import LoraSettings, apply_lora
from .methods import MethodSpec
from .warmup import WARMUP_LOG, WarmupSettings, demonstration_rows, run_warmup


def build_policy(base: str, tokenizer: Any, *, lora: LoraSettings | None, warmup: WarmupSettings | None,
                 task: Any, questions: list[Question], spec: MethodSpec, k: int, prompt: str | None,
                 dtype: str, out: Path) -> tuple[Any, list[dict[str, Any]]]:
    """(the `model` argument for GRPOTrainer, the warm-up log). Without LoRA and warm-up that is `base` (a path);
    a warm-up without LoRA trains the full model."""
    if lora is None and warmup is None:
        return base, []
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = getattr(torch, dtype) if dtype != "auto" else "auto"
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch_dtype)
    if lora is not None:
        model = apply_lora(model, lora)
    log: list[dict[str, Any]] = []
    if warmup is not None:
        rows = demonstration_rows(task, questions, spec, k, warmup, prompt)
        (out / WARMUP_LOG).unlink(missing_ok=True)
        log = run_warmup(model, tokenizer, rows, warmup, out / WARMUP_LOG)
    return model, log
