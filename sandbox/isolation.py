"""Choosing the isolation backend: probe each candidate for real, fall back loudly, record why."""

from __future__ import annotations

import functools
import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .cgroups import WorkerCgroup
from .config import DEFAULT_MEMORY_MB, PIDS_OVERHEAD, Program, SandboxConfig
from .inside.linux import SECCOMP_ARCHES
from .layout import (
    RootfsPlan,
    bwrap_prefix,
    plan_rootfs,
    sandbox_python,
    unshare_prefix,
    unshare_rootfs,
    worker_argv,
    worker_config,
)
from .result import classify
from .worker import WorkerProcess

log = logging.getLogger("mabench.sandbox")
# "auto" tries only isolating backends: docker and the plain subprocess run only when asked for by name.
AUTO_ORDER = ("bwrap", "unshare")
_SECCOMP_NOTE = ("; seccomp refuses new user namespaces and system calls through a foreign ABI (i386, x32)"
                 if os.uname().machine in SECCOMP_ARCHES else "")
NO_ISOLATION_HELP = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), "
    "or ask knowingly for another backend: --sandbox docker (a container per program), or "
    "--sandbox subprocess (NO isolation: programs can read your files and reach the network); "
    "in Python, SandboxConfig(backend=...)"
)
PROBE_TIMEOUT_S = 30.0

# Run inside a fresh worker before trusting it: each claimed layer is checked, not assumed.
_PROBE_STDLIB = """
import os
assert os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK), \
    f"the program user cannot read the standard library at {os.path.dirname(os.__file__)}"
"""
_PROBE_ISOLATED = _PROBE_STDLIB + """
import socket
problems = []
if 0 in os.getresuid() or 0 in os.getresgid():
    problems.append("the program runs as root")
if sum(p.isdigit() for p in os.listdir("/proc")) > 2:
    problems.append("the program sees processes beyond its own")
try:
    open("/.mabench-probe", "w")
    problems.append("the root filesystem is writable")
except OSError:
    pass
if [name for _, name in socket.if_nameindex()] != ["lo"]:
    problems.append("network interfaces besides loopback are visible")
problems += [f"host path {p} is visible" for p in HIDDEN if os.path.exists(p)]
assert not problems, "; ".join(problems)
print("isolated")
"""
_PROBE_PLAIN = _PROBE_STDLIB + """
assert not (ROOT_HOST and 0 in os.getresuid()), "the program runs as root"
print("isolated")
"""


class Unavailable(Exception):
    """A backend cannot be used here; the message says why."""


class SandboxUnavailable(RuntimeError):
    """No backend that the configuration allows works on this machine."""


@dataclass(frozen=True)
class Isolation:
    """Which isolation is active and why: printed by `mabench sandbox check`, kept in manifests."""

    backend: str
    reason: str
    fallback: bool
    rejected: tuple[tuple[str, str], ...] = ()  # (backend, why not), in the order tried
    layers: tuple[str, ...] = ()
    program_user: str = ""
    python: str = ""
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = [{"backend": b, "reason": r} for b, r in self.rejected]
        return data


def _user(uid: int, gid: int) -> str:
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        name = "no passwd entry"
    return f"uid {uid} ({name}), gid {gid}"


def _hidden_paths(plan: RootfsPlan) -> list[str]:
    """Host cwd and home, where no bind needs them: the probe asserts they are absent."""
    dests = [dest for _, dest in plan.binds]
    candidates = {os.getcwd(), str(Path.home())}
    provided = ("/tmp", "/dev", "/proc")  # exist in every sandbox, privately
    return sorted(p for p in candidates if p != "/" and not any(
        d == p or d.startswith(p + "/") or p.startswith(d + "/") for d in [*dests, *provided]))


class ProcessBackend:
    """Starts long-lived workers for bwrap, unshare or plain subprocess isolation."""

    def __init__(self, name: str, config: SandboxConfig, python: str, prefix: list[str], *,
                 rootfs: dict | None = None, staging: str | None = None) -> None:
        self.name, self.config, self._staging = name, config, staging
        self._python, self._prefix, self._rootfs = python, prefix, rootfs
        self._mode = "plain" if name == "subprocess" else "namespaces"
        self.cgroup_note = "cgroups: disabled by configuration"
        self._cgroups = config.cgroups
        if self._cgroups:
            try:
                WorkerCgroup.create(config.max_processes + PIDS_OVERHEAD, config.worker_memory_mb << 20).remove()
                self.cgroup_note = ""
            except OSError as error:
                self._cgroups = False
                self.cgroup_note = f"cgroups: not used ({error})"

    def spawn(self) -> WorkerProcess:
        cgroup = None
        if self._cgroups:
            cgroup = WorkerCgroup.create(self.config.max_processes + PIDS_OVERHEAD, self.config.worker_memory_mb << 20)
            self.cgroup_note = cgroup.describe() + " per worker"
        scratch = None
        if self._mode == "plain":  # programs work on the host filesystem: give them a removable corner
            scratch = tempfile.mkdtemp(prefix="mabench-scratch-")
            os.chmod(scratch, 0o711)
        command = functools.partial(self._command, scratch=scratch)
        return WorkerProcess(command, cgroup=cgroup, scratch=scratch)

    def _command(self, stdout_fds: tuple[int, ...], stderr_fds: tuple[int, ...], scratch: str | None) -> list[str]:
        config = worker_config(self._mode, uid=self.config.uid, gid=self.config.gid, rootfs=self._rootfs,
                               stdout_fds=stdout_fds, stderr_fds=stderr_fds, preload=self.config.preload,
                               scratch=scratch)
        return [*self._prefix, *worker_argv(self._python, config)]

    def probe(self, probe_code: str) -> WorkerProcess:
        """A fresh worker that has just run the probe program successfully."""
        worker = self.spawn()
        request = Program(probe_code, timeout_s=20, memory_mb=DEFAULT_MEMORY_MB).request(self.config)
        reply = worker.call(request, PROBE_TIMEOUT_S)
        result = classify(reply, 20) if reply and reply.get("kind") == "result" else None
        if result is None or not result.passed or result.stdout.strip() != "isolated":
            detail = (result.stderr.strip().splitlines() or [result.detail])[-1] if result else ""
            detail = detail or worker.diagnostics(400) or "the worker did not answer"
            worker.kill()
            raise Unavailable(f"probe failed: {detail}")
        return worker

    def close(self) -> None:
        if self._staging:
            shutil.rmtree(self._staging, ignore_errors=True)


# The same harness runs under every backend (docs/sandbox.md).
VERDICT_LAYER = ("verdicts: programs hold only stdin/stdout/stderr; a pass is a per-program token the harness "
                 "writes after the tests finish; exit(), os._exit, signals, exec: exited_early, never a pass")


def _namespace_layers(config: SandboxConfig, backend: ProcessBackend) -> tuple[str, ...]:
    return tuple(filter(None, (
        VERDICT_LAYER,
        "program user without capabilities; no_new_privs" + _SECCOMP_NOTE,
        "PID namespace per program, the program its PID 1: when it ends, all it started is killed",
        "mount namespace per program: read-only root, fresh tmpfs /tmp and /dev/shm "
        f"({config.tmp_mb} MiB each)",
        "host home, working directories and environment absent",
        "network namespace without interfaces besides loopback",
        "IPC and UTS namespaces",
        "rlimits: address space, CPU seconds, processes, file size, open files, core",
        "wall-clock deadline: SIGKILL to the program's PID namespace",
        backend.cgroup_note,
    )))


def _open_bwrap(config: SandboxConfig, python: str) -> tuple[ProcessBackend, WorkerProcess, str, tuple[str, ...]]:
    path = shutil.which(config.bwrap_path)
    if path is None:
        raise Unavailable(f"{config.bwrap_path!r} not found (install the Debian/Ubuntu package 'bubblewrap')")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    plan = plan_rootfs(python)
    backend = ProcessBackend("bwrap", config, python, bwrap_prefix(path, plan, uid=config.uid, gid=config.gid))
    worker = backend.probe(_PROBE_ISOLATED.replace("HIDDEN", repr(_hidden_paths(plan))))
    how = ("running as root, so bwrap runs privileged and programs setuid to the program user"
           if os.geteuid() == 0 else "bwrap creates an unprivileged user namespace")
    return backend, worker, f"{version} ({path}) passed the isolation probe; {how}", _namespace_layers(config, backend)


def _open_unshare(config: SandboxConfig, python: str) -> tuple[ProcessBackend, WorkerProcess, str, tuple[str, ...]]:
    if os.geteuid() != 0:
        raise Unavailable(f"needs root; this process runs as uid {os.geteuid()}")
    path = shutil.which(config.unshare_path)
    if path is None:
        raise Unavailable(f"{config.unshare_path!r} not found (util-linux)")
    plan = plan_rootfs(python)
    staging = tempfile.mkdtemp(prefix="mabench-root-")
    backend = ProcessBackend("unshare", config, python, unshare_prefix(path),
                             rootfs=unshare_rootfs(plan, staging), staging=staging)
    try:
        worker = backend.probe(_PROBE_ISOLATED.replace("HIDDEN", repr(_hidden_paths(plan))))
    except Unavailable:
        backend.close()
        raise
    reason = f"util-linux unshare ({path}) passed the isolation probe"
    return backend, worker, reason, _namespace_layers(config, backend)


def _open_subprocess(config: SandboxConfig, python: str) -> tuple[ProcessBackend, WorkerProcess, str, tuple[str, ...]]:
    root = os.geteuid() == 0
    backend = ProcessBackend("subprocess", config, python, [])
    worker = backend.probe(_PROBE_PLAIN.replace("ROOT_HOST", repr(root)))
    layers = tuple(filter(None, (
        VERDICT_LAYER,
        "program user without capabilities" if root else "runs as the calling user",
        "no_new_privs" + _SECCOMP_NOTE,
        "rlimits: address space, CPU seconds, processes, file size, open files, core",
        "own session; subreaper sweep kills every descendant after the run",
        "private working directory (but the host filesystem and network are reachable)",
        backend.cgroup_note,
    )))
    return backend, worker, "plain subprocess with rlimits: always available, NOT isolated", layers


OPENERS = {"bwrap": _open_bwrap, "unshare": _open_unshare, "subprocess": _open_subprocess}


def select_backend(config: SandboxConfig) -> tuple[Isolation, Any, WorkerProcess | None]:
    """Try the configured backend (or, for "auto", each in AUTO_ORDER: isolating ones only); first
    that works wins. SandboxUnavailable says what was tried and, for "auto", what to do.

    Returns the isolation record, the backend (ProcessBackend or DockerBackend) and, for
    process backends, the already-probed first worker.
    """
    python = sandbox_python(config.python)
    candidates = AUTO_ORDER if config.backend == "auto" else (config.backend,)
    rejected: list[tuple[str, str]] = []
    for name in candidates:
        try:
            if name == "docker":
                from .docker_backend import DockerBackend

                docker = DockerBackend(config)
                backend, worker, reason, layers = docker, None, docker.reason, docker.layers
            else:
                backend, worker, reason, layers = OPENERS[name](config, python)
        except Unavailable as why:
            rejected.append((name, str(why)))
            continue
        as_caller = name == "subprocess" and os.geteuid() != 0
        user = _user(os.getuid(), os.getgid()) if as_caller else _user(config.uid, config.gid)
        warnings = []
        if rejected:
            tried = "; ".join(f"{b}: {r}" for b, r in rejected)
            warnings.append(f"sandbox fell back to {name!r} ({tried})")
        if name == "subprocess":
            warnings.append("programs run WITHOUT namespace isolation: they can reach the network and read "
                            "world-readable host files")
        for message in warnings:
            log.warning("mabench sandbox: %s", message)
        isolation = Isolation(name, reason, fallback=bool(rejected), rejected=tuple(rejected), layers=layers,
                              program_user=user, python=python, warnings=tuple(warnings))
        return isolation, backend, worker
    tried = "; ".join(f"{b}: {r}" for b, r in rejected)
    if config.backend == "auto":
        raise SandboxUnavailable(f"no isolating sandbox works here ({tried}); {NO_ISOLATION_HELP}")
    raise SandboxUnavailable(f"the {config.backend!r} sandbox does not work here ({tried})")
