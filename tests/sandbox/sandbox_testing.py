"""Shared helpers for the sandbox tests: tagging hostile processes and checking containment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mabench.sandbox import Sandbox, SandboxConfig, Status

PROGRAM_UID = 65534

# Prepended to hostile programs. The guard keeps a broken sandbox from turning a hostile
# test into an attack on the host; tag() names each process the program starts (visible
# in the host's /proc/*/comm), so a survivor anywhere on the machine is found.
HOSTILE_PRELUDE = """
import ctypes, os
assert os.getuid() != 0 and os.geteuid() != 0, "refusing to run a hostile test program as root"
def tag():
    ctypes.CDLL(None).prctl(15, {token!r}.encode(), 0, 0, 0)  # PR_SET_NAME
tag()
"""


def hostile(token: str, body: str) -> str:
    return HOSTILE_PRELUDE.format(token=token) + body


def tagged_processes(token: str) -> list[int]:
    """Host pids of live (non-zombie) processes named ``token``, anywhere on the machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == token and " Z " not in (entry / "stat").read_text():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def descendants(roots: list[int]) -> dict[int, int]:
    """pid -> real uid of every process below ``roots`` (host view)."""
    parent, uid = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = dict(line.split(":\t", 1) for line in (entry / "status").read_text().splitlines()
                              if ":\t" in line)
                parent[int(entry.name)] = int(status["PPid"])
                uid[int(entry.name)] = int(status["Uid"].split()[0])
            except (OSError, KeyError, ValueError):
                pass
    found: dict[int, int] = {}
    frontier = set(roots)
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier and pid not in found}
        found.update({pid: uid[pid] for pid in frontier})
    return found


def assert_contained(sandbox: Sandbox, token: str) -> None:
    """After a call: nothing the program started is alive, in the sandbox or anywhere else."""
    assert tagged_processes(token) == [], "a process the program started outlived the call"
    leftovers = [pid for pid, uid in descendants(sandbox.host_pids()).items() if uid == PROGRAM_UID]
    assert leftovers == [], f"program-user processes left inside the sandbox: {leftovers}"


def assert_healthy(sandbox: Sandbox) -> None:
    """The harness keeps going: the same sandbox still runs an ordinary program."""
    result = sandbox.run("print(6 * 7)", "assert True", timeout_s=10)
    assert result.status is Status.PASSED, result
    assert result.stdout == "42\n"


def plain_python() -> str | None:
    """An interpreter whose standard library the program user can read (the plain backend
    runs programs as that user straight on the host filesystem), or None."""
    for candidate in (os.path.realpath(shutil.which("python3") or ""), "/usr/bin/python3"):
        if candidate and os.path.exists(candidate):
            probe = subprocess.run([candidate, "-c", "import os; print(os.path.dirname(os.__file__))"],
                                   capture_output=True, text=True)
            stdlib = probe.stdout.strip()
            if stdlib and readable_by_program_user(stdlib):
                return candidate
    return None


def readable_by_program_user(path: str) -> bool:
    parts = Path(path).parts
    for depth in range(1, len(parts) + 1):
        mode = os.stat(Path(*parts[:depth])).st_mode
        if not mode & 0o001:  # others may not traverse
            return False
    return True


def config_for(backend: str) -> SandboxConfig:
    if backend == "subprocess":
        return SandboxConfig(backend="subprocess", python=plain_python())
    return SandboxConfig(backend=backend)  # type: ignore[arg-type]
