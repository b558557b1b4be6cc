"""vLLM best-of-k: one request with SamplingParams(n=k) against k separate requests, same prompts, same run.

    python benchmarks/vllm_n_vs_k.py [--model PATH | --size tiny|small] [--prompts 32] [--k 4]
        [--prompt-words 200] [--max-new-tokens 16] [--rounds 3] [--enforce-eager] [--json OUT.json]

Both arms go through mabench's VLLMBackend (prefix caching on, per-request seeds), all requests of an arm in one
`generate` call: "n=k" sends P requests with n=k, "k requests" sends P*k requests with n=1. Every round and arm
gets its own prompts (same length, different words), so neither arm finds the other's prompts in the prefix
cache. Rounds alternate the arms; the median and the best (fastest) round of each arm are reported: on a shared
machine the best round is the steadier estimate. Throughput counts samples and generated tokens per second; the
ratio is n=k over k-requests (above 1: n=k is faster).

vLLM V1 runs a request with n=k as k child requests (seeds seed+i) that share the prompt's KV blocks through
the prefix cache, so both arms can reuse one prefill; what n=k saves is the prompt's k-1 extra tokenisations
and schedulings, and the prefills of the children that the prefix cache would not catch in time.

Without --model a config-built Llama with random weights is made in a temp folder: `tiny` is the test model
(hidden 64, 2 layers), `small` a larger one for GPUs (hidden 1024, 12 layers, 16 heads of 64; ~150M
parameters with the tiny tokenizer). On CPU run it with VLLM_CPU_KVCACHE_SPACE=1 and VLLM_ENABLE_V1_MULTIPROCESSING=0
(scripts/test-vllm.sh's settings).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.tiny_model

WORDS = ("paris", "frankenstein", "shelley", "titanic", "sank", "april", "bond", "connery", "craig", "capital",
         "australia", "canberra", "who", "wrote", "when", "did", "played", "what", "is", "the", "novel", "question",
         "answer", "city", "river", "year", "film", "actor")


def build_model(size: str, folder: Path) -> Path:
    from tests.tiny_model import build_tiny_model

    path = build_tiny_model(folder / "tiny")
    if size == "tiny":
        return path
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=1024, intermediate_size=4096, num_hidden_layers=12,
        num_attention_heads=16, num_key_value_heads=16, head_dim=64, max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=None,
    )
    small = folder / "small"
    LlamaForCausalLM(config).to(torch.bfloat16).save_pretrained(small)
    tokenizer.save_pretrained(small)
    return small


def prompts(count: int, words: int, salt: str) -> list[list[dict[str, str]]]:
    rng = random.Random(salt)
    return [[{"role": "user", "content": f"{salt} question {i}: " + " ".join(rng.choices(WORDS, k=words))}]
            for i in range(count)]


def run_arm(backend: Any, arm: str, messages: list[list[dict[str, str]]], k: int, sampling: Any) -> dict[str, float]:
    from mabench.backends.base import GenerationRequest, sample_seed

    if arm == "n=k":
        requests = [GenerationRequest(messages=m, n=k, seed=i) for i, m in enumerate(messages)]
    else:
        requests = [GenerationRequest(messages=m, n=1, seed=sample_seed(i, j))
                    for i, m in enumerate(messages) for j in range(k)]
    start = time.perf_counter()
    out = backend.generate(requests, sampling)
    seconds = time.perf_counter() - start
    samples = sum(len(gens) for gens in out)
    tokens = sum(g.completion_tokens for gens in out for g in gens)
    assert samples == len(messages) * k, f"{arm}: {samples} samples, expected {len(messages) * k}"
    errors = [g.error for gens in out for g in gens if g.error]
    if errors:
        raise SystemExit(f"{arm}: {len(errors)} samples failed, e.g. {errors[0]}")
    return {"seconds": seconds, "samples_per_s": samples / seconds, "tokens_per_s": tokens / seconds,
            "samples": samples, "tokens": tokens}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a model folder (default: build one, see --size)")
    parser.add_argument("--size", choices=("tiny", "small"), default="tiny")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--prompt-words", type=int, default=200)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--enforce-eager", action="store_true", help="no CUDA graphs / torch.compile")
    parser.add_argument("--engine-arg", action="append", default=[], help="KEY=JSON for vllm.LLM; repeatable")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    from mabench.backends.base import SamplingConfig
    from mabench.backends.options import BackendOptions
    from mabench.backends.vllm_backend import VLLMBackend

    engine_args = {}
    for item in args.engine_arg:
        key, _, value = item.partition("=")
        try:
            engine_args[key] = json.loads(value)
        except ValueError:
            engine_args[key] = value
    with tempfile.TemporaryDirectory(prefix="mabench-bench-") as tmp:
        model = args.model or build_model(args.size, Path(tmp))
        start = time.perf_counter()
        backend = VLLMBackend(str(model), BackendOptions(enforce_eager=args.enforce_eager, engine_args=engine_args))
        load_s = time.perf_counter() - start
        sampling = SamplingConfig(temperature=0.8, max_new_tokens=args.max_new_tokens)
        run_arm(backend, "n=k", prompts(4, args.prompt_words, "warm-up"), args.k, sampling)
        results: dict[str, list[dict[str, float]]] = {"n=k": [], "k requests": []}
        for r in range(args.rounds):
            order = ("n=k", "k requests") if r % 2 == 0 else ("k requests", "n=k")
            for arm in order:
                messages = prompts(args.prompts, args.prompt_words, f"round{r}-{arm}")
                results[arm].append(run_arm(backend, arm, messages, args.k, sampling))
    median = {arm: {key: statistics.median(row[key] for row in rows) for key in rows[0]}
              for arm, rows in results.items()}
    best = {arm: min(rows, key=lambda row: row["seconds"]) for arm, rows in results.items()}
    ratio = median["n=k"]["samples_per_s"] / median["k requests"]["samples_per_s"]
    token_ratio = median["n=k"]["tokens_per_s"] / median["k requests"]["tokens_per_s"]
    best_ratio = best["n=k"]["samples_per_s"] / best["k requests"]["samples_per_s"]
    print(f"model: {model if args.model else args.size} (loaded in {load_s:.1f} s); {args.prompts} prompts of "
          f"{args.prompt_words} words, k={args.k}, max_new_tokens={args.max_new_tokens}, {args.rounds} rounds")
    print(f"{'arm':>12} {'round':>6} {'seconds':>8} {'samples/s':>10} {'tokens/s':>10}")
    for label, table in (("median", median), ("best", best)):
        for arm, row in table.items():
            print(f"{arm:>12} {label:>6} {row['seconds']:>8.2f} {row['samples_per_s']:>10.1f} "
                  f"{row['tokens_per_s']:>10.1f}")
    print(f"throughput ratio n=k / k requests: {ratio:.2f} (median samples/s), {token_ratio:.2f} (median tokens/s), "
          f"{best_ratio:.2f} (best round, samples/s)")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "load_s": load_s,
                                         "median": median, "best": best, "rounds": results,
                                         "ratio_samples": ratio, "ratio_tokens": token_ratio,
                                         "ratio_best_samples": best_ratio}, indent=2))


if __name__ == "__main__":
    main()
