"""The HF backend's sampling loop, written out instead of `model.generate` for three reasons:

- each row (sample s of prompt q) draws from its own generator, seeded from its request's seed and s, so a
  request's samples do not depend on the other requests of a call (up to the rounding of batched kernels, as with
  vLLM). The runner can then hand over many batches at once, and on a CPU a decoding step costs nearly the same
  for 8 rows as for 32 (benchmarks/hf_sampling.py);
- a row that has stopped leaves the batch, so one long sample does not keep the finished rows computing;
- each prompt is computed once for its n samples, and the prefix that all prompts share once per call.

Sampling is `SamplingConfig`'s alone: temperature, then top-p as transformers' `TopPLogitsWarper` applies it (a
test checks the two agree). A model's own generation_config (repetition penalty and the like) is not applied, as
vLLM does not apply it to explicit sampling parameters either.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mabench.types import SamplingConfig

# Part of every HF model identity (`hf.identity_fields`), so run ids and cache keys change with the draws: bump it
# whenever a change here changes which tokens a seed gives.
SAMPLER = "mabench-row-seeded/1"
PREFILL_TOKENS = 4800  # prompt tokens per forward pass while filling the cache


@dataclass(frozen=True)
class Completion:
    tokens: list[int]  # the stop token included, if the row stopped on one
    stopped: bool


def row_seed(seed: int, sample: int) -> int:
    """The generator seed of sample `sample` of a request seeded `seed`: a function of those two alone."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{sample}".encode()).digest()[:8], "big") >> 1


def distribution(logits: Any, sampling: SamplingConfig) -> Any:
    """Next-token probabilities per row: logits / temperature, the smallest set of tokens whose probability
    reaches top_p kept (at least one), softmax."""
    import torch

    scores = logits.float() / sampling.temperature
    if sampling.top_p < 1.0:
        ascending, order = torch.sort(scores, descending=False)
        drop = ascending.softmax(-1).cumsum(-1) <= 1 - sampling.top_p
        drop[..., -1] = False
        scores = scores.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return scores.softmax(-1)


def next_tokens(logits: Any, generators: list[Any], sampling: SamplingConfig) -> Any:
    """One token per row: the argmax when greedy, else a draw from the row's own generator."""
    if sampling.temperature == 0.0:
        return logits.argmax(-1)
    return draw(distribution(logits, sampling), generators)


def draw(probs: Any, generators: list[Any]) -> Any:
    """One token per row by inverse CDF: the first token whose cumulative probability exceeds the row's uniform
    number, which is one `torch.rand` from the row's generator. A zero-probability token is never drawn (its
    cumulative probability equals its predecessor's). All rows at once: a `torch.multinomial` per row cost about
    1 ms each, a tenth of a decoding step at 100 rows."""
    import torch

    cumulative = probs.cumsum(-1)
    uniform = torch.stack([torch.rand((), generator=g, device=probs.device) for g in generators])
    chosen = torch.searchsorted(cumulative, (uniform * cumulative[:, -1])[:, None], right=True)
    return chosen[:, 0].clamp(max=probs.shape[-1] - 1)


def sample(model: Any, rows: list[list[int]], n: int, seeds: list[int], sampling: SamplingConfig,
           stop: set[int], pad: int) -> list[Completion]:
    """`n` completions of each prompt in `rows` (token ids), in the order q*n + s. Call under `torch.no_grad()`."""
    import torch

    device = model.device
    generators = [torch.Generator(device).manual_seed(row_seed(seed, s)) for seed in seeds for s in range(n)]
    forward = _forward_for(model)
    cache, mask, logits = _prefill(model, rows, n, pad)
    position = mask.sum(-1, keepdim=True)  # each row's next position: its real tokens so far
    live = list(range(len(generators)))  # the rows still generating, in the batch's order
    tokens: list[list[int]] = [[] for _ in live]
    stopped = [False] * len(live)
    for step in range(sampling.max_new_tokens):
        chosen = next_tokens(logits, [generators[r] for r in live], sampling)
        keep = []
        for i, (row, token) in enumerate(zip(live, chosen.tolist(), strict=True)):
            tokens[row].append(token)
            if token in stop:
                stopped[row] = True
            else:
                keep.append(i)
        if not keep or step + 1 == sampling.max_new_tokens:
            break
        if len(keep) < len(live):  # finished rows leave the batch: the cache, mask and positions shrink with it
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, position, chosen = mask[index], position[index], chosen[index]
            live = [live[i] for i in keep]
        mask = torch.cat([mask, mask.new_ones(len(live), 1)], dim=1)
        logits = forward(chosen[:, None], mask, position, cache)
        position = position + 1
    return [Completion(t, s) for t, s in zip(tokens, stopped, strict=True)]


def common_prefix_length(rows: list[list[int]]) -> int:
    """How many leading tokens all rows share, leaving every row at least one token of its own."""
    limit, length = min(map(len, rows)) - 1, 0
    while length < limit and all(r[length] == rows[0][length] for r in rows):
        length += 1
    return length


def supports_sampling_loop(model: Any) -> bool:
    """Whether the model keeps its KV cache in a `DynamicCache`, which this loop fills and shrinks."""
    return bool(getattr(model, "_supports_default_dynamic_cache", lambda: False)())


def _prefill(model: Any, rows: list[list[int]], n: int, pad: int) -> tuple[Any, Any, Any]:
    """(KV cache, attention mask, last-token logits), each with row q*n + s for sample s of prompt q. Layout: the
    shared prefix, then padding, then each prompt's own tokens; positions skip the padding, so each row is
    computed as if alone. The prefix is computed once, each prompt's own tokens once for its n samples."""
    import torch
    from transformers import DynamicCache

    shared = common_prefix_length(rows)
    width = max(map(len, rows)) - shared
    ids = torch.tensor([r[:shared] + [pad] * (width - len(r) + shared) + r[shared:] for r in rows], device=model.device)
    mask = torch.tensor([[1] * shared + [0] * (width - len(r) + shared) + [1] * (len(r) - shared) for r in rows],
                        device=model.device)
    try:
        cache = DynamicCache(config=model.config)  # per-layer kinds (sliding windows) from the config
    except TypeError:  # transformers < 4.56
        cache = DynamicCache()
    forward = _forward_for(model)
    if shared:
        forward(ids[:1, :shared], mask[:1, :shared], None, cache)
        cache.batch_repeat_interleave(len(rows))
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    # The rows' own tokens go in column chunks of about PREFILL_TOKENS tokens: one forward over 100 prompts at
    # once ran 1.3x slower on a CPU than chunks of 48 columns (activations that no longer fit the caches).
    step = max(16, PREFILL_TOKENS // len(rows))
    for start in range(shared, ids.shape[1], step):
        end = min(ids.shape[1], start + step)
        logits = forward(ids[:, start:end], mask[:, :end], positions[:, start:end], cache)
    cache.batch_repeat_interleave(n)
    return cache, mask.repeat_interleave(n, 0), logits.repeat_interleave(n, 0)


def _forward_for(model: Any) -> Callable[[Any, Any, Any, Any], Any]:
    """`forward(ids, mask, positions, cache)`: the model's logits at each row's last input token, with `cache`
    extended by `ids`. The keyword names are read from the model's signature once, not at every step."""
    parameters = inspect.signature(model.forward).parameters
    # transformers 5.40 renamed `past_key_values` to `cache`; 4.45 to 4.49 called `logits_to_keep` otherwise
    cache_name = "cache" if "cache" in parameters else "past_key_values"
    # the prompt's other logits (rows x tokens x vocabulary) are never read
    keep = next(({name: 1} for name in ("logits_to_keep", "num_logits_to_keep") if name in parameters), {})

    def forward(ids: Any, mask: Any, positions: Any, cache: Any) -> Any:
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                    **{cache_name: cache}, **keep)
        return out.logits[:, -1]

    return forward
