"""Running programs: a pool of long-lived sandboxed workers, and the public entry points."""

from __future__ import annotations

import logging
import math
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .config import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, Program, SandboxConfig
from .isolation import Isolation, ProcessBackend, select_backend
from .result import ExecutionResult, classify, sandbox_error
from .worker import WorkerProcess

if TYPE_CHECKING:
    from .ray_executor import RaySandbox

log = logging.getLogger("mabench.sandbox")
MAX_RESTARTS_IN_A_ROW = 3  # a slot whose fresh workers keep dying is retired


@dataclass
class _Job:
    index: int
    program: Program
    slot: int  # which of the worker's two output pipe pairs it writes to
    deadline: float = math.inf  # host-side backstop, set once the job is at the head of its queue


class Sandbox:
    """``workers`` long-lived sandboxed workers; each runs one program at a time.

    Use as a context manager, or call ``close()``. Calls from several threads are served
    one after the other. Create it in a thread that outlives it: bwrap's --die-with-parent
    follows the creating thread (a worker lost that way is reported and replaced).
    """

    def __init__(self, workers: int = 1, config: SandboxConfig | None = None) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers: expected a positive integer, got {workers!r}")
        self.config = config or SandboxConfig()
        if self.config.executor != "local":
            raise ValueError(f"Sandbox is this machine's pool; executor {self.config.executor!r} is served by "
                             "open_sandbox(), which returns a RaySandbox for 'ray'")
        self._lock = threading.Lock()
        self._size = workers
        self._failures = [0] * workers
        self.isolation: Isolation
        self.isolation, self._backend, first = select_backend(self.config)
        self._workers: list[WorkerProcess | None] = [first] if first is not None else []
        try:
            while isinstance(self._backend, ProcessBackend) and len(self._workers) < workers:
                self._workers.append(self._backend.spawn())
        except BaseException:
            self._close()
            raise

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def host_pids(self) -> list[int]:
        """Host pids of the live workers' outermost processes (bwrap, unshare or python)."""
        return [w.pid for w in self._workers if w is not None]

    def run(self, code: str, tests: str | Sequence[str] = "", timeout_s: float = DEFAULT_TIMEOUT_S,
            memory_mb: int = DEFAULT_MEMORY_MB) -> ExecutionResult:
        return self.run_many([Program(code, tests, timeout_s, memory_mb)], progress=False)[0]

    def run_many(self, items: Iterable[Program | Mapping[str, Any]], *, progress: bool = True) -> list[ExecutionResult]:
        """Run every item; results in input order. Program failures never raise."""
        programs = [Program.coerce(item, f"items[{i}]") for i, item in enumerate(items)]
        if not progress:
            return self._dispatch(programs, lambda: None)
        columns = (TextColumn("sandbox"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("sandbox", total=len(programs))
            return self._dispatch(programs, lambda: bar.advance(task))

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        for worker in self._workers:
            if worker is not None:
                worker.close()
        self._workers = []
        if self._backend is not None:
            self._backend.close()
            self._backend = None

    # ------------------------------------------------------------------ scheduling
    def _dispatch(self, programs: list[Program], advance: Callable[[], None]) -> list[ExecutionResult]:
        with self._lock:
            if self._backend is None:
                raise RuntimeError("this Sandbox is closed")
            if not isinstance(self._backend, ProcessBackend):  # docker: blocking calls, a thread per worker
                return self._run_blocking(programs, advance)
            return self._run_workers(programs, advance)

    def _run_blocking(self, programs: list[Program], advance: Callable[[], None]) -> list[ExecutionResult]:
        results: list[ExecutionResult | None] = [None] * len(programs)
        with ThreadPoolExecutor(self._size) as pool:
            futures = {pool.submit(self._backend.run, p): i for i, p in enumerate(programs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                advance()
        return [r for r in results if r is not None]

    def _run_workers(self, programs: list[Program], advance: Callable[[], None]) -> list[ExecutionResult]:
        """Feed every worker up to ``WorkerProcess.DEPTH`` jobs (one running, one queued behind
        it, so that no host round trip sits between two programs); collect results as they come."""
        results: list[ExecutionResult | None] = [None] * len(programs)
        queue = deque(range(len(programs)))
        jobs: list[deque[_Job]] = [deque() for _ in self._workers]  # per worker, oldest (running) first
        selector = selectors.DefaultSelector()

        def finish(job: _Job, result: ExecutionResult) -> None:
            results[job.index] = result
            advance()

        def watch(slot: int, worker: WorkerProcess) -> None:
            for fd in (worker.fileno(), *worker.output_fds):
                selector.register(fd, selectors.EVENT_READ, slot)

        def fail(slot: int, detail: str) -> None:
            """The worker failed: its running job gets the blame-free error, queued ones go back."""
            if jobs[slot]:
                finish(jobs[slot].popleft(), sandbox_error(detail))
            queue.extendleft(job.index for job in reversed(jobs[slot]))
            jobs[slot].clear()
            worker = self._workers[slot]
            if worker is not None:
                for fd in (worker.fileno(), *worker.output_fds):
                    if fd in selector.get_map():
                        selector.unregister(fd)
                worker.kill()
            self._failures[slot] += 1
            self._workers[slot] = None
            if self._failures[slot] <= MAX_RESTARTS_IN_A_ROW:
                try:
                    self._workers[slot] = self._backend.spawn()
                except (OSError, subprocess.SubprocessError) as error:
                    log.error("mabench sandbox: could not restart worker %d: %s", slot, error)
                    return
                watch(slot, self._workers[slot])

        def submit(slot: int, worker: WorkerProcess) -> None:
            program = programs[queue[0]]
            pipes = worker.send(program.request(self.config, pids_cgroup=worker.cgroup is not None))
            if pipes is None:
                fail(slot, f"sandbox worker is gone: {worker.diagnostics(500)}")
                return
            jobs[slot].append(_Job(queue.popleft(), program, pipes))
            if len(jobs[slot]) == 1:
                jobs[slot][0].deadline = time.monotonic() + program.timeout_s + self.config.grace_s

        def collect(slot: int, worker: WorkerProcess) -> None:
            frames = worker.receive()
            for frame in frames or []:
                if frame.get("kind") != "result" or not jobs[slot]:
                    fail(slot, f"sandbox worker failed: {frame.get('message', frame)}")
                    return
                job = jobs[slot].popleft()
                oom = frame["signal"] == signal.SIGKILL and not frame["timed_out"] and worker.oom_killed()
                finish(job, classify(worker.finish_output(frame, job.slot), job.program.timeout_s, oom_killed=oom))
                self._failures[slot] = 0
                if jobs[slot]:  # the queued job has started
                    head = jobs[slot][0]
                    head.deadline = time.monotonic() + head.program.timeout_s + self.config.grace_s
            if frames is None:
                fail(slot, f"sandbox worker exited: {worker.diagnostics(500)}")

        for slot, worker in enumerate(self._workers):
            if worker is None and self._failures[slot] <= MAX_RESTARTS_IN_A_ROW:
                worker = self._workers[slot] = self._backend.spawn()  # one an interrupted call dropped
            if worker is not None:
                watch(slot, worker)
        try:
            while queue or any(jobs):
                for slot, worker in enumerate(self._workers):
                    while worker is not None and queue and len(jobs[slot]) < WorkerProcess.DEPTH:
                        submit(slot, worker)
                        worker = self._workers[slot]
                if not any(jobs):
                    if all(w is None for w in self._workers):  # every slot is retired
                        for index in queue:
                            finish(_Job(index, programs[index], 0), sandbox_error("no working sandbox worker is left"))
                        break
                    continue
                deadline = min(q[0].deadline for q in jobs if q)
                for key, _ in selector.select(max(0.0, deadline - time.monotonic())):
                    worker = self._workers[key.data]
                    if worker is None or key.fd not in selector.get_map():
                        continue  # replaced while handling an earlier event
                    if key.fd == worker.fileno():
                        collect(key.data, worker)
                    elif not worker.drain(key.fd):
                        selector.unregister(key.fd)  # the worker is going away; its stdout will say so
                now = time.monotonic()
                for slot in [s for s, q in enumerate(jobs) if q and q[0].deadline < now]:
                    fail(slot, "the sandbox did not answer within the program's timeout plus grace; "
                               "its worker was killed")
        finally:
            selector.close()
            for slot, pending in enumerate(jobs):
                if pending and self._workers[slot] is not None:  # interrupted: a late result must not
                    self._workers[slot].kill()  # be taken for the next call's
                    self._workers[slot] = None
        return [r for r in results if r is not None]


def open_sandbox(workers: int = 2, config: SandboxConfig | None = None, *,
                 ray_address: str | None = None) -> Sandbox | RaySandbox:
    """The executor ``config`` names: this machine's pool of ``workers``, or for ``executor="ray"`` one sandboxed
    Ray actor per free CPU of the cluster at ``ray_address`` (else $RAY_ADDRESS, else a local Ray instance)."""
    if config is not None and config.executor == "ray":
        from .ray_executor import RaySandbox

        return RaySandbox(config, address=ray_address)
    return Sandbox(workers, config)


def run_program(code: str, tests: str | Sequence[str] = "", timeout_s: float = DEFAULT_TIMEOUT_S,
                memory_mb: int = DEFAULT_MEMORY_MB, *, sandbox: Sandbox | RaySandbox | None = None,
                config: SandboxConfig | None = None) -> ExecutionResult:
    """Run ``code`` then ``tests`` in isolation. Pass ``sandbox`` to reuse warm workers."""
    program = Program(code, tests, timeout_s, memory_mb)  # validate before starting anything
    if sandbox is not None:
        return sandbox.run_many([program], progress=False)[0]
    with open_sandbox(1, config) as fresh:
        return fresh.run_many([program], progress=False)[0]


def run_many(items: Iterable[Program | Mapping[str, Any]], workers: int = 2, *, progress: bool = True,
             config: SandboxConfig | None = None, sandbox: Sandbox | RaySandbox | None = None) -> list[ExecutionResult]:
    """Run programs in parallel on ``workers`` workers (``config.executor="ray"``: on a Ray cluster, see
    `open_sandbox`); results in input order. Pass ``sandbox`` (either kind) to reuse warm workers."""
    programs = [Program.coerce(item, f"items[{i}]") for i, item in enumerate(items)]
    if sandbox is not None:
        return sandbox.run_many(programs, progress=progress)
    with open_sandbox(workers, config) as fresh:
        return fresh.run_many(programs, progress=progress)
