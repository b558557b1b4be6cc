"""Hugging Face transformers backend: chat-templated prompts, sampled in large batches with a seed per request
(`hf_sampling`), on CPU or GPU."""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mabench.types import Generation

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError
from .hf_sampling import SAMPLER, Completion, row_seed, sample, supports_sampling_loop

MAX_ROWS = 128  # rows sampled at once, at most; decoding on a CPU gains little beyond (benchmarks/hf_sampling.py)
KV_BUDGET = 3 << 30  # bytes of KV cache one call may fill: the default run's 128 rows of 460 tokens take 2.7 GB


def rows_per_call(model: Any, tokens: int) -> int:
    """How many rows of `tokens` tokens fit in `KV_BUDGET` (1 to `MAX_ROWS`): 128 for SmolLM2-135M in float32,
    about 13 for a 7B Llama in bfloat16. 16 for a model whose config does not say its attention shape."""
    config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    try:
        heads = config.num_attention_heads
        kv_heads = getattr(config, "num_key_value_heads", None) or heads
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
        per_token = 2 * config.num_hidden_layers * kv_heads * head_dim * model.dtype.itemsize
    except (AttributeError, TypeError):
        return 16
    return max(1, min(MAX_ROWS, KV_BUDGET // (per_token * tokens)))


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


def identity_fields() -> dict[str, Any]:
    """What the HF backend adds to a model's identity (`ModelIdentity`): where it runs, in which dtype, and the
    version of mabench's own sampling loop, whose draws are the samples."""
    device, dtype = placement()
    return {"device": device, "dtype": dtype, "settings": {"sampler": SAMPLER}}


class HFBackend(Closing):
    name = "hf"
    # Samples depend on their own request alone, so the runner may send many batches per call (`base.Backend`).
    batch_invariant = True
    preferred_batch_size = MAX_ROWS

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
        """Requests with the same n are sampled together, as many rows at a time as `rows_per_call` allows; each
        sample is seeded from its own request's seed (`hf_sampling`), so the grouping does not change the samples."""
        rows = [self.tokenizer(self.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True,
                                                                  tokenize=False), add_special_tokens=False)
                ["input_ids"] for r in requests]
        out: list[list[Generation]] = [[] for _ in requests]
        for n in sorted({r.n for r in requests}):
            index = [i for i, r in enumerate(requests) if r.n == n]
            longest = max(len(rows[i]) for i in index) + sampling.max_new_tokens
            step = max(1, rows_per_call(self.model, longest) // n)
            for start in range(0, len(index), step):
                part = index[start: start + step]
                done = self._generate_same_n([rows[i] for i in part], [requests[i].seed for i in part], n, sampling)
                for i, gens in zip(part, done, strict=True):
                    out[i] = gens
        return out

    def _generate_same_n(self, rows: list[list[int]], seeds: list[int], n: int, sampling: SamplingConfig
                         ) -> list[list[Generation]]:
        import torch

        start = time.perf_counter()
        with torch.no_grad():
            if supports_sampling_loop(self.model):
                completions = sample(self.model, rows, n, seeds, sampling, self._eos, self.tokenizer.pad_token_id)
            else:
                completions = [c for row, seed in zip(rows, seeds, strict=True)
                               for c in self._generate_alone(row, n, seed, sampling)]
        latency = time.perf_counter() - start
        return [[Generation(
            text=self.tokenizer.decode(c.tokens, skip_special_tokens=True),
            prompt_tokens=len(prompt),
            completion_tokens=len(c.tokens),
            finish_reason="stop" if c.stopped else "length",
            sample_index=s,
            latency=latency,
        ) for s, c in enumerate(completions[q * n: (q + 1) * n])] for q, prompt in enumerate(rows)]

    def _generate_alone(self, row: list[int], n: int, seed: int, sampling: SamplingConfig) -> list[Completion]:
        """`model.generate` for one prompt, seeded by its request alone: for models whose cache the sampling loop
        cannot manage. Slower (one prompt per call), with the same independence from the other requests."""
        import torch

        torch.manual_seed(row_seed(seed, 0))
        greedy = sampling.temperature == 0.0
        ids = torch.tensor([row], device=self.device)
        out = self.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), num_return_sequences=n,
            do_sample=not greedy, temperature=None if greedy else sampling.temperature,
            top_p=None if greedy else sampling.top_p, top_k=None, max_new_tokens=sampling.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        completions = []
        for tokens in out[:, ids.shape[1]:].tolist():
            stop = next((j for j, t in enumerate(tokens) if t in self._eos), None)
            completions.append(Completion(tokens if stop is None else tokens[: stop + 1], stop is not None))
        return completions
