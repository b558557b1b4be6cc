"""Isolated execution of untrusted, model-written programs.

>>> from mabench.sandbox import run_program
>>> run_program("def add(a, b): return a + b", "assert add(2, 3) == 5").status
<Status.PASSED: 'passed'>

The default isolation is bubblewrap; see ``describe_isolation()`` for what is active here.
"""

from .config import BACKENDS, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S, EXECUTORS, Program, SandboxConfig
from .describe import describe_isolation
from .isolation import Isolation, SandboxUnavailable
from .pool import Sandbox, open_sandbox, run_many, run_program
from .result import ExecutionResult, Status

__all__ = [
    "BACKENDS",
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT_S",
    "EXECUTORS",
    "ExecutionResult",
    "Isolation",
    "Program",
    "Sandbox",
    "SandboxConfig",
    "SandboxUnavailable",
    "Status",
    "describe_isolation",
    "open_sandbox",
    "run_many",
    "run_program",
]
