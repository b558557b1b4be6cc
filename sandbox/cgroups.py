"""An optional pids+memory cgroup per worker: a second, kernel-side bound on fork bombs and RAM.

Used only where this process may create cgroups (root, typically). cgroup v1 (separate
``pids`` and ``memory`` hierarchies) and v2 (one unified hierarchy) are both handled.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

_ROOT = Path("/sys/fs/cgroup")


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's cgroup path within it."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller] = path
    return found


def _parents() -> tuple[str, dict[str, Path]]:
    """Where to create worker cgroups: ("v1", {controller: dir}) or ("v2", {"": dir})."""
    own = _own_cgroups()
    if (_ROOT / "pids").is_dir() and "pids" in own:
        parents = {c: _ROOT / c / own[c].lstrip("/") for c in ("pids", "memory") if c in own and (_ROOT / c).is_dir()}
        return "v1", parents
    if (_ROOT / "cgroup.controllers").is_file() and "" in own:
        return "v2", {"": _ROOT / own[""].lstrip("/")}
    raise OSError("no pids cgroup hierarchy is mounted at /sys/fs/cgroup")


def _remove_stale(parent: Path) -> None:
    """Remove empty worker cgroups whose creating process is gone (killed before cleanup)."""
    for path in parent.glob("mabench-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):  # not empty, or raced: leave it
                path.rmdir()


@dataclass(frozen=True)
class WorkerCgroup:
    version: str
    dirs: tuple[Path, ...]

    @classmethod
    def create(cls, pids_max: int, memory_bytes: int) -> WorkerCgroup:
        """Create a cgroup for one worker; raise OSError (with the reason) where not possible."""
        version, parents = _parents()
        for parent in parents.values():
            _remove_stale(parent)
        name = f"mabench-{os.getpid()}-{secrets.token_hex(4)}"
        made: list[Path] = []
        try:
            for parent in parents.values():
                path = parent / name
                path.mkdir()
                made.append(path)
            group = cls(version, tuple(made))
            group._write("pids.max", str(pids_max))
            group._write("memory.max" if version == "v2" else "memory.limit_in_bytes", str(memory_bytes))
            return group
        except OSError:
            for path in made:
                path.rmdir()
            raise

    def _find(self, filename: str) -> Path | None:
        return next((d / filename for d in self.dirs if (d / filename).exists()), None)

    def _write(self, filename: str, value: str) -> None:
        path = self._find(filename)
        if path is None:
            raise OSError(f"cgroup file {filename} is missing (controller not enabled)")
        path.write_text(value)

    def describe(self) -> str:
        limits = [f"{f}={p.read_text().strip()}" for f in ("pids.max", "memory.max", "memory.limit_in_bytes")
                  if (p := self._find(f))]
        return f"cgroup {self.version}: " + ", ".join(limits)

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.procs_files():
            with contextlib.suppress(OSError):
                found |= {int(p) for p in Path(path).read_text().split()}
        return found

    def oom_kills(self) -> int:
        """How many processes the kernel has killed here for want of memory, so far."""
        for filename in ("memory.events", "memory.oom_control"):
            path = self._find(filename)
            if path is not None:
                for line in path.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def kill_all(self) -> None:
        """SIGKILL everything in the cgroup until it is empty (v1 has no cgroup.kill)."""
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for path in self.dirs:
            for _ in range(50):  # the last exits can lag the kill by a moment
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
