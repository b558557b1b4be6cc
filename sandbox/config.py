"""Validated inputs: the sandbox configuration and one program to run."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

BackendName = Literal["auto", "bwrap", "docker", "unshare", "subprocess"]
BACKENDS: tuple[str, ...] = ("auto", "bwrap", "docker", "unshare", "subprocess")
ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[str, ...] = ("local", "ray")
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_MEMORY_MB = 1024
MIN_MEMORY_MB = 64  # a forked interpreter already maps ~20 MiB
NPROC_BACKSTOP = 8
PIDS_OVERHEAD = 8  # worker processes counted in a worker's pids cgroup besides the program's
# Standard-library modules benchmark programs commonly import: each program then finds
# them already loaded (copy-on-write) instead of importing them afresh.
PRELOAD = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
           "copy", "random", "hashlib", "datetime", "fractions", "decimal", "statistics", "operator")


def _require_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")


def _require_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value <= 3600) \
            or not math.isfinite(value):
        raise ValueError(f"{name}: expected a number of seconds in (0, 3600], got {value!r}")


@dataclass(frozen=True)
class SandboxConfig:
    """How programs are isolated. The defaults suit HumanEval/MBPP-style tasks."""

    backend: BackendName = "auto"  # bwrap, else unshare (as root); docker and subprocess only when named
    python: str | None = None  # interpreter inside the sandbox; default: the running one
    bwrap_path: str = "bwrap"
    unshare_path: str = "unshare"
    docker_image: str = "python:3.11-slim"
    uid: int = 65534  # programs run as this uid:gid (nobody), never as root
    gid: int = 65534
    max_processes: int = 64  # processes and threads per program (pids cgroup, else RLIMIT_NPROC)
    max_file_mb: int = 64  # RLIMIT_FSIZE
    max_open_files: int = 256  # RLIMIT_NOFILE
    tmp_mb: int = 64  # size of the private /tmp (and /dev/shm)
    output_limit_bytes: int = 64 * 1024  # tail kept of stdout and of stderr
    cgroups: bool = True  # add a pids+memory cgroup per worker where writable
    worker_memory_mb: int = 4096  # that cgroup's memory limit
    grace_s: float = 5.0  # host-side backstop beyond a program's own timeout
    preload: tuple[str, ...] = PRELOAD  # imported once by each worker, shared by every program
    # where programs run: this machine's worker pool, or Ray actors across a cluster, each running this same
    # sandbox on its node (sandbox/ray_executor.py). Never changes a verdict.
    executor: ExecutorName = "local"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend: expected one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor: expected one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        for name in ("uid", "gid"):
            _require_int(name, getattr(self, name), 1)
        for name, minimum in (("max_processes", 1), ("max_file_mb", 1), ("max_open_files", 16),
                              ("tmp_mb", 1), ("output_limit_bytes", 0), ("worker_memory_mb", MIN_MEMORY_MB)):
            _require_int(name, getattr(self, name), minimum)
        _require_seconds("grace_s", self.grace_s)
        if not isinstance(self.preload, tuple) or not all(isinstance(m, str) for m in self.preload):
            raise ValueError(f"preload: expected a tuple of module names, got {self.preload!r}")
        if self.python is not None and not (isinstance(self.python, str) and os.access(self.python, os.X_OK)):
            raise ValueError(f"python: expected the path of an executable interpreter, got {self.python!r}")
        for name in ("bwrap_path", "unshare_path", "docker_image"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}: expected a non-empty string, got {getattr(self, name)!r}")


def _join_tests(tests: object) -> str:
    if isinstance(tests, str):
        return tests
    if isinstance(tests, Sequence) and all(isinstance(t, str) for t in tests):
        return "\n".join(tests)
    raise TypeError(f"tests: expected a str or a sequence of str (e.g. assert statements), got {tests!r:.80}")


@dataclass(frozen=True)
class Program:
    """Code to run, then test code run after it in the same namespace."""

    code: str
    tests: str = ""
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory_mb: int = DEFAULT_MEMORY_MB

    def __post_init__(self) -> None:
        if not isinstance(self.code, str):
            raise TypeError(f"code: expected a str of Python source, got {type(self.code).__name__}")
        object.__setattr__(self, "tests", _join_tests(self.tests))
        _require_seconds("timeout_s", self.timeout_s)
        _require_int("memory_mb", self.memory_mb, MIN_MEMORY_MB)

    @classmethod
    def coerce(cls, item: Program | Mapping[str, Any], where: str) -> Program:
        if isinstance(item, Program):
            return item
        if isinstance(item, Mapping) and "code" in item:
            unknown = set(item) - {"code", "tests", "timeout_s", "memory_mb"}
            if unknown:
                raise TypeError(f"{where}: unexpected keys {sorted(unknown)}")
            try:
                return cls(**item)
            except (TypeError, ValueError) as error:
                raise type(error)(f"{where}.{error}") from None
        raise TypeError(f"{where}: expected a Program or a mapping with 'code' (and optionally 'tests', "
                        f"'timeout_s', 'memory_mb'), got {type(item).__name__}")

    def request(self, config: SandboxConfig, *, pids_cgroup: bool = False) -> dict[str, Any]:
        """The message a worker receives. RLIMIT_NPROC counts every process of the program
        user on the machine, other sandboxes' included; where the worker's pids cgroup bounds
        the program exactly, the rlimit is only a generous backstop."""
        nproc = config.max_processes * NPROC_BACKSTOP if pids_cgroup else config.max_processes
        return {
            "code": self.code,
            "tests": self.tests,
            "timeout_s": float(self.timeout_s),
            "limits": {
                "memory_mb": self.memory_mb,
                "nproc": nproc,
                "fsize_mb": config.max_file_mb,
                "nofile": config.max_open_files,
                "tmp_mb": config.tmp_mb,
                "output_bytes": config.output_limit_bytes,
            },
        }
