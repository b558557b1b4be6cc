"""The HF backend samples with its own loop (`hf_sampling`): every sample has its own seeded generator, finished
rows leave the batch, and each prompt is computed once for its n samples. What must hold:
- greedy output is exactly `model.generate`'s, for every row, whenever rows stop;
- a request's samples depend on its own seed alone, not on the other requests of the call (the runner and the
  response cache rely on it);
- temperature and top-p give transformers' own next-token distribution."""

from __future__ import annotations

import pytest

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.hf import HFBackend
from mabench.backends.hf_sampling import _prefill, common_prefix_length, distribution, draw, sample

SYSTEM = "You answer questions. Write a short name, date or number inside answer tags."
QUESTIONS = ["Who wrote Frankenstein?", "When did the Berlin wall fall, and who was chancellor then?", "Paris?",
             "Which river flows through Vienna, Budapest and Belgrade?"]


@pytest.fixture(scope="module")
def backend(tiny_model) -> HFBackend:
    return HFBackend(str(tiny_model))


@pytest.fixture(scope="module")
def sharp(tiny_model) -> HFBackend:
    """The tiny model with sharpened attention and logits: random weights attend almost uniformly and spread the
    next token thinly, so an error in positions or the cache would barely move a draw; here it moves many."""
    import torch

    sharp = HFBackend(str(tiny_model))
    with torch.no_grad():
        for layer in sharp.model.model.layers:
            layer.self_attn.q_proj.weight.mul_(12)
            layer.self_attn.k_proj.weight.mul_(12)
        sharp.model.lm_head.weight.mul_(6)
    return sharp


def _requests(n: int, seeds: list[int] | None = None) -> list[GenerationRequest]:
    seeds = seeds if seeds is not None else list(range(len(QUESTIONS)))
    return [GenerationRequest(messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": q}],
                              n=n, seed=seed) for q, seed in zip(QUESTIONS, seeds, strict=True)]


def _rows(backend: HFBackend) -> list[list[int]]:
    tok = backend.tokenizer
    return [tok(tok.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False),
                add_special_tokens=False)["input_ids"] for r in _requests(1)]


def _texts(out) -> list[list[tuple[str, int, str]]]:
    return [[(g.text, g.completion_tokens, g.finish_reason) for g in gens] for gens in out]


def test_greedy_rows_are_model_generate_s_even_as_rows_stop_at_different_steps(backend):
    import torch

    rows = _rows(backend)
    greedy = SamplingConfig(temperature=0.0, max_new_tokens=20)
    # Each prompt alone through transformers' own generate: the reference.
    alone = [backend.model.generate(input_ids=torch.tensor([r]), do_sample=False, max_new_tokens=20,
                                    pad_token_id=backend.tokenizer.pad_token_id, eos_token_id=[-1])[0, len(r):].tolist()
             for r in rows]
    # Stop tokens that end the rows at different steps, so the batch shrinks while the others go on.
    stop = {alone[0][3], alone[2][8]}
    with torch.no_grad():
        got = sample(backend.model, rows, 2, [0, 1, 2, 3], greedy, stop, backend.tokenizer.pad_token_id)
    lengths = set()
    for q, reference in enumerate(alone):
        end = next((j + 1 for j, t in enumerate(reference) if t in stop), len(reference))
        lengths.add(end)
        for s in range(2):
            assert got[q * 2 + s].tokens == reference[:end]
            assert got[q * 2 + s].stopped == (end < len(reference) or reference[-1] in stop)
    assert len(lengths) > 1


def test_sampled_rows_are_what_each_row_computed_alone_from_scratch_would_draw(sharp):
    """The reference recomputes each row on its own at every step (no cache, no padding, no other rows) and
    draws with the row's generator; sampling is sensitive to any error in positions, masks or the cache."""
    import torch

    from mabench.backends.hf_sampling import row_seed

    rows, n, seeds = _rows(sharp), 2, [5, 6, 7, 8]
    sampling = SamplingConfig(temperature=1.0, top_p=0.9, max_new_tokens=16)
    stop = set(range(0, len(sharp.tokenizer), 9))  # about one token in nine ends a row: rows stop apart
    with torch.no_grad():
        reference = []
        for row, seed in zip(rows, seeds, strict=True):
            for s in range(n):
                generator, tokens = torch.Generator().manual_seed(row_seed(seed, s)), list(row)
                while len(tokens) - len(row) < sampling.max_new_tokens:
                    logits = sharp.model(input_ids=torch.tensor([tokens])).logits[0, -1]
                    tokens.append(int(draw(distribution(logits[None], sampling), [generator])[0]))
                    if tokens[-1] in stop:
                        break
                reference.append(tokens[len(row):])
        got = sample(sharp.model, rows, n, seeds, sampling, stop, sharp.tokenizer.pad_token_id)
    assert [c.tokens for c in got] == reference
    assert len({len(t) for t in reference}) > 1  # some rows stopped early and left the batch


def test_a_request_s_samples_do_not_depend_on_the_other_requests_of_the_call(backend):
    sampling = SamplingConfig(temperature=1.0, top_p=0.95, max_new_tokens=24)
    together = _texts(backend.generate(_requests(3), sampling))
    for q, request in enumerate(_requests(3)):
        assert _texts(backend.generate([request], sampling)) == [together[q]]
    reordered = _texts(backend.generate(list(reversed(_requests(3))), sampling))
    assert reordered == list(reversed(together))


def test_samples_are_independent_draws_that_follow_the_seed(backend):
    sampling = SamplingConfig(temperature=1.0, max_new_tokens=24)
    first = _texts(backend.generate(_requests(3), sampling))
    assert first == _texts(backend.generate(_requests(3), sampling))
    assert any(len({text for text, *_ in gens}) > 1 for gens in first)  # n samples of a prompt are not copies
    other = _texts(backend.generate(_requests(3, seeds=[10, 11, 12, 13]), sampling))
    assert other != first


def test_models_the_loop_cannot_drive_are_sampled_per_request_with_the_same_independence(backend):
    sampling = SamplingConfig(temperature=1.0, max_new_tokens=16)
    backend.model._supports_default_dynamic_cache = lambda: False
    try:
        together = _texts(backend.generate(_requests(2), sampling))
        assert _texts(backend.generate(_requests(2)[1:2], sampling)) == together[1:2]
    finally:
        backend.model.__dict__.pop("_supports_default_dynamic_cache", None)


@pytest.mark.parametrize(("temperature", "top_p"), [(0.7, 1.0), (1.3, 0.9), (0.5, 0.3)])
def test_temperature_and_top_p_give_transformers_own_distribution(temperature, top_p):
    import torch
    from transformers import TemperatureLogitsWarper, TopPLogitsWarper

    logits = torch.randn(5, 300, generator=torch.Generator().manual_seed(3)) * 4
    expected = TopPLogitsWarper(top_p)(None, TemperatureLogitsWarper(temperature)(None, logits)).softmax(-1)
    got = distribution(logits, SamplingConfig(temperature=temperature, top_p=top_p))
    torch.testing.assert_close(got, expected)
    if top_p < 1.0:
        assert ((got == 0).sum(-1) > 0).all()  # the filter did remove tokens


def test_draws_follow_the_distribution_and_never_pick_a_zero_probability_token():
    import torch

    probs = torch.tensor([[0.0, 0.5, 0.0, 0.3, 0.2, 0.0]] * 2)
    generators = [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)]
    counts = torch.zeros(6)
    for _ in range(4000):
        counts += torch.bincount(draw(probs, generators), minlength=6)
    assert counts[[0, 2, 5]].sum() == 0
    expected = probs[0] * counts.sum()
    chi2 = (((counts - expected) ** 2)[[1, 3, 4]] / expected[[1, 3, 4]]).sum()
    assert chi2 < 13.8  # chi-square, 2 degrees of freedom, p = 0.001
    # each row's draws come from its own generator only
    alone = draw(probs[:1], [torch.Generator().manual_seed(2)])[0]
    assert alone == draw(probs, [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])[1]


def test_a_prompt_that_is_a_prefix_of_another_keeps_a_token_of_its_own():
    assert common_prefix_length([[1, 2, 3], [1, 2, 3, 4]]) == 2
    assert common_prefix_length([[1, 2, 3], [1, 2, 3]]) == 2
    assert common_prefix_length([[5, 2], [1, 2]]) == 0
    assert common_prefix_length([[7]]) == 0


def test_the_prefilled_cache_gives_each_prompt_the_next_token_distribution_it_has_alone(backend):
    import torch

    rows = _rows(backend)
    assert common_prefix_length(rows) > 3 and len({len(r) for r in rows}) > 2  # a shared prefix, then padding
    n = 2
    with torch.no_grad():
        _, _, last = _prefill(backend.model, rows, n, backend.tokenizer.pad_token_id)
        for q, row in enumerate(rows):
            alone = backend.model(input_ids=torch.tensor([row])).logits[0, -1]
            for s in range(n):
                torch.testing.assert_close(last[q * n + s], alone, rtol=1e-4, atol=1e-4)


def test_a_call_larger_than_the_row_cap_is_split_without_changing_any_sample(backend, monkeypatch):
    from mabench.backends import hf

    sampling = SamplingConfig(temperature=1.0, max_new_tokens=12)
    whole = _texts(backend.generate(_requests(3), sampling))
    monkeypatch.setattr(hf, "MAX_ROWS", 4)  # one request of 3 rows per wave
    assert _texts(backend.generate(_requests(3), sampling)) == whole


def test_rows_per_call_keeps_the_kv_cache_of_a_call_within_budget_for_small_and_large_models():
    from types import SimpleNamespace

    import torch
    from transformers import LlamaConfig

    from mabench.backends.hf import KV_BUDGET, MAX_ROWS, rows_per_call

    smollm2 = LlamaConfig(hidden_size=576, num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3)
    llama_7b = LlamaConfig(hidden_size=4096, num_hidden_layers=32, num_attention_heads=32)
    assert rows_per_call(SimpleNamespace(config=smollm2, dtype=torch.float32), 460) == MAX_ROWS
    rows = rows_per_call(SimpleNamespace(config=llama_7b, dtype=torch.bfloat16), 460)
    per_row = 2 * 32 * 32 * 128 * 2 * 460  # keys and values, layers, heads, head size, bytes, tokens
    assert 1 <= rows <= KV_BUDGET // per_row < MAX_ROWS
    assert rows_per_call(SimpleNamespace(config=llama_7b, dtype=torch.bfloat16), 10**7) == 1
