"""Benchmark: the HF backend's pre-filled prompts against plain padded generation, on the default run's work.

    python benchmarks/hf_prefill.py [--questions 24] [--batch-size 8] [--max-new-tokens 256] [--repeat 1]

Generates the first `--questions` bundled AmbigQA questions as the default `mabench run` does: multi mode with
the bundled Multi-RLCR checkpoint (one sample per question), bok mode with the bundled RLCR checkpoint (k = 3
samples), each the embedded SmolLM2-135M-Instruct with its LoRA adapter merged; `mabench run`'s default sampling
(temperature 0.7, top_p 1.0), batches of `--batch-size` questions, seeded per batch as a run is:
- plain: left-padded prompts, each computed once per sample (`generate(num_return_sequences=n)`), the peer;
- prefill: the shared prefix computed once per batch and each prompt once for its n samples (`HFBackend`).
Prints wall and CPU seconds per path and mode, their ratio, and whether the two gave the same samples.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.bundled import FOLDER
from mabench.backends.default_model import load_default_backend
from mabench.config import RunConfig
from mabench.runner import batch_seed
from mabench.tasks import load_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    task = load_task("ambigqa")
    questions = task.load()[: args.questions]
    defaults = RunConfig()
    sampling = SamplingConfig(temperature=defaults.temperature, top_p=defaults.top_p,
                              max_new_tokens=args.max_new_tokens)
    report: dict[str, dict[str, float | bool]] = {}
    for mode, n, checkpoint in (("multi", 1, "multi-rlcr"), ("bok", 3, "rlcr")):
        backend = load_default_backend(adapter=FOLDER / checkpoint)
        outputs: dict[str, list] = {}
        for path in ("plain", "prefill", "plain", "prefill")[: 2 * args.repeat]:
            if path == "plain":
                backend.model._supports_default_dynamic_cache = lambda: False
            wall, cpu, texts = time.perf_counter(), time.process_time(), []
            for start in range(0, len(questions), args.batch_size):
                batch = questions[start: start + args.batch_size]
                seed = batch_seed(defaults.seed, "ambigqa", mode, start // args.batch_size)
                requests = [GenerationRequest(messages=task.messages(q, mode, 3), n=n, seed=seed + i)
                            for i, q in enumerate(batch)]
                texts += [[g.text for g in gens] for gens in backend.generate(requests, sampling)]
            backend.model.__dict__.pop("_supports_default_dynamic_cache", None)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best = report.setdefault(f"{mode}_{path}", {"wall_s": wall, "cpu_s": cpu})
            best.update(wall_s=min(wall, float(best["wall_s"])), cpu_s=min(cpu, float(best["cpu_s"])))
            outputs[path] = texts
        report[f"{mode}_ratio"] = {
            "wall": float(report[f"{mode}_plain"]["wall_s"]) / float(report[f"{mode}_prefill"]["wall_s"]),
            "cpu": float(report[f"{mode}_plain"]["cpu_s"]) / float(report[f"{mode}_prefill"]["cpu_s"]),
            "identical_samples": outputs["plain"] == outputs["prefill"],
        }
        backend.close()
        print(mode, json.dumps({k: v for k, v in report.items() if k.startswith(mode)}), flush=True)
    plain = sum(float(report[f"{m}_plain"]["wall_s"]) for m in ("multi", "bok"))
    prefill = sum(float(report[f"{m}_prefill"]["wall_s"]) for m in ("multi", "bok"))
    print(json.dumps({"questions": args.questions, "batch_size": args.batch_size, "load_average": os.getloadavg()[0],
                      "plain_wall_s": round(plain, 1), "prefill_wall_s": round(prefill, 1),
                      "ratio_plain_over_prefill": round(plain / prefill, 2)}))


if __name__ == "__main__":
    main()
