"""The response cache: what its key covers, what a cached run sends to the model, and how it is switched off."""

from __future__ import annotations

import pytest

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.cache import CachedBackend, ResponseCache, cache_key
from mabench.types import Generation
from tests.backends.runs import flat, lines, manifest, only_run_dir, openai_run, texts

REQUEST = GenerationRequest(messages=[{"role": "user", "content": "Who wrote Frankenstein?"}], n=3, seed=7)
SAMPLING = SamplingConfig(temperature=0.7, top_p=0.9, max_new_tokens=32)
BASE = cache_key("fp", REQUEST, SAMPLING, 0)


@pytest.mark.parametrize("changed", [
    cache_key("other-fp", REQUEST, SAMPLING, 0),
    cache_key("fp", REQUEST.model_copy(update={"messages": [{"role": "user", "content": "Who wrote Dracula?"}]}),
              SAMPLING, 0),
    cache_key("fp", REQUEST.model_copy(update={"messages": [{"role": "system", "content": "Be brief."},
                                                            *REQUEST.messages]}), SAMPLING, 0),
    cache_key("fp", REQUEST, SAMPLING.model_copy(update={"temperature": 0.8}), 0),
    cache_key("fp", REQUEST, SAMPLING.model_copy(update={"top_p": 1.0}), 0),
    cache_key("fp", REQUEST, SAMPLING.model_copy(update={"max_new_tokens": 64}), 0),
    cache_key("fp", REQUEST.model_copy(update={"seed": 8}), SAMPLING, 0),
    cache_key("fp", REQUEST.model_copy(update={"n": 4}), SAMPLING, 0),
    cache_key("fp", REQUEST, SAMPLING, 1),
], ids=["fingerprint", "message", "system-message", "temperature", "top_p", "max_new_tokens", "seed", "n",
        "sample-index"])
def test_the_key_changes_with_every_input_that_changes_the_sample(changed):
    assert changed != BASE
    assert cache_key("fp", REQUEST, SAMPLING, 0) == BASE


def test_a_shared_cache_answers_a_fresh_run_without_calling_the_server(server, tmp_path):
    shared = tmp_path / "shared.sqlite"
    first = openai_run(server.base_url, tmp_path / "runs", "--cache", str(shared))
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path / "runs")
    before = {(r["mode"], r["question_id"]): texts(r) for r in lines(run_dir)}
    assert manifest(run_dir)["backend_stats"]["cache"]["hits"] == 0
    sent = len(server.requests())

    again = openai_run(server.base_url, tmp_path / "runs", "--cache", str(shared), "--fresh")
    assert again.exit_code == 0, again.output
    assert len(server.requests()) == sent, "every sample must come from the cache"
    assert {(r["mode"], r["question_id"]): texts(r) for r in lines(run_dir)} == before
    assert manifest(run_dir)["backend_stats"]["cache"] | {"path": None} == {
        "path": None, "hits": 24, "lookups": 24, "hit_rate": 1.0}  # 6 multi x 1 + 6 bok x 3 samples
    assert "cache hits: 24/24 samples (100%)" in flat(again.output)

    hotter = openai_run(server.base_url, tmp_path / "runs", "--cache", str(shared), "--temperature", "0.9")
    assert hotter.exit_code == 0, hotter.output
    assert len(server.requests()) > sent and "cache hits: 0/24 samples (0%)" in flat(hotter.output)


def test_the_cache_lives_in_the_run_directory_unless_switched_off(server, tmp_path):
    assert openai_run(server.base_url, tmp_path / "on").exit_code == 0
    assert (only_run_dir(tmp_path / "on") / "cache.sqlite").is_file()
    off = openai_run(server.base_url, tmp_path / "off", "--no-cache")
    assert off.exit_code == 0, off.output
    assert not (only_run_dir(tmp_path / "off") / "cache.sqlite").exists()
    assert "cache" not in manifest(only_run_dir(tmp_path / "off"))["backend_stats"]
    assert "cache hits" not in flat(off.output)


def test_failed_generations_are_not_cached(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    ok = Generation(text="x", prompt_tokens=1, completion_tokens=1, finish_reason="stop")
    failed = Generation(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error", error="HTTP 500")
    cache.put_many([("ok", ok), ("failed", failed)])
    assert cache.get_many(["ok", "failed"]) == {"ok": ok}


class CallSeeded:
    """A backend that seeds each call from all its requests, as HF's did before it seeded per request: a
    request's samples then depend on the other requests of the call (`batch_invariant` false)."""

    name, fingerprint, chat_template_hash = "call-seeded", "fp", None

    def generate(self, requests, sampling):
        import random

        rng = random.Random(str([r.seed for r in requests]))
        return [[Generation(text=str(rng.random()), prompt_tokens=1, completion_tokens=1, finish_reason="stop")
                 for _ in range(r.n)] for r in requests]


def test_a_batch_dependent_backend_regenerates_the_whole_batch_so_cached_runs_match_uncached(tmp_path):
    inner = CallSeeded()
    batch = [REQUEST.model_copy(update={"n": 2, "seed": s}) for s in (1, 2)]
    uncached = [[g.text for g in gens] for gens in inner.generate(batch, SAMPLING)]
    cached = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    alone = cached.generate(batch[:1], SAMPLING)  # the first request alone, in another batch: other samples
    assert [g.text for g in alone[0]] != uncached[0]
    again = cached.generate(batch, SAMPLING)
    assert [[g.text for g in gens] for gens in again] == uncached
    assert cached.hits == 0 and cached.lookups == 6
