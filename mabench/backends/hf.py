"""Hugging Face transformers backend: batched, left-padded, chat-templated, seeded sampling on CPU or GPU."""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

from mabench.types import Generation

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError


def _fingerprint(path: str) -> str:
    """A local folder's content hash (`filehash.folder_hash`), else the name as given."""
    from .filehash import folder_hash

    return folder_hash(Path(path)) if Path(path).is_dir() else path


def placement(device: str | None = None) -> tuple[str, str]:
    """(device class, dtype name) the backend runs in: bfloat16 on CUDA, float32 on CPU. One place, because the
    run identity records them before the model is loaded."""
    if device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return device, "bfloat16" if device.startswith("cuda") else "float32"


class HFBackend(Closing):
    name = "hf"

    def __init__(self, model: str, device: str | None = None, adapter: Path | None = None):
        """`model`: a Hugging Face folder or Hub id. `adapter`: a peft LoRA folder merged into it once at load (the
        bundled checkpoints), so generation runs at the base model's speed."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device, dtype_name = placement(device)
        dtype = getattr(torch, dtype_name)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            loaded = AutoModelForCausalLM.from_pretrained(model, dtype=dtype)
            if adapter is not None:
                from peft import PeftModel

                loaded = PeftModel.from_pretrained(loaded, str(adapter)).merge_and_unload()
            self.model = loaded.to(self.device).eval()
        except OSError as err:
            raise UnknownModelError(
                f"could not load model {model!r}: {err}. Expected a local Hugging Face model directory "
                "or a Hub id (org/name)"
            ) from err
        if self.tokenizer.chat_template is None:
            raise UnknownModelError(f"model {model!r} has no chat template; mabench needs a chat model")
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.model.generation_config.eos_token_id
        eos = eos if eos is not None else self.tokenizer.eos_token_id
        self._eos = set(eos if isinstance(eos, list) else [eos])
        self._source = str(adapter) if adapter is not None else model
        self.chat_template_hash = hashlib.sha256(self.tokenizer.chat_template.encode()).hexdigest()[:16]

    def close(self) -> None:
        """Drop the weights, so that a long process (tests, a notebook) gets the memory back."""
        self.__dict__.pop("model", None)

    @functools.cached_property
    def fingerprint(self) -> str:
        """The folder's content hash, or the Hub id at its commit; computed on first use only, since the run
        identity (`identity.model_identity`) has already hashed the folder and the runner keys on that."""
        revision = getattr(self.model.config, "_commit_hash", None)
        if revision and not Path(self._source).is_dir():
            return f"{self._source}@{revision}"
        return _fingerprint(self._source)

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        """One `model.generate` call per distinct n. The sampling RNG is seeded from the requests' seeds,
        so the same batch always gives the same samples (a different batch split gives others)."""
        out: list[list[Generation]] = [[] for _ in requests]
        for n in sorted({r.n for r in requests}):
            index = [i for i, r in enumerate(requests) if r.n == n]
            for i, gens in zip(index, self._generate_same_n([requests[i] for i in index], n, sampling), strict=True):
                out[i] = gens
        return out

    def _generate_same_n(self, requests: list[GenerationRequest], n: int, sampling: SamplingConfig
                         ) -> list[list[Generation]]:
        import torch

        torch.manual_seed(int(hashlib.sha256(json.dumps([r.seed for r in requests]).encode()).hexdigest()[:8], 16))
        texts = [
            self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False)
            for r in requests
        ]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        greedy = sampling.temperature == 0.0
        start = time.perf_counter()
        with torch.no_grad():
            ids = self.model.generate(
                **enc,
                do_sample=not greedy,
                temperature=None if greedy else sampling.temperature,
                top_p=None if greedy else sampling.top_p,
                top_k=None,
                max_new_tokens=sampling.max_new_tokens,
                num_return_sequences=n,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        latency = time.perf_counter() - start
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        completions = ids[:, enc["input_ids"].shape[1]:].tolist()
        result: list[list[Generation]] = []
        for q in range(len(requests)):
            gens = []
            for s in range(n):
                tokens = completions[q * n + s]
                stop = next((j for j, t in enumerate(tokens) if t in self._eos), None)
                kept = tokens if stop is None else tokens[: stop + 1]
                gens.append(Generation(
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    prompt_tokens=int(prompt_lens[q]),
                    completion_tokens=len(kept),
                    finish_reason="length" if stop is None else "stop",
                    sample_index=s,
                    latency=latency,
                ))
            result.append(gens)
        return result
