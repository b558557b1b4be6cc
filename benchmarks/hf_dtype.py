"""Benchmark: float32 (the HF backend's CPU dtype today) against bfloat16 weights, for the default run's multi mode.

    python benchmarks/hf_dtype.py [--questions 16] [--batch-size 8]

Exploratory, for issue #14's next step (a `--dtype` option): decoding on CPU streams every weight at every step,
so halving the bytes should show directly. Loads `bundled:multi-rlcr` (embedded SmolLM2-135M-Instruct with its
LoRA adapter merged), generates the first `--questions` bundled AmbigQA questions in multi mode with `mabench run`'s
default sampling and batch seeds, once per dtype in the same process, and prints wall seconds, the ratio, and how
many outputs parse (format_ok) in each dtype.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.bundled import FOLDER
from mabench.backends.default_model import load_default_backend
from mabench.config import RunConfig
from mabench.runner import batch_seed
from mabench.tasks import load_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()
    task = load_task("ambigqa")
    questions = task.load()[: args.questions]
    defaults = RunConfig()
    sampling = SamplingConfig(temperature=defaults.temperature, top_p=defaults.top_p,
                              max_new_tokens=defaults.max_new_tokens)
    backend = load_default_backend(adapter=FOLDER / "multi-rlcr")
    report = {}
    for dtype in (torch.float32, torch.bfloat16):
        backend.model.to(dtype)
        start, format_ok, tokens = time.perf_counter(), 0, 0
        for first in range(0, len(questions), args.batch_size):
            batch = questions[first: first + args.batch_size]
            seed = batch_seed(defaults.seed, "ambigqa", "multi", first // args.batch_size)
            requests = [GenerationRequest(messages=task.messages(q, "multi", defaults.k), n=1, seed=seed + i)
                        for i, q in enumerate(batch)]
            for gens in backend.generate(requests, sampling):
                format_ok += task.parse(gens[0].text, "multi", defaults.k).format_ok
                tokens += gens[0].completion_tokens
        report[str(dtype).removeprefix("torch.")] = {"wall_s": round(time.perf_counter() - start, 1),
                                                     "format_ok": format_ok, "completion_tokens": tokens}
    report["ratio_float32_over_bfloat16"] = round(report["float32"]["wall_s"] / report["bfloat16"]["wall_s"], 2)
    print(json.dumps({"questions": len(questions), **report}))


if __name__ == "__main__":
    main()
