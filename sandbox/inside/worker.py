"""In-sandbox runtime: a long-lived worker that runs every program in a fresh forked child.

Stdlib only: the host ships this file, ``linux.py``, ``protocol.py`` and ``harness.py`` into the sandbox as
source text (see ``layout.worker_argv``), where the rest of the package is not visible. The host never
runs it. One program's life:

    worker     long-lived. Pre-forks the next program process, then waits for it to report
               its deadline, enforces it (SIGKILL), reaps it, and reports how it ended.
    program    reads its own request from the host, so the worker's memory (which every
               program is forked from) never holds another program's code or output.
               In "namespaces" mode it is PID 1 of a fresh PID namespace, with fresh
               mount and IPC namespaces and new tmpfs on /tmp and /dev/shm: when it exits
               or is killed, the kernel kills every process it started. Then it drops to
               an unprivileged uid without capabilities, sets rlimits, says "ready" on the
               control pipe and closes it, and runs the code, then the tests (``harness.py``)
               holding no descriptor but 0, 1 and 2. Its stdout and stderr go straight to pipes
               the host reads. It reports how the tests ended in an anonymous shared page,
               where a pass is a token the worker drew for this program (docs/sandbox.md).

In "plain" mode (the weak fallback) there are no namespaces: the worker is a child
subreaper and kills every descendant it inherits after each program.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import hmac
import importlib
import itertools
import json
import math
import mmap
import os
import resource
import selectors
import shutil
import signal
import struct
import sys
import time
import traceback

try:
    from . import linux
    from .harness import MEMORY, OUTCOMES, PASSED, REPORT_SIZE, execute
    from .protocol import Tail, encode_frame, read_frame, write_all
except ImportError:  # inside the sandbox, loaded by the bootstrap rather than as a package
    import _mabench_linux as linux  # type: ignore[no-redef]
    from _mabench_harness import MEMORY, OUTCOMES, PASSED, REPORT_SIZE, execute  # type: ignore[no-redef]
    from _mabench_protocol import Tail, encode_frame, read_frame, write_all  # type: ignore[no-redef]
DEADLINE = struct.Struct("=d")  # program process -> worker, control pipe: "my request came; timeout_s"
READY = b"R"  # then: "set up; the program runs now" (the pipe is closed before it does)
EXIT_EOF = 3  # program process exit code: the host closed the request stream
EXIT_SETUP = 70  # the program process failed before running any program code
TOKEN_BYTES = 16


# ---------------------------------------------------------------- worker side
def serve(config: dict) -> int:
    """Run programs until the host closes the request stream; one result frame per program."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in config.get("preload", ()):  # imported once here, not once per program
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # Built once here, used by every program process: the seccomp filter, and the builtins for the tests.
    config = {**config, "seccomp": linux.prepare_seccomp_filter(), "builtins": dict(vars(builtins))}
    gc.freeze()  # forked programs then never touch (and copy) the worker's objects when collecting
    namespaces = config["mode"] == "namespaces"
    if namespaces:
        _set_environment(config, "/tmp")  # every program's, set once: they all work in their own /tmp
    own_pidns = os.open("/proc/self/ns/pid", os.O_RDONLY) if namespaces else -1
    if namespaces and not _can_return_to(own_pidns):
        own_pidns = _enter_own_pidns()
    if not namespaces:
        linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
        # Programs share our uid when we are not root: keep them out of our memory and file
        # descriptors (the queued next request), and out of each other's (they inherit this).
        linux.prctl(linux.PR_SET_DUMPABLE, 0)
    for sequence in itertools.count():
        # Programs alternate between two pairs of output pipes, so that the host can queue the
        # next request: while it still drains one program's output, the next writes elsewhere.
        out_fd, err_fd = config["stdout_fds"][sequence % 2], config["stderr_fds"][sequence % 2]
        ctl_r, ctl_w = os.pipe()
        token, report = os.urandom(TOKEN_BYTES), mmap.mmap(-1, REPORT_SIZE)  # shared, anonymous: no fd
        workdir = "/tmp" if namespaces else _plain_workdir(config)
        if namespaces:
            linux.unshare(linux.CLONE_NEWPID)  # our next child is PID 1 of a fresh namespace
        pid = os.fork()
        if pid == 0:
            _program_process(config, None, (out_fd, err_fd, ctl_w), (ctl_r, own_pidns, 1), workdir, token, report)
        if namespaces:
            linux.setns(own_pidns, linux.CLONE_NEWPID)  # back, so that unshare works next time
        os.close(ctl_w)
        message = os.read(ctl_r, DEADLINE.size)  # blocks until the program process has its request
        if len(message) != DEADLINE.size:  # it ended without one
            raw = os.waitpid(pid, 0)[1]
            os.close(ctl_r)
            report.close()
            code = os.waitstatus_to_exitcode(raw)
            if not namespaces:
                shutil.rmtree(workdir, ignore_errors=True)
            if code == EXIT_EOF:
                return 0
            write_all(1, encode_frame({"kind": "error", "message": f"program process exited with {code} "
                                                                     "before reading a request"}))
            return 1
        start = time.monotonic()
        timed_out, status = _wait(pid, start + DEADLINE.unpack(message)[0], namespaces, {})
        result = _facts(status, timed_out, time.monotonic() - start, _read_ready(ctl_r), token, report)
        if not namespaces:
            shutil.rmtree(workdir, ignore_errors=True)
        write_all(1, encode_frame(result))
    return 0  # not reached


def _can_return_to(pidns: int) -> bool:
    """Whether we may setns() back into our PID namespace after an unshare (not when it
    belongs to an outer user namespace, as under unprivileged bwrap with --uid)."""
    pid = os.fork()
    if pid == 0:
        try:
            linux.unshare(linux.CLONE_NEWPID)
            linux.setns(pidns, linux.CLONE_NEWPID)
            os._exit(0)
        except OSError:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def _enter_own_pidns() -> int:
    """Continue as PID 1 of a PID namespace of our own user namespace; the parent only waits."""
    linux.unshare(linux.CLONE_NEWPID)
    pid = os.fork()
    if pid:
        os._exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) & 0xFF)
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    return os.open("/proc/self/ns/pid", os.O_RDONLY)


def oneshot(config: dict) -> int:
    """Run the single request in $MABENCH_REQUEST (Docker); print one frame with the output."""
    request = json.loads(os.environ.pop("MABENCH_REQUEST"))
    limit = request["limits"]["output_bytes"]
    (out_r, out_w), (err_r, err_w), (ctl_r, ctl_w) = os.pipe(), os.pipe(), os.pipe()
    token, report = os.urandom(TOKEN_BYTES), mmap.mmap(-1, REPORT_SIZE)
    linux.prctl(linux.PR_SET_CHILD_SUBREAPER, 1)
    workdir = _plain_workdir(config)
    pid = os.fork()
    if pid == 0:
        _program_process(config, request, (out_w, err_w, ctl_w), (out_r, err_r, ctl_r, 1), workdir, token, report)
    for fd in (out_w, err_w, ctl_w):
        os.close(fd)
    tails = {out_r: Tail(limit), err_r: Tail(limit)}
    start = time.monotonic()
    timed_out, status = _wait(pid, start + request["timeout_s"], False, tails)
    result = _facts(status, timed_out, time.monotonic() - start, _read_ready(ctl_r), token, report)
    for name, tail in (("stdout", tails[out_r]), ("stderr", tails[err_r])):
        result[name], result[f"{name}_truncated"] = tail.text(), tail.truncated
    write_all(1, encode_frame(result))
    return 0


def _plain_workdir(config: dict) -> str:
    """A private directory for one program, inside the worker's scratch directory (which the
    host removes with the worker, whatever happens)."""
    workdir = f"{config.get('scratch') or '/tmp'}/mabench-{os.getpid()}-{os.urandom(6).hex()}"
    os.mkdir(workdir, 0o700)
    if os.geteuid() == 0:
        os.chown(workdir, config["uid"], config["gid"])
    return workdir


def _wait(pid: int, deadline: float, namespaces: bool, tails: dict[int, Tail]) -> tuple[bool, tuple]:
    """Wait for the program (draining ``tails``' pipes, if any); SIGKILL it at the deadline."""
    pidfd = os.pidfd_open(pid)
    selector = selectors.DefaultSelector()
    for fd in (pidfd, *tails):
        selector.register(fd, selectors.EVENT_READ)
    timed_out, status, open_streams = False, None, len(tails)
    while status is None or open_streams:
        if status is None:
            wait = None if timed_out else max(0.0, deadline - time.monotonic())
        else:
            wait = None if namespaces else 0.5  # plain: stragglers were swept; a leaked pipe must not hang us
        events = selector.select(wait)
        if not events:
            if status is not None:
                break
            timed_out = True
            os.kill(pid, signal.SIGKILL)  # PID 1 of its namespace: takes every process it started along
            if not namespaces:
                _kill_group(pid)
            continue
        for key, _ in events:
            if key.fd == pidfd:
                selector.unregister(pidfd)
                _, raw, usage = os.wait4(pid, 0)
                status = (raw, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
                if not namespaces:
                    _kill_group(pid)
                    linux.sweep_children()
            elif chunk := os.read(key.fd, 1 << 16):
                tails[key.fd].add(chunk)
            else:
                selector.unregister(key.fd)
                open_streams -= 1
    selector.close()
    os.close(pidfd)
    return timed_out, status


def _facts(status: tuple, timed_out: bool, duration: float, control: bytes, token: bytes, report: mmap.mmap
           ) -> dict:
    """What the worker saw. Read only once the program process and all it started are dead (its
    PID namespace is gone, or the plain-mode sweep has run), so nothing writes the page any more."""
    raw, cpu_s, max_rss_kb = status
    page = report[:REPORT_SIZE]
    report.close()
    claimed = OUTCOMES.get(page[0])  # None: the harness never reported (os._exit, exec, a signal...)
    return {
        "kind": "result",
        "exit_code": os.WEXITSTATUS(raw) if os.WIFEXITED(raw) else None,
        "signal": os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else None,
        "timed_out": timed_out,
        "completed": page[0] == PASSED and hmac.compare_digest(page[1 : 1 + len(token)], token),
        "outcome": claimed,
        "memory_error": page[0] == MEMORY,
        "setup_failed": control != READY,  # the program never ran: the sandbox's failure
        "cpu_s": cpu_s,
        "max_rss_kb": max_rss_kb,
        "duration_s": duration,
    }


def _read_ready(fd: int) -> bytes:
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 64)
    except BlockingIOError:  # a writer survived (plain mode); it has nothing we trust
        return b""
    finally:
        os.close(fd)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


# ---------------------------------------------------------------- program side
def _program_process(config: dict, request: dict | None, fds: tuple, close: tuple, workdir: str, token: bytes,
                     report: mmap.mmap) -> None:
    """Become the program: never returns."""
    try:
        out_w, err_w, ctl_w = fds
        for fd in close:
            if fd >= 0:
                os.close(fd)
        linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # worker gone: program (and namespace) gone
        if request is None:
            request = read_frame(0)
            if request is None:
                os._exit(EXIT_EOF)
            write_all(ctl_w, DEADLINE.pack(request["timeout_s"]))
        if config["mode"] == "namespaces":
            linux.unshare(linux.CLONE_NEWNS | linux.CLONE_NEWIPC)
            linux.private_tmp(request["limits"]["tmp_mb"])
            linux.mount("proc", "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
        _write_file("/proc/self/oom_score_adj", b"1000")  # out of memory: the program dies first, not the worker
        os.setpgid(0, 0)  # a group of its own (plain mode kills it); not setsid, which costs a scheduler group
        _set_fds(out_w, err_w, ctl_w)
        os.chdir(workdir)
        if os.environ.get("HOME") != workdir:  # namespaces: the worker set it up once, for every program
            _set_environment(config, workdir)
        _apply_limits(request, config)
        _drop_privileges(config["uid"], config["gid"], config.get("seccomp"))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if "random" in sys.modules:
            sys.modules["random"].seed()  # else every forked program replays one random sequence
        sys.argv = ["<program>"]
        write_all(ctl_w, READY)
        os.close(ctl_w)  # from here on the process holds descriptors 0, 1 and 2, nothing else
    except BaseException:
        traceback.print_exc()
        os._exit(EXIT_SETUP)
    try:
        execute(request["code"], request["tests"], token, report, config.get("builtins") or dict(vars(builtins)))
    finally:
        os._exit(EXIT_SETUP)  # not reached: execute ends the process


def _set_fds(out_w: int, err_w: int, ctl_w: int) -> None:
    """stdin from /dev/null, stdout/stderr to the host's pipes, the control pipe until the
    program starts; nothing else (close_range: every descriptor, whatever its number)."""
    null = os.open("/dev/null", os.O_RDONLY)
    for source, target in ((null, 0), (out_w, 1), (err_w, 2)):
        os.dup2(source, target)
    os.closerange(3, ctl_w)
    os.closerange(ctl_w + 1, max(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1 << 20))


def _set_environment(config: dict, workdir: str) -> None:
    os.environ.clear()
    os.environ.update(config["env"], HOME=workdir, TMPDIR=workdir)


def _write_file(path: str, data: bytes) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _apply_limits(request: dict, config: dict) -> None:
    limits = request["limits"]
    nproc = limits["nproc"]
    if config["mode"] != "namespaces" and os.geteuid() != 0:  # the count is per uid: add the caller's
        nproc += sum(1 for p in os.listdir("/proc") if p.isdigit() and os.stat(f"/proc/{p}").st_uid == os.getuid())
    cpu = math.ceil(request["timeout_s"]) + 1
    for which, soft, hard in ((resource.RLIMIT_AS, limits["memory_mb"] << 20, limits["memory_mb"] << 20),
                              (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU, then SIGKILL
                              (resource.RLIMIT_NPROC, nproc, nproc),
                              (resource.RLIMIT_FSIZE, limits["fsize_mb"] << 20, limits["fsize_mb"] << 20),
                              (resource.RLIMIT_NOFILE, limits["nofile"], limits["nofile"]),
                              (resource.RLIMIT_CORE, 0, 0)):
        resource.setrlimit(which, (soft, hard))


def _drop_privileges(uid: int, gid: int, seccomp: tuple | None) -> None:
    """Become ``uid``:``gid`` with no capabilities and no way to gain any; abort otherwise."""
    if os.geteuid() == 0 or os.getuid() == 0:
        with contextlib.suppress(PermissionError):  # user namespace with setgroups denied: no groups to drop
            os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    linux.set_caps([], bounding=False)  # no_new_privs below keeps exec from regaining any
    linux.check(linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
    if 0 in os.getresuid() or 0 in os.getresgid() or linux.has_caps():
        raise PermissionError("refusing to run a program with root privileges")
    # No user namespace (fresh capabilities there), no system call through a foreign ABI.
    linux.install_seccomp_filter(seccomp or linux.prepare_seccomp_filter())


def main(argv: list[str]) -> int:
    config = json.loads(argv[1])
    if config.get("rootfs"):
        linux.build_rootfs(config["rootfs"])
    if config.get("keep_caps") is not None:
        linux.set_caps(config["keep_caps"])
    return oneshot(config) if config.get("oneshot") else serve(config)
