"""Code execution on a Ray cluster: the same sandbox, fanned out over the cluster's nodes.

Each Ray actor holds a warm local `Sandbox` (one worker, one CPU) on its node, so a program there gets exactly the
isolation, limits, result schema and verdict rules of the local pool: Ray only carries programs and results. Ray
is the transport, never the judge: when a Ray worker dies (a lost node, an out-of-memory kill, an attack that
escaped), its programs are retried one by one on a fresh actor, and a program whose own run loses its actor again
gets ``sandbox_error``, never a verdict.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .config import Program, SandboxConfig
from .isolation import Isolation, SandboxUnavailable
from .pool import Sandbox
from .result import ExecutionResult, sandbox_error

# Batching: one Ray call costs about 4 ms of CPU (round trip, serialisation, Ray's bookkeeping) against about 9 ms
# for a HumanEval program (benchmarks/sandbox_ray.py, benchmarks/RESULTS.md). 16 programs per call bring that to
# 0.25 ms per program or less (measured: +0.2 / -0.1 ms, against +4 ms unbatched); aiming at BATCHES_PER_ACTOR calls
# per actor keeps the actors evenly loaded when programs differ in length, and the cap bounds what one lost worker
# costs (its calls' programs are rerun).
MAX_BATCH = 16
BATCHES_PER_ACTOR = 4
IN_FLIGHT_PER_ACTOR = 2  # one batch running, one queued behind it: no round trip sits between two batches
RAY_GRACE_S = 60.0  # beyond the programs' own timeouts plus grace before a silent actor is given up on
SILENT = "it did not answer within its programs' timeouts plus grace, and was killed"
START_TIMEOUT_S = 300.0  # for the actors to start (a busy cluster queues them until CPUs are free)


class _NodeSandbox:
    """Runs inside a Ray actor: a warm single-worker sandbox on that actor's node."""

    def __init__(self, config: SandboxConfig) -> None:
        self._sandbox = Sandbox(1, config)

    def describe(self) -> tuple[str, Isolation]:
        return socket.gethostname(), self._sandbox.isolation

    def run(self, programs: list[Program]) -> list[ExecutionResult]:
        return self._sandbox.run_many(programs, progress=False)

    def pid(self) -> int:
        return os.getpid()


@dataclass(eq=False)
class _Call:
    actor: Any
    slot: int
    indices: list[int]
    alone: bool  # a retry of one program whose batch lost its actor: a second loss is its result
    deadline: float
    batch: list[Program]


def batch_size(programs: int, actors: int) -> int:
    """Programs per Ray call: about BATCHES_PER_ACTOR calls per actor, at most MAX_BATCH programs each."""
    return max(1, min(MAX_BATCH, math.ceil(programs / (actors * BATCHES_PER_ACTOR))))


class RaySandbox:
    """``actors`` sandboxed actors on the Ray cluster (default: one per CPU the cluster has free).

    Same interface as `Sandbox` (``run_many``, ``run``, ``isolation``, ``close``, a context manager), so a code
    task or a reward takes either. ``address``: a cluster to join, else ``$RAY_ADDRESS``, else a local Ray.
    Raises RayUnavailable (no Ray, unreachable address) or SandboxUnavailable (a node cannot isolate programs).
    """

    def __init__(self, config: SandboxConfig | None = None, *, address: str | None = None,
                 actors: int | None = None, batch: int | None = None) -> None:
        from mabench.ray_cluster import connect, require_ray

        self.config = replace(config or SandboxConfig(), executor="local")  # what each node runs
        self._ray = require_ray()
        connect(address)
        if actors is None:
            actors = max(1, int(self._ray.available_resources().get("CPU", 1)))
        if isinstance(actors, bool) or not isinstance(actors, int) or actors < 1:
            raise ValueError(f"actors: expected a positive integer, got {actors!r}")
        self.batch = batch  # programs per Ray call; None: batch_size() for each call
        self._state = threading.Lock()  # guards the actors and what is in flight on each, shared by every caller
        self._silent: dict[int, Any] = {}  # actors killed for not answering in time (kept so ids stay unique)
        self._remote = self._ray.remote(num_cpus=1, max_restarts=0)(_NodeSandbox)
        self._actors: list[Any] = [self._remote.remote(self.config) for _ in range(actors)]
        self._busy: list[list[_Call]] = [[] for _ in range(actors)]  # per actor: the calls in flight on it
        try:
            described = self._ray.get([a.describe.remote() for a in self._actors], timeout=START_TIMEOUT_S)
        except Exception as error:  # an actor's __init__ failed (SandboxUnavailable on its node), or none started
            self.close()
            raise SandboxUnavailable(f"the sandbox could not start on the Ray cluster: {_last_line(error)}") from None
        self.nodes = sorted({host for host, _ in described})
        self.isolation: Isolation = described[0][1]
        backends = {iso.backend for _, iso in described}
        if len(backends) > 1:  # one isolation per run, so the manifest says what every program ran under
            self.close()
            raise SandboxUnavailable(f"the Ray nodes isolate programs differently ({', '.join(sorted(backends))}); "
                                     "install the same sandbox (bubblewrap) on every node or name one with --sandbox")

    def __enter__(self) -> RaySandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        actors, self._actors = self._actors, []
        for actor in actors:
            self._ray.kill(actor)

    def actor_pids(self) -> list[int]:
        """Host pids of the actors' Ray worker processes (for tests and diagnostics)."""
        return self._ray.get([a.pid.remote() for a in self._actors])

    def run(self, code: str, tests: str = "", timeout_s: float = 3.0, memory_mb: int = 1024) -> ExecutionResult:
        return self.run_many([Program(code, tests, timeout_s, memory_mb)], progress=False)[0]

    def run_many(self, items: Iterable[Program | Mapping[str, Any]], *, progress: bool = True) -> list[ExecutionResult]:
        """Run every item; results in input order. Program failures and lost Ray workers never raise. Calls from
        several threads run at the same time and share the actors (a runner judging records in parallel)."""
        programs = [Program.coerce(item, f"items[{i}]") for i, item in enumerate(items)]
        if not self._actors:
            raise RuntimeError("this RaySandbox is closed")
        if not progress:
            return self._dispatch(programs, lambda n: None)
        columns = (TextColumn("sandbox (ray)"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("sandbox", total=len(programs))
            return self._dispatch(programs, lambda n: bar.advance(task, n))

    # ------------------------------------------------------------------ scheduling
    def _budget(self, programs: list[Program]) -> float:
        return sum(p.timeout_s + self.config.grace_s for p in programs)

    def _free(self, slot: int, alone: bool) -> bool:
        """Room on this actor for one more call. A program retried alone runs alone on its actor, so that losing
        that actor again is its own doing, never that of a call queued behind it. Holds self._state."""
        busy = self._busy[slot]
        return not busy if alone else len(busy) < IN_FLIGHT_PER_ACTOR and not any(c.alone for c in busy)

    def _replace(self, call: _Call) -> None:
        """Kill the call's actor and start a fresh one in its slot (once, whichever caller sees the loss first)."""
        with self._state:
            if self._actors and self._actors[call.slot] is call.actor:
                self._ray.kill(call.actor)
                self._actors[call.slot] = self._remote.remote(self.config)
                self._busy[call.slot] = []  # the old actor's calls all fail; each owner reruns its own

    def _dispatch(self, programs: list[Program], advance: Callable[[int], None]) -> list[ExecutionResult]:
        ray = self._ray
        results: list[ExecutionResult | None] = [None] * len(programs)
        size = self.batch or batch_size(len(programs), len(self._actors))
        queue: deque[tuple[list[int], bool]] = deque(
            (list(range(start, min(start + size, len(programs)))), False) for start in range(0, len(programs), size))
        calls: dict[Any, _Call] = {}  # this caller's calls in flight

        def submit() -> None:
            """Send queued batches to actors with room (this caller's and other callers' calls count)."""
            with self._state:
                for slot in range(len(self._actors)):
                    while queue and self._free(slot, queue[0][1]):
                        indices, alone = queue.popleft()
                        batch = [programs[i] for i in indices]
                        ahead = sum(self._budget(c.batch) for c in self._busy[slot])
                        call = _Call(self._actors[slot], slot, indices, alone,
                                     time.monotonic() + ahead + self._budget(batch) + RAY_GRACE_S, batch)
                        calls[call.actor.run.remote(batch)] = call
                        self._busy[slot].append(call)

        def done(call: _Call) -> None:
            with self._state:
                if call in self._busy[call.slot]:
                    self._busy[call.slot].remove(call)

        def lost(call: _Call, why: str) -> None:
            """The actor failed: replace it; rerun each program of the call alone, or blame-free error if alone."""
            self._replace(call)
            if call.alone:
                results[call.indices[0]] = sandbox_error(f"the Ray worker running this program was lost: {why}")
                advance(1)
            else:
                queue.extendleft(([i], True) for i in reversed(call.indices))

        try:
            while queue or calls:
                submit()
                if not calls:  # every actor is busy with other callers' work
                    time.sleep(0.01)
                    continue
                timeout = max(0.05, min(c.deadline for c in calls.values()) - time.monotonic())
                ready, _ = ray.wait(list(calls), num_returns=1, timeout=timeout)
                for ref in ready:
                    call = calls.pop(ref)
                    done(call)
                    try:
                        batch_results = ray.get(ref)
                    except Exception as error:  # RayActorError, WorkerCrashedError, an error raised on the node
                        lost(call, SILENT if id(call.actor) in self._silent else _last_line(error))
                        continue
                    for index, result in zip(call.indices, batch_results, strict=True):
                        results[index] = result
                    advance(len(call.indices))
                now = time.monotonic()
                for call in list(calls.values()):
                    if call.deadline < now:  # silent past every program's timeout: kill it, its calls fail
                        with self._state:
                            self._silent[id(call.actor)] = call.actor
                        ray.kill(call.actor)
        except BaseException:
            for call in calls.values():  # interrupted: no late result may answer a later call
                done(call)
                self._replace(call)
            raise
        return [r for r in results if r is not None]


def _last_line(error: BaseException) -> str:
    """The informative end of a Ray error (its message carries the remote traceback)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]
