"""What the sandbox's filesystem holds, and the command lines that start a worker in it.

The root is assembled from read-only binds of the system directories, a short list of
harmless files from /etc, and the Python installation that runs the programs. The host's
home, working directories, /var, /run and everything else are simply absent.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

INSIDE = Path(__file__).parent / "inside"
# The guest code (``inside/``) travels as source text (argv), in this order (each only needs the ones before it);
# the bootstrap loads each as module ``_mabench_<name>`` and runs the worker's ``main``.
GUEST_MODULES = ("linux", "protocol", "harness", "worker")
_BOOTSTRAP = """import sys, types
def load(name, source):
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(source, name + ".py", "exec"), module.__dict__)
    return module
load("_mabench_linux", {linux!r})
load("_mabench_protocol", {protocol!r})
load("_mabench_harness", {harness!r})
sys.exit(load("_mabench_worker", {worker!r}).main(sys.argv))
"""
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}
_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC_ENTRIES = (
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "localtime", "ld.so.cache",
    "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates", "mime.types",
)
# Capabilities the worker keeps (programs keep none): KILL (deadline), SETGID and SETUID (to
# become the program user), SYS_ADMIN (a PID, mount and IPC namespace per program).
SUPERVISOR_CAPS = (5, 6, 7, 21)
_CAP_NAMES = {5: "CAP_KILL", 6: "CAP_SETGID", 7: "CAP_SETUID", 21: "CAP_SYS_ADMIN"}


@dataclass(frozen=True)
class RootfsPlan:
    """Read-only binds (host path, sandbox path) and symlinks (target, sandbox path)."""

    binds: tuple[tuple[str, str], ...]
    symlinks: tuple[tuple[str, str], ...]
    python: str


def sandbox_python(python: str | None) -> str:
    """The interpreter that runs programs: the given one, else this one, symlinks resolved."""
    chosen = os.path.realpath(python or sys.executable)
    if not os.access(chosen, os.X_OK):
        raise ValueError(f"python: expected an executable interpreter, got {python!r}")
    return chosen


def plan_rootfs(python: str) -> RootfsPlan:
    binds: list[tuple[str, str]] = []
    symlinks: list[tuple[str, str]] = []
    for name in _SYSTEM_DIRS:
        path = f"/{name}"
        if os.path.islink(path):
            symlinks.append((os.readlink(path), path))
        elif os.path.isdir(path):
            binds.append((path, path))
    etc = [f"/etc/{name}" for name in _ETC_ENTRIES] + sorted(glob.glob("/etc/python3*"))
    binds += [(path, path) for path in etc if os.path.exists(path)]
    covered = [dest for _, dest in binds]
    prefixes = {os.path.dirname(os.path.dirname(python))}  # <prefix>/bin/python3.x
    if python == os.path.realpath(sys.executable):
        prefixes.add(os.path.realpath(sys.base_prefix))
    for prefix in sorted(prefixes):
        if not any(prefix == d or prefix.startswith(d + "/") for d in covered):
            binds.append((prefix, prefix))
            covered.append(prefix)
    return RootfsPlan(tuple(binds), tuple(symlinks), python)


def worker_config(mode: str, *, uid: int, gid: int, rootfs: dict | None = None, oneshot: bool = False,
                  stdout_fds: tuple[int, ...] = (), stderr_fds: tuple[int, ...] = (),
                  preload: tuple[str, ...] = (), scratch: str | None = None) -> str:
    """The worker's argv[1]: ``mode`` is "namespaces" or "plain"; fds are where programs write;
    ``scratch`` (plain mode) is where program working directories go."""
    return json.dumps({"mode": mode, "uid": uid, "gid": gid, "env": SANDBOX_ENV, "rootfs": rootfs,
                       "oneshot": oneshot, "stdout_fds": stdout_fds, "stderr_fds": stderr_fds,
                       "preload": preload, "scratch": scratch,
                       "keep_caps": list(SUPERVISOR_CAPS) if mode == "namespaces" else None})


def worker_argv(python: str, config: str) -> list[str]:
    """``python -I -c <bootstrap> <config>``. -I: ignore PYTHON* variables and user site-packages."""
    sources = {name: (INSIDE / f"{name}.py").read_text() for name in GUEST_MODULES}
    return [python, "-I", "-c", _BOOTSTRAP.format(**sources), config]


def bwrap_prefix(bwrap: str, plan: RootfsPlan, *, uid: int, gid: int) -> list[str]:
    """bubblewrap: fresh namespaces for everything, a read-only root, no host home or cwd."""
    privileged = os.geteuid() == 0
    argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if not privileged:  # unprivileged: a user namespace in which the worker is uid:gid
        argv += ["--unshare-user", "--uid", str(uid), "--gid", str(gid), "--disable-userns"]
    made = {dest for _, dest in plan.binds} | {path for _, path in plan.symlinks}
    for source, dest in plan.binds:
        for parent in reversed(Path(dest).parents[:-1]):  # bwrap would copy 0700 from e.g. /root
            if str(parent) not in made:
                made.add(str(parent))
                argv += ["--perms", "0755", "--dir", str(parent)]
        argv += ["--ro-bind", source, dest]
    for target, path in plan.symlinks:
        argv += ["--symlink", target, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--remount-ro", "/",
             "--chdir", "/", "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        argv += ["--setenv", key, value]
    argv += ["--cap-drop", "ALL"]  # as root, bwrap would otherwise keep every capability
    for cap in SUPERVISOR_CAPS:
        argv += ["--cap-add", _CAP_NAMES[cap]]
    argv += ["--cap-add", "CAP_SETPCAP"]  # only so that the worker can empty its bounding set
    return [*argv, "--"]


def unshare_prefix(unshare: str) -> list[str]:
    """util-linux unshare (root only): fresh namespaces; the worker then builds the root."""
    return [unshare, "--fork", "--kill-child", "--pid", "--mount", "--net", "--ipc", "--uts", "--"]


def unshare_rootfs(plan: RootfsPlan, staging: str) -> dict:
    return {"staging": staging, "binds": plan.binds, "symlinks": plan.symlinks, "keep_caps": list(SUPERVISOR_CAPS)}
