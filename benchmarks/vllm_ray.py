"""`mabench run` with one vLLM engine against `--data-parallel-size N` on Ray (vllm_ray.py), same run, same seeds.

    python benchmarks/vllm_ray.py [--model PATH] [--replicas 2] [--limit 8] [--k 3] [--max-new-tokens 16]

Both arms are the real command line, each in its own process and output folder: "one engine" is `vllm.LLM` in
the process; "Ray" is N engines in Ray Data actors on a local Ray instance that mabench starts itself (no
--ray-address, no RAY_ADDRESS). Wall time covers everything (Python start, model load, Ray start, generation).
It checks what the Ray path promises: the same run id (replicas and cluster are not part of it) and the same
records (texts, token counts, finish reasons). The ratio is Ray over one engine (above 1: Ray is slower).

On a CPU box the N engines share the same cores, so Ray cannot be faster there: the figure is Ray's fixed cost
(starting Ray, its actors and N engines per `generate` call). Without --model the tiny test model is built in a
temp folder. On CPU run it with VLLM_CPU_KVCACHE_SPACE=1 and VLLM_ENABLE_V1_MULTIPROCESSING=0 (scripts/test-vllm.sh's
settings).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.tiny_model


def run_arm(model: Path, out: Path, args: argparse.Namespace, extra: list[str]) -> tuple[float, Path, str]:
    command = [sys.executable, "-m", "mabench", "run", "--model", f"vllm:{model}", "--out", str(out), "--limit",
               str(args.limit), "--k", str(args.k), "--max-new-tokens", str(args.max_new_tokens), "--seed", "3",
               "--no-cache", "--enforce-eager", "--engine-arg", "distributed_executor_backend=uni", *extra]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
                          timeout=1800)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return wall, run_dir, done.stderr


def records(run_dir: Path) -> list[Any]:
    """What a record says about its generations, without latencies."""
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return sorted((r["mode"], r["question_id"], [(g["text"], g["prompt_tokens"], g["completion_tokens"],
                                                  g["finish_reason"]) for g in r["generations"]]) for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.model is None:
            from tests.tiny_model import build_tiny_model

            args.model = build_tiny_model(folder / "tiny")
        one, one_dir, _ = run_arm(args.model, folder / "one", args, [])
        ray, ray_dir, _ = run_arm(args.model, folder / "ray", args, ["--data-parallel-size", str(args.replicas)])
        same_id, same_records = one_dir.name == ray_dir.name, records(one_dir) == records(ray_dir)
        print(f"model {args.model.name}: {args.limit} questions x (multi + bok k={args.k}), "
              f"{args.max_new_tokens} new tokens, {os.cpu_count()} CPUs")
        print(f"one engine            {one:7.1f} s   run {one_dir.name}")
        print(f"{args.replicas} replicas on Ray    {ray:7.1f} s   run {ray_dir.name}")
        print(f"ratio Ray / one engine {ray / one:.2f}; same run id: {same_id}; same records: {same_records}")
        if not (same_id and same_records):
            raise SystemExit(1)


if __name__ == "__main__":
    main()
