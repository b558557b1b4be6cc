"""The OpenAI-compatible backend against a real loopback server that serves the tiny transformers model."""

from __future__ import annotations

import time

import pytest

from mabench.backends import BackendOptions, load_backend
from mabench.backends.base import GenerationRequest, SamplingConfig, sample_seed
from mabench.backends.openai_api import OpenAIBackend
from mabench.tasks import load_task
from tests.backends.openai_server import FixedLatencyGenerator, LoopbackServer
from tests.backends.runs import flat, latest, lines, manifest, only_run_dir, openai_run

SAMPLING = SamplingConfig(temperature=0.8, max_new_tokens=8)


def request(i: int, n: int = 1) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": f"Question {i}: who wrote it?"}], n=n, seed=100 + i)


def backend(base_url: str, **options) -> OpenAIBackend:
    loaded = load_backend("openai:tiny", BackendOptions(base_url=base_url, **{"api_key_env": "none", **options}))
    assert isinstance(loaded, OpenAIBackend)
    return loaded


def test_best_of_k_is_one_request_with_n_when_the_server_honours_it_and_usage_is_the_servers(server, tiny_generator):
    (gens,) = backend(server.base_url).generate([request(1, n=3)], SAMPLING)
    (sent,) = server.requests()
    assert sent["n"] == 3 and sent["seed"] == sample_seed(101)
    expected = tiny_generator({"messages": request(1).messages, "n": 3, "seed": sent["seed"], "temperature": 0.8,
                               "max_tokens": 8}, 3)
    assert [g.text for g in gens] == expected.texts
    assert [g.sample_index for g in gens] == [0, 1, 2]
    assert {g.prompt_tokens for g in gens} == {expected.prompt_tokens}
    assert sum(g.completion_tokens for g in gens) == expected.completion_tokens


def test_a_server_that_ignores_n_gets_the_missing_samples_as_separate_seeded_requests(tiny_generator):
    with LoopbackServer(tiny_generator, honour_n=False) as server:
        client = backend(server.base_url)
        first = client.generate([request(1, n=3), request(2, n=3)], SAMPLING)
        assert [len(gens) for gens in first] == [3, 3] and client.honours_n is False
        assert sorted(e["n"] for e in server.requests()) == [1, 1, 1, 1, 3, 3]
        assert {e["seed"] for e in server.requests() if e["n"] == 1} == {
            sample_seed(seed, i) for seed in (101, 102) for i in (1, 2)}
        server.reset_log()
        client.generate([request(3, n=3)], SAMPLING)
        assert [e["n"] for e in server.requests()] == [1, 1, 1], "once learnt, n is no longer asked for"
        assert {e["seed"] for e in server.requests()} == {sample_seed(103, i) for i in range(3)}


def test_missing_usage_is_counted_with_the_named_tokenizer_and_the_source_is_recorded(tiny_generator, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    with LoopbackServer(tiny_generator, report_usage=False) as server:
        counted = backend(server.base_url, tokenizer=str(tiny_model))
        (gens,) = counted.generate([request(1, n=2)], SAMPLING)
        assert counted.stats()["usage_source"] == {"tokenizer": 2}
        prompt = tokenizer.apply_chat_template(request(1).messages, add_generation_prompt=True, tokenize=True)
        prompt = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
        assert {g.prompt_tokens for g in gens} == {len(prompt)}
        assert [g.completion_tokens for g in gens] == [len(tokenizer.encode(g.text, add_special_tokens=False))
                                                       for g in gens]
        estimated = backend(server.base_url)  # "tiny" names no tokenizer folder: an estimate, labelled so
        estimated.generate([request(1)], SAMPLING)
        assert estimated.stats()["usage_source"] == {"estimate": 1}


def test_a_429_is_retried_no_sooner_than_its_retry_after(server):
    server.faults.retry_after = "1"
    server.faults.push("429")
    (gens,) = backend(server.base_url, backoff_base=0.01).generate([request(1)], SAMPLING)
    rejected, answered = server.requests()
    assert rejected["fault"] == "429" and answered["fault"] is None
    assert answered["time"] - rejected["time"] >= 1.0
    assert gens[0].finish_reason != "error"


@pytest.mark.parametrize("fault", ["500", "drop", "hang", "malformed", "empty"])
def test_each_transient_fault_is_retried_until_an_answer_comes(server, fault):
    server.faults.push(fault, fault)
    client = backend(server.base_url, request_timeout=1, backoff_base=0.01, max_retries=2)
    (gens,) = client.generate([request(1, n=2)], SAMPLING)
    assert [e["fault"] for e in server.requests()] == [fault, fault, None]
    assert [g.finish_reason for g in gens] != ["error", "error"] and all(g.error is None for g in gens)
    assert client.stats()["requests"] == {"attempts": 3, "retries": 2}


def test_a_request_that_keeps_failing_comes_back_as_errors_with_the_reason(server):
    server.faults.fail_prompts_containing("Question 1:")
    client = backend(server.base_url, backoff_base=0.01, max_retries=2)
    failed, fine = client.generate([request(1, n=2), request(2)], SAMPLING)
    assert [g.finish_reason for g in failed] == ["error", "error"]
    assert "HTTP 500" in failed[0].error and "gave up after 3 attempts" in failed[0].error
    assert fine[0].finish_reason != "error"


def test_a_client_error_is_final_and_not_retried(server):
    client = backend(server.base_url.replace("/v1", "/wrong"), backoff_base=0.01)
    (gens,) = client.generate([request(1)], SAMPLING)
    assert "HTTP 404" in gens[0].error and "not retryable" in gens[0].error
    assert client.stats()["requests"]["attempts"] == 1


def test_no_more_than_concurrency_requests_are_in_flight():
    with LoopbackServer(FixedLatencyGenerator(0.2)) as server:
        start = time.perf_counter()
        out = backend(server.base_url, concurrency=4).generate([request(i) for i in range(12)], SAMPLING)
        elapsed = time.perf_counter() - start
    assert len(out) == 12 and server.max_in_flight == 4
    assert 0.55 < elapsed < 2.0  # three waves of 0.2 s


def test_a_run_completes_through_every_kind_of_fault(server, tmp_path):
    server.faults.push("429", "500", "drop", "hang", "malformed", "empty")
    server.faults.retry_after = "0"
    result = openai_run(server.base_url, tmp_path, "--request-timeout", "1", "--max-retries", "3")
    assert result.exit_code == 0, result.output
    run_dir = only_run_dir(tmp_path)
    records = latest(run_dir)
    assert len(records) == 12 and not [r for r in records.values() if r["error"]]
    assert [e["fault"] for e in server.requests()][:6] == ["429", "500", "drop", "hang", "malformed", "empty"]
    assert manifest(run_dir)["backend_stats"]["requests"]["retries"] >= 6
    assert manifest(run_dir)["errors"] == 0 and "errors: 0" in flat(result.output)


def test_a_question_that_fails_for_good_is_recorded_counted_and_retried_by_resume(server, tmp_path):
    second = load_task("ambigqa").load()[1]
    server.faults.fail_prompts_containing(second.inputs["question"])
    first = openai_run(server.base_url, tmp_path, "--max-retries", "1")
    assert first.exit_code == 0, first.output
    run_dir = only_run_dir(tmp_path)
    failed = {key: r for key, r in latest(run_dir).items() if r["error"]}
    assert sorted(failed) == [("bok", second.id), ("multi", second.id)]
    assert all("HTTP 500" in r["error"] and "gave up after 2 attempts" in r["error"] for r in failed.values())
    assert manifest(run_dir)["errors"] == 2 and "errors: 2" in flat(first.output)

    server.faults.clear()
    server.reset_log()
    resumed = openai_run(server.base_url, tmp_path, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert server.requests() and all(second.inputs["question"] in e["prompt"] for e in server.requests())
    assert not [r for r in latest(run_dir).values() if r["error"]]
    assert len(lines(run_dir)) == 14  # the two failed records stay in the log; the retries come after them
    assert manifest(run_dir)["errors"] == 0 and "errors: 0" in flat(resumed.output)

