"""The outcome of one program, and how the raw facts from the sandbox map onto it."""

from __future__ import annotations

import math
import signal
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Status(str, Enum):
    PASSED = "passed"  # the tests ran to their end in the program process, which then exited cleanly
    FAILED = "failed"  # an exception: a failed assert, a syntax error, a missing name...
    EXITED_EARLY = "exited_early"  # the process ended before the tests did: exit(), os._exit, a signal...
    TIMEOUT = "timeout"  # wall-clock or CPU-time limit
    MEMORY = "memory"  # MemoryError at the address-space limit, or an out-of-memory kill
    CRASHED = "crashed"  # a fault: segfault, abort, bus error... (or a SIGKILL that no limit explains)
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


# Signals a fault raises; any other signal that ends the program was sent by the program (or a
# process it started): an early exit, like os._exit.
FAULT_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT,
                           signal.SIGSYS, signal.SIGTRAP})


def classify(raw: dict[str, Any], timeout_s: float, *, oom_killed: bool = False) -> ExecutionResult:
    """Turn a worker's report into a result. Order matters: limits first, then signals, then the
    harness's report. ``completed`` (the worker checked the token) is the only way to PASSED."""
    sig, exit_code, outcome = raw["signal"], raw["exit_code"], raw.get("outcome")
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
    elif sig in FAULT_SIGNALS or sig == signal.SIGKILL:
        status, detail = Status.CRASHED, f"killed by {_signal_name(sig)}"
    elif sig is not None:
        status, detail = Status.EXITED_EARLY, f"killed by {_signal_name(sig)}, which the program sent"
    elif raw["completed"] and exit_code == 0:
        status, detail = Status.PASSED, ""
    elif raw["completed"]:
        status, detail = Status.EXITED_EARLY, f"the tests finished, then something else exited with {exit_code}"
    elif outcome == "failed":
        status, detail = Status.FAILED, f"exit code {exit_code}"
    elif outcome is not None and outcome != "passed":
        status, detail = Status.EXITED_EARLY, f"{outcome} (exit code {exit_code})"
    elif outcome == "passed":
        status, detail = Status.EXITED_EARLY, f"claimed a pass without the harness's token (exit code {exit_code})"
    else:
        status, detail = Status.EXITED_EARLY, (f"the process exited with code {exit_code} before its tests "
                                               "finished (os._exit, exec, or a thread)")
    return ExecutionResult(
        status=status, stdout=raw["stdout"], stderr=raw["stderr"], duration_s=raw["duration_s"],
        exit_code=exit_code, signal=sig, stdout_truncated=raw["stdout_truncated"],
        stderr_truncated=raw["stderr_truncated"], detail=detail,
    )
