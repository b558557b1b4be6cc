"""Which backend a --model value selects, and how bad backend arguments are refused."""

from __future__ import annotations

import importlib.util

import pytest

from mabench.backends import BackendOptions, UnknownModelError, resolve_model
from mabench.backends.retry import RetryPolicy, retry_after_seconds
from tests.backends.runs import flat, mabench

HAS_VLLM = importlib.util.find_spec("vllm") is not None


def test_explicit_prefixes_select_their_backend(tiny_model, tmp_path):
    (tmp_path / "gens.jsonl").write_text("")
    assert resolve_model(f"hf:{tiny_model}") == ("hf", str(tiny_model))
    assert resolve_model("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert resolve_model(f"replay:{tmp_path / 'gens.jsonl'}") == ("replay", str(tmp_path / "gens.jsonl"))
    assert resolve_model("default") == ("hf", "default")


@pytest.mark.skipif(HAS_VLLM, reason="checks the machine without vllm; scripts/test-vllm.sh covers the other")
def test_without_vllm_a_bare_folder_is_served_by_transformers_and_vllm_prefix_says_how_to_install(tiny_model):
    assert resolve_model(str(tiny_model)) == ("hf", str(tiny_model))
    with pytest.raises(UnknownModelError, match=r"pip install 'mabench\[vllm\]'"):
        resolve_model(f"vllm:{tiny_model}")


@pytest.mark.parametrize("model", ["vllm:", "openai:", "replay:", "hf:"])
def test_a_prefix_without_a_model_is_refused(model):
    with pytest.raises(UnknownModelError, match="names no model"):
        resolve_model(model)


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "openai:tiny"], "needs --base-url"),
    (["--model", "openai:tiny", "--base-url", "localhost:8000"], "--base-url: Value error, base_url must start "
                                                                  "with http:// or https://"),
    (["--model", "openai:tiny", "--base-url", "http://127.0.0.1:9/v1", "--concurrency", "0"], "--concurrency:"),
    (["--model", "openai:tiny", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "-1"], "--max-retries:"),
    (["--gpu-memory-utilization", "1.5"], "--gpu-memory-utilization:"),
    (["--resume"], "--resume: no run to resume"),
    (["--resume", "--fresh"], "give one of them"),
])
def test_bad_backend_arguments_exit_2_and_say_what_was_expected(tmp_path, args, message):
    result = mabench("--out", str(tmp_path), "--limit", "1", *args)
    assert result.exit_code == 2, result.output
    assert message in flat(result.output)
    assert not any(tmp_path.iterdir()), "nothing may be written for a refused command"


def test_the_cache_defaults_into_the_run_directory_and_a_shared_path_or_no_cache_overrides_it(tmp_path):
    assert BackendOptions().with_run_dir(tmp_path).cache_path == tmp_path / "cache.sqlite"
    assert BackendOptions(cache_path=tmp_path / "s.db").with_run_dir(tmp_path / "run").cache_path == tmp_path / "s.db"
    assert BackendOptions(cache=False).with_run_dir(tmp_path).cache_path is None


def test_retry_after_is_read_as_seconds_milliseconds_or_an_http_date():
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None and retry_after_seconds({}) is None


def test_backoff_grows_exponentially_with_jitter_and_honours_retry_after_up_to_the_cap():
    import random

    policy, rng = RetryPolicy(base=1.0, cap=8.0), random.Random(0)
    for retry, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        waits = {policy.delay(retry, rng) for _ in range(50)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits) and len(waits) > 1
    assert policy.delay(0, rng, retry_after=5.0) >= 5.0
    assert policy.delay(0, rng, retry_after=60.0) == 8.0
