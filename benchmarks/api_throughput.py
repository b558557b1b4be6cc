"""Throughput of the OpenAI-compatible backend against a local server with a fixed per-request latency.

    python benchmarks/api_throughput.py [--requests 1000] [--latency 0.1] [--concurrency 1,8,64]
                                        [--requests-at-1 100]

The server (tests/backends/openai_server.py, fixed-latency mode) runs in its own process on loopback and answers
every chat completion after `--latency` seconds. For each concurrency c the backend sends `--requests` requests
(n=1, distinct prompts and seeds; no response cache) through `OpenAIBackend.generate`, with all its machinery:
semaphore, retry loop, JSON parsing, usage. Ideal wall time is ceil(requests / c) * latency; the script prints
requests per second and the fraction of ideal throughput. Concurrency 1 uses `--requests-at-1` requests
(1,000 x 100 ms would take 100 s for a number that only shows the per-request overhead).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.backends.openai_server

from mabench.backends.base import GenerationRequest, SamplingConfig  # noqa: E402
from mabench.backends.openai_api import OpenAIBackend  # noqa: E402
from mabench.backends.options import BackendOptions  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([sys.executable, "-m", "tests.backends.openai_server", "--latency", str(latency)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def measure(base_url: str, concurrency: int, requests: int, latency: float) -> dict[str, float]:
    backend = OpenAIBackend("bench", BackendOptions(base_url=base_url, concurrency=concurrency, cache=False,
                                                  api_key_env="none"))
    batch = [GenerationRequest(messages=[{"role": "user", "content": f"Question {i}?"}], seed=i)
             for i in range(requests)]
    start = time.perf_counter()
    out = backend.generate(batch, SamplingConfig(max_new_tokens=16))
    elapsed = time.perf_counter() - start
    failed = sum(g.finish_reason == "error" for gens in out for g in gens)
    ideal = math.ceil(requests / concurrency) * latency
    return {"concurrency": concurrency, "requests": requests, "seconds": elapsed, "rps": requests / elapsed,
            "ideal_rps": requests / ideal, "fraction": ideal / elapsed, "failed": failed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--requests-at-1", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--concurrency", default="1,8,64")
    args = parser.parse_args()
    server, base_url = start_server(args.latency)
    try:
        measure(base_url, 8, 16, args.latency)  # warm-up: imports, first connections
        print(f"server: {base_url}, fixed latency {args.latency * 1000:.0f} ms")
        print(f"{'concurrency':>11} {'requests':>8} {'seconds':>8} {'req/s':>8} {'ideal':>8} {'of ideal':>8}")
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            n = args.requests_at_1 if concurrency == 1 else args.requests
            row = measure(base_url, concurrency, n, args.latency)
            print(f"{concurrency:>11} {n:>8} {row['seconds']:>8.2f} {row['rps']:>8.1f} {row['ideal_rps']:>8.1f} "
                  f"{row['fraction']:>8.2f}" + (f"  ({row['failed']:.0f} failed)" if row["failed"] else ""))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
