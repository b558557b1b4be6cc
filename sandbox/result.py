"""The outcome of one program, and how the raw facts from the sandbox map onto it."""

from __future__ import annotations

import math
import signal
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASSED = "passed"  # the program and its tests ran to the end
    FAILED = "failed"  # an exception (a failed assert, a syntax error...) or an early exit
    TIMEOUT = "timeout"  # wall-clock or CPU-time limit
    MEMORY = "memory"  # MemoryError at the address-space limit, or an out-of-memory kill
    CRASHED = "crashed"  # killed by a signal (a segfault, an abort...)
    SANDBOX_ERROR = "sandbox_error"  # the sandbox failed; says nothing about the program


@dataclass(frozen=True)
class ExecutionResult:
    status: Status
    stdout: str = ""  # tail, at most SandboxConfig.output_limit_bytes
    stderr: str = ""
    duration_s: float = 0.0
    exit_code: int | None = None
    signal: int | None = None
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    detail: str = ""  # why, in words, for anything but a pass
    passed: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", self.status is Status.PASSED)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def sandbox_error(detail: str, duration_s: float = 0.0) -> ExecutionResult:
    return ExecutionResult(Status.SANDBOX_ERROR, duration_s=duration_s, detail=detail)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def classify(raw: dict[str, Any], timeout_s: float, *, oom_killed: bool = False) -> ExecutionResult:
    """Turn a worker's report into a result. Order matters: limits first, then signals."""
    sig, exit_code = raw["signal"], raw["exit_code"]
    if raw["setup_failed"] and not raw["timed_out"]:
        why = (raw.get("stderr") or "").strip().splitlines()[-1:] or [f"exit code {exit_code}, signal {sig}"]
        return sandbox_error(f"the program process failed before running the program: {why[0]}",
                             raw["duration_s"])
    cpu_limit = math.ceil(timeout_s) + 1
    if raw["timed_out"]:
        status, detail = Status.TIMEOUT, f"wall-clock limit of {timeout_s:g}s"
    elif sig == signal.SIGXCPU or (sig == signal.SIGKILL and raw["cpu_s"] >= cpu_limit):
        status, detail = Status.TIMEOUT, f"CPU-time limit of {cpu_limit}s"
    elif raw["memory_error"] or oom_killed:
        status, detail = Status.MEMORY, "out of memory" + (" (killed by the cgroup)" if oom_killed else "")
    elif sig is not None:
        status, detail = Status.CRASHED, f"killed by {_signal_name(sig)}"
    elif exit_code == 0 and raw["completed"]:
        status, detail = Status.PASSED, ""
    elif exit_code == 0:
        status, detail = Status.FAILED, "exited before its tests finished"
    else:
        status, detail = Status.FAILED, f"exit code {exit_code}"
    return ExecutionResult(
        status=status, stdout=raw["stdout"], stderr=raw["stderr"], duration_s=raw["duration_s"],
        exit_code=exit_code, signal=sig, stdout_truncated=raw["stdout_truncated"],
        stderr_truncated=raw["stderr_truncated"], detail=detail,
    )
