"""Hugging Face transformers backend: batched, left-padded, chat-templated, seeded sampling on CPU or GPU."""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
        rows = [self.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        greedy = sampling.temperature == 0.0
        start = time.perf_counter()
        with torch.no_grad():
            # Pre-filling pays where a prompt has several samples (bok: 1.56x, benchmarks/hf_prefill.py); with one
            # sample per prompt the saved shared prefix does not repay the extra pass (0.89x), so it stays plain.
            prefill = n > 1 and getattr(self.model, "_supports_default_dynamic_cache", lambda: False)()
            ids, kwargs = self._prefill(rows, n) if prefill else self._padded(rows, n)
            out = self.model.generate(
                input_ids=ids,
                **kwargs,
                do_sample=not greedy,
                temperature=None if greedy else sampling.temperature,
                top_p=None if greedy else sampling.top_p,
                top_k=None,
                max_new_tokens=sampling.max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        latency = time.perf_counter() - start
        completions = out[:, ids.shape[1]:].tolist()
        result: list[list[Generation]] = []
        for q, prompt in enumerate(rows):
            gens = []
            for s in range(n):
                tokens = completions[q * n + s]
                stop = next((j for j, t in enumerate(tokens) if t in self._eos), None)
                kept = tokens if stop is None else tokens[: stop + 1]
                gens.append(Generation(
                    text=self.tokenizer.decode(kept, skip_special_tokens=True),
                    prompt_tokens=len(prompt),
                    completion_tokens=len(kept),
                    finish_reason="length" if stop is None else "stop",
                    sample_index=s,
                    latency=latency,
                ))
            result.append(gens)
        return result

    def _padded(self, rows: list[list[int]], n: int) -> tuple[Any, dict[str, Any]]:
        """Left-padded prompts, each repeated n times (row q*n+s is sample s of prompt q): what plain
        `generate(num_return_sequences=n)` would run."""
        ids, mask = self._layout(rows, 0)
        return ids.repeat_interleave(n, 0), {"attention_mask": mask.repeat_interleave(n, 0)}

    def _layout(self, rows: list[list[int]], shared: int) -> tuple[Any, Any]:
        """(input ids, attention mask): each row's first `shared` tokens, then padding, then its other tokens;
        with `shared` 0, plain left padding."""
        import torch

        width, pad = max(map(len, rows)) - shared, self.tokenizer.pad_token_id
        ids = [r[:shared] + [pad] * (width - len(r) + shared) + r[shared:] for r in rows]
        mask = [[1] * shared + [0] * (width - len(r) + shared) + [1] * (len(r) - shared) for r in rows]
        return torch.tensor(ids, device=self.device), torch.tensor(mask, device=self.device)

    def _prefill(self, rows: list[list[int]], n: int) -> tuple[Any, dict[str, Any]]:
        """Fill the KV cache so that the prompt tokens are computed once, not once per sample: the prefix that
        every prompt shares (system prompt, chat template) once for the batch, each prompt's own tokens once for
        its n samples. Layout: shared prefix, then padding, then each prompt's own tokens; positions skip the
        padding, so each row is computed as if alone. `generate` then computes only the last prompt token."""
        from transformers import DynamicCache

        shared = common_prefix_length(rows)
        ids, mask = self._layout(rows, shared)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        try:
            cache = DynamicCache(config=self.model.config)  # per-layer kinds (sliding windows) from the config
        except TypeError:  # transformers < 4.56
            cache = DynamicCache()
        # transformers 5 renamed the argument (`past_key_values` goes in 5.40), older ones know only the old name
        name = "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"
        if shared:
            self.model(input_ids=ids[:1, :shared], use_cache=True, **{name: cache})
            cache.batch_repeat_interleave(len(rows))
        if ids.shape[1] - 1 > shared:
            self.model(input_ids=ids[:, shared:-1], attention_mask=mask[:, :-1],
                       position_ids=positions[:, shared:-1], use_cache=True, **{name: cache})
        cache.batch_repeat_interleave(n)
        return ids.repeat_interleave(n, 0), {"attention_mask": mask.repeat_interleave(n, 0), name: cache}


def common_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens all rows share, leaving every row at least one token of its own."""
    limit, length = min(map(len, rows)) - 1, 0
    while length < limit and all(r[length] == rows[0][length] for r in rows):
        length += 1
    return length
