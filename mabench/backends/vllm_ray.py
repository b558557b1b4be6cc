"""Data-parallel vLLM generation on Ray: `--model vllm:MODEL --data-parallel-size N` runs N vLLM engines on a Ray
cluster (`--ray-address`, else $RAY_ADDRESS, else a local Ray instance that `mabench.ray_cluster` starts).

Why Ray Data's LLM batch processor (`ray.data.llm.build_processor` with a `vLLMEngineProcessorConfig`): it is the
path vLLM and Ray document for offline batch inference over many GPUs and nodes, and the only one that works with
the installed versions (vllm 0.32, ray 2.60):
- vLLM's own data parallelism is not for offline use: `vllm.LLM(data_parallel_size=2)` raises "LLM(
  data_parallel_size=2) is not supported for single-process usage and may hang" and points to a hand-launched
  multi-process example (what vllm_replicas.py used to be); `data_parallel_backend="ray"` exists only for the
  online `AsyncLLM` / `vllm serve` path, and it places engines by the platform's Ray device key, which vLLM's CPU
  platform lacks ("No  found in Ray cluster"), so it cannot even be tested here.
- Ray Data shards the rows over a fixed pool of N engine actors (`concurrency=(N, N)`), each a vLLM engine on
  `tensor_parallel_size` GPUs placed by Ray anywhere in the cluster, and restarts lost workers.

What mabench does around it, so that samples are the same as with one engine (`vllm_backend.VLLMBackend`):
- Each request becomes n rows, one per sample, with `n=1` and seed `sample_seed(seed) + i`: exactly the child
  requests vLLM makes of `SamplingParams(n, seed)` (`ParentRequest` seeds child i with seed + i). Ray Data's
  output keeps only a request's first completion, so n > 1 could not go through as one row anyway. A greedy
  request is one row, repeated, as in VLLMBackend.
- Prompts are rendered here with the tokenizer's chat template into token ids (`LLM.chat` renders the same
  way), and Ray Data's own chat-template, tokenize and detokenize stages are off: the engines read token ids
  and detokenize themselves, as one `vllm.LLM` does. The engines get the same `engine_kwargs`.
- finish_reason: Ray Data does not pass vLLM's on, so it is rebuilt with vLLM's rule (`check_stop`): a
  completion that ends in an end-of-sequence token stopped; otherwise one that reached max_new_tokens (or the
  context length) was cut at the length.
- A request the engine rejects (a prompt longer than max_model_len) comes back as an error for that request
  only (`should_continue_on_error`), as with one engine.
Each `generate` call is one Ray Data job: the engines start for it and stop after it, so the runner is asked
for large calls (`preferred_batch_size`: DEFAULT_BATCH requests per replica).

On a cluster without GPUs (tests, CPU machines) each engine is placed on one CPU instead of one GPU per tensor
parallel rank. Neither the replica count nor the Ray address is part of the run identity: they change where
samples are computed, never what they are.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Sequence
from typing import Any

from mabench.ray_cluster import INSTALL
from mabench.types import Generation

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError
from .options import VLLMOptions
from .vllm_backend import DEFAULT_BATCH, _fingerprint, engine_kwargs, sampling_kwargs

ROWS_PER_TASK = 64  # rows per Ray Data batch: enough to keep an engine busy, small enough to spread the work
BLOCKS_PER_REPLICA = 4  # blocks of rows per engine: enough to balance the engines, few enough to stay cheap
FORWARDED_ENV = ("VLLM_", "HF_", "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS")  # the engines see the driver's


def ray_missing(options: VLLMOptions) -> str | None:
    """The one-line fix when data parallelism is asked for without Ray installed; None when nothing is missing.
    Checked by the CLI before anything loads."""
    if options.data_parallel_size <= 1 or importlib.util.find_spec("ray") is not None:
        return None
    return (f"--data-parallel-size {options.data_parallel_size} runs vLLM replicas on Ray, which is not "
            f"installed: {INSTALL}")


def _stop_tokens(model: str, tokenizer: Any) -> frozenset[int]:
    """The token ids that end a completion early: the tokenizer's end of sequence and the generation config's
    (vLLM stops on both)."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    try:
        from transformers import GenerationConfig

        configured = GenerationConfig.from_pretrained(model).eos_token_id
    except (OSError, ValueError):  # no generation_config.json
        configured = None
    ids.update(configured if isinstance(configured, list) else [] if configured is None else [configured])
    return frozenset(ids)


class RayVLLMBackend(Closing):
    name = "vllm"
    batch_invariant = True

    def __init__(self, model: str, options: VLLMOptions):
        from transformers import AutoTokenizer

        from mabench.ray_cluster import RayUnavailable, connect

        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
        except (OSError, ValueError) as err:
            raise UnknownModelError(f"vllm could not load the tokenizer of {model!r}: {err}. Expected a local "
                                    "Hugging Face model folder or a Hub id available offline") from err
        template = getattr(self.tokenizer, "chat_template", None)
        if not template:
            raise UnknownModelError(f"model {model!r} has no chat template; mabench needs a chat model")
        try:
            connect(options.ray_address)
        except RayUnavailable as err:
            raise UnknownModelError(str(err)) from None
        import ray

        self.chat_template_hash = hashlib.sha256(template.encode()).hexdigest()[:16]
        self.fingerprint = _fingerprint(model)
        self.model, self.options = model, options
        self.replicas = options.data_parallel_size
        self.preferred_batch_size = DEFAULT_BATCH * self.replicas
        self._stops = _stop_tokens(model, self.tokenizer)
        self._gpus = ray.cluster_resources().get("GPU", 0) > 0

    def _processor_config(self, rows: int) -> Any:
        from ray.data.llm import vLLMEngineProcessorConfig

        env = {k: v for k, v in os.environ.items() if k.startswith(FORWARDED_ENV)}
        per_engine = self.options.tensor_parallel_size
        return vLLMEngineProcessorConfig(
            model_source=self.model,
            engine_kwargs=engine_kwargs(self.options),
            concurrency=(self.replicas, self.replicas),
            batch_size=max(1, min(ROWS_PER_TASK, -(-rows // self.replicas))),
            # Without GPUs (CPU clusters, the tests), one CPU per engine rank instead of Ray Data's one GPU.
            placement_group_config=None if self._gpus else {"bundles": [{"CPU": 1}] * per_engine},
            chat_template_stage=False, tokenize_stage=False, detokenize_stage=False,
            should_continue_on_error=True, log_engine_metrics=False,
            runtime_env={"env_vars": env} if env else None,
        )

    def _prompt_ids(self, request: GenerationRequest) -> list[int]:
        ids = self.tokenizer.apply_chat_template(request.messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if hasattr(ids, "keys") else ids)

    def _rows(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[dict[str, Any]]:
        rows = []
        for index, request in enumerate(requests):
            params = sampling_kwargs(request, sampling)
            prompt = self._prompt_ids(request)
            for sample in range(params["n"]):  # vLLM's child requests of SamplingParams(n, seed)
                rows.append({"mabench_request": index, "mabench_sample": sample, "tokenized_prompt": prompt,
                             "sampling_params": {**params, "n": 1, "seed": params["seed"] + sample}})
        return rows

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        if not requests:
            return []
        import ray
        from ray.data.llm import build_processor

        start = time.perf_counter()
        rows = self._rows(requests, sampling)
        # Ray Data's pass-through pre/postprocess maps take no CPU: engines may hold every CPU of the cluster (N
        # engines on N CPUs), and a map waiting for a CPU would then wait for ever. Zero-CPU tasks are not limited
        # by CPUs, so a pool of N bounds them (else Ray starts a worker process per block at once).
        pass_through = {"num_cpus": 0, "compute": ray.data.TaskPoolStrategy(size=self.replicas)}
        processor = build_processor(self._processor_config(len(rows)), preprocess_map_kwargs=pass_through,
                                    postprocess_map_kwargs=pass_through)
        blocks = min(len(rows), BLOCKS_PER_REPLICA * self.replicas)
        outputs = processor(ray.data.from_items(rows, override_num_blocks=blocks)).take_all()
        latency = time.perf_counter() - start
        found: dict[tuple[int, int], dict[str, Any]] = {
            (int(o["mabench_request"]), int(o["mabench_sample"])): o for o in outputs}
        return [self._generations(i, r, found, sampling, latency) for i, r in enumerate(requests)]

    def _generations(self, index: int, request: GenerationRequest, found: dict[tuple[int, int], dict[str, Any]],
                     sampling: SamplingConfig, latency: float) -> list[Generation]:
        drawn = sampling_kwargs(request, sampling)["n"]
        generations = []
        for i in range(request.n):
            row = found.get((index, i if drawn > 1 else 0))
            error = ("vllm on Ray returned no output for the request" if row is None
                     else row.get("__inference_error__") and f"vllm rejected the request: {row['__inference_error__']}")
            if error:
                generations.append(Generation(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error",
                                              sample_index=i, error=error))
                continue
            tokens = list(row["generated_tokens"])
            prompt_tokens = int(row["num_input_tokens"])
            generations.append(Generation(
                text=row["generated_text"], prompt_tokens=prompt_tokens, completion_tokens=len(tokens),
                finish_reason=self._finish(tokens, prompt_tokens, sampling), sample_index=i, latency=latency))
        return generations

    def _finish(self, tokens: list[int], prompt_tokens: int, sampling: SamplingConfig) -> str:
        """vLLM's `check_stop` order: a stop token first, then the length caps."""
        if tokens and tokens[-1] in self._stops:
            return "stop"
        limit = self.options.max_model_len
        at_length = len(tokens) >= sampling.max_new_tokens or (limit is not None and prompt_tokens + len(tokens)
                                                               >= limit)
        return "length" if at_length else "stop"
