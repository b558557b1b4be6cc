"""Benchmark: the HF backend's sampling loop against transformers' `model.generate`, on the default run's work.

    python benchmarks/hf_sampling.py [--questions 100] [--modes multi,bok]

Generates the first `--questions` bundled AmbigQA questions as the default `mabench run` does: multi mode with the
bundled Multi-RLCR checkpoint (one sample per question), bok mode with the bundled RLCR checkpoint (k = 3), each
the embedded SmolLM2-135M-Instruct with its LoRA adapter merged, at `mabench run`'s default sampling:
- peer: `model.generate(num_return_sequences=n)` on left-padded batches of 8 questions (`--batch-size`), seeded
  per batch: what the backend ran before it had its own loop;
- mabench: `HFBackend.generate` on the groups the runner hands it (`preferred_batch_size` questions): a seed per
  sample, finished rows leaving the batch, each prompt computed once for its n samples.
Both are run in the same process, one after the other. Prints wall and CPU seconds per mode and path, the ratio,
and per path how many outputs parse (format_ok) and their mean completion tokens: the samples differ (other
seeds), so quality is compared by these.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.bundled import FOLDER
from mabench.backends.default_model import load_default_backend
from mabench.config import RunConfig
from mabench.runner import batch_seed
from mabench.tasks import load_task


def peer(backend, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[tuple[str, int]]:
    """transformers' generate on one left-padded batch, seeded per batch."""
    tok = backend.tokenizer
    torch.manual_seed(requests[0].seed)
    texts = [tok.apply_chat_template(r.messages, add_generation_prompt=True, tokenize=False) for r in requests]
    batch = tok(texts, add_special_tokens=False, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = backend.model.generate(**batch, num_return_sequences=requests[0].n, do_sample=True,
                                     temperature=sampling.temperature, top_p=sampling.top_p, top_k=None,
                                     max_new_tokens=sampling.max_new_tokens, pad_token_id=tok.pad_token_id)
    result = []
    for tokens in out[:, batch["input_ids"].shape[1]:].tolist():
        stop = next((j for j, t in enumerate(tokens) if t in backend._eos), None)
        kept = tokens if stop is None else tokens[: stop + 1]
        result.append((tok.decode(kept, skip_special_tokens=True), len(kept)))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=RunConfig().batch_size)
    parser.add_argument("--modes", default="multi,bok")
    args = parser.parse_args()
    task, defaults = load_task("ambigqa"), RunConfig()
    questions = task.load()[: args.questions]
    sampling = SamplingConfig(temperature=defaults.temperature, top_p=defaults.top_p,
                              max_new_tokens=defaults.max_new_tokens)
    report: dict[str, object] = {"questions": len(questions), "load_average_start": os.getloadavg()[0],
                                 "torch_threads": torch.get_num_threads()}
    for mode, n, checkpoint in (("multi", 1, "multi-rlcr"), ("bok", defaults.k, "rlcr")):
        if mode not in args.modes.split(","):
            continue
        backend = load_default_backend(adapter=FOLDER / checkpoint)
        requests = [GenerationRequest(messages=task.messages(q, mode, defaults.k), n=n,
                                      seed=batch_seed(defaults.seed, "ambigqa", mode, i // args.batch_size)
                                      + i % args.batch_size) for i, q in enumerate(questions)]
        for path in ("peer", "mabench"):
            wall, cpu, outputs = time.perf_counter(), time.process_time(), []
            if path == "peer":
                for first in range(0, len(requests), args.batch_size):
                    outputs += peer(backend, requests[first: first + args.batch_size], sampling)
            else:
                size = backend.preferred_batch_size
                for first in range(0, len(requests), size):
                    outputs += [(g.text, g.completion_tokens) for gens in
                                backend.generate(requests[first: first + size], sampling) for g in gens]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            report[f"{mode}_{path}"] = {
                "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "samples": len(outputs),
                "format_ok": sum(task.parse(text, mode, defaults.k).format_ok for text, _ in outputs),
                "mean_completion_tokens": round(sum(t for _, t in outputs) / len(outputs), 1)}
            print(mode, path, json.dumps(report[f"{mode}_{path}"]), flush=True)
        report[f"{mode}_ratio_peer_over_mabench"] = round(
            report[f"{mode}_peer"]["wall_s"] / report[f"{mode}_mabench"]["wall_s"], 2)  # type: ignore[index]
        backend.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
