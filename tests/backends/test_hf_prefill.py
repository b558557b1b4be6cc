"""With n samples per prompt (bok), the HF backend computes each prompt once: the prefix all prompts of a call
share once for the call, each prompt's own tokens once for its n samples. That is a speed-up only: the samples
must be exactly those of plain padded generation (every sample's prompt computed on its own row), or cached runs
and resumed runs would disagree."""

from __future__ import annotations

import pytest

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.hf import HFBackend, common_prefix_length

SYSTEM = "You answer questions. Write a short name, date or number inside answer tags."
QUESTIONS = ["Who wrote Frankenstein?", "When did the Berlin wall fall, and who was chancellor then?", "Paris?"]


def _requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
                              n=n, seed=i) for i, q in enumerate(QUESTIONS)]


def _texts(backend: HFBackend, requests: list[GenerationRequest], sampling: SamplingConfig, *, plain: bool):
    if plain:  # the fallback the backend uses for models whose KV cache cannot be pre-filled
        backend.model._supports_default_dynamic_cache = lambda: False
    try:
        out = backend.generate(requests, sampling)
    finally:
        backend.model.__dict__.pop("_supports_default_dynamic_cache", None)
    return [[(g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in gens] for gens in out]


@pytest.mark.parametrize(("n", "temperature"), [(2, 0.0), (3, 1.0)])
def test_prefilled_generation_gives_the_samples_of_plain_generation(tiny_model, n, temperature):
    backend = HFBackend(str(tiny_model))
    sampling = SamplingConfig(temperature=temperature, top_p=0.95, max_new_tokens=24)
    requests = _requests(n)
    prefilled = _texts(backend, requests, sampling, plain=False)
    assert prefilled == _texts(backend, requests, sampling, plain=True)
    assert all(len(gens) == n for gens in prefilled)
    if temperature > 0:  # the n samples of one prompt are drawn independently, not copied
        assert any(len({text for text, *_ in gens}) > 1 for gens in prefilled)


def test_a_prompt_that_is_a_prefix_of_another_keeps_a_token_of_its_own():
    assert common_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert common_prefix_length([[5, 2], [1, 2]]) == 0
    assert common_prefix_length([[7]]) == 0


def test_the_prefilled_cache_gives_each_prompt_the_next_token_distribution_it_has_alone(tiny_model):
    import torch

    backend = HFBackend(str(tiny_model))
    rows = [backend.tokenizer(backend.tokenizer.apply_chat_template(r.messages, add_generation_prompt=True,
                                                                    tokenize=False), add_special_tokens=False)
            ["input_ids"] for r in _requests(1)]
    assert common_prefix_length(rows) > 3 and len({len(r) for r in rows}) == 3  # a shared prefix, then padding
    n = 2
    with torch.no_grad():
        ids, kwargs = backend._prefill(rows, n)
        mask = kwargs.pop("attention_mask")
        last = backend.model(input_ids=ids[:, -1:], attention_mask=mask, position_ids=mask.sum(-1, keepdim=True) - 1,
                             **kwargs).logits[:, -1]
        for q, row in enumerate(rows):
            alone = backend.model(input_ids=torch.tensor([row])).logits[0, -1]
            for s in range(n):
                torch.testing.assert_close(last[q * n + s], alone, rtol=1e-4, atol=1e-4)
