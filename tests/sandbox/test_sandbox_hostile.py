"""Hostile programs. Each is bounded in count and time even if the sandbox failed, and each
test asserts containment (no survivor, no change on the host), the status, and that the
harness keeps going.

"namespaced" backends (bwrap, unshare) must hold everything; the plain subprocess fallback
only what it claims: limits and process cleanup, not the filesystem or the network.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
import sandbox_testing
from conftest import backend_skip_reason
from sandbox_testing import assert_contained, assert_healthy, hostile

from mabench.sandbox import Sandbox, SandboxConfig, Status
from mabench.sandbox.config import PIDS_OVERHEAD

NAMESPACED = ["bwrap", "unshare"]
EVERY = [*NAMESPACED, "subprocess"]
pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("backend", EVERY)
def test_fork_bomb_is_refused_and_every_child_dies(sandbox_for, backend, token):
    code = hostile(token, """
import time
forked = 0
try:
    for _ in range(3000):  # bounded: children sleep 15 s and exit by themselves
        if os.fork() == 0:
            tag(); time.sleep(15); os._exit(0)
        forked += 1
finally:
    print("forked", forked, flush=True)
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.FAILED
    assert "BlockingIOError" in result.stderr  # fork() refused by RLIMIT_NPROC / pids cgroup
    assert int(result.stdout.split()[-1]) < sandbox.config.max_processes + PIDS_OVERHEAD
    assert result.duration_s < 5
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_thread_bomb_is_refused(sandbox_for, backend, token):
    code = hostile(token, """
import threading, time
started = 0
try:
    for _ in range(3000):
        threading.Thread(target=time.sleep, args=(15,), daemon=True).start()
        started += 1
finally:
    print("threads", started, flush=True)
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.FAILED
    assert "can't start new thread" in result.stderr
    assert int(result.stdout.split()[-1]) < sandbox.config.max_processes + PIDS_OVERHEAD
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("bomb", [
    "blob = bytearray(8 << 30)",  # one huge allocation (untouched pages: harmless if unbounded)
    "hoard = [b'x' * (64 << 20) for _ in range(32)]",  # touched memory, capped at 2 GiB
], ids=["one-huge-allocation", "many-touched-chunks"])
def test_memory_bomb_reports_memory(sandbox_for, backend, bomb, token):
    sandbox = sandbox_for(backend)
    result = sandbox.run(hostile(token, bomb), timeout_s=10, memory_mb=256)
    assert result.status is Status.MEMORY
    assert "MemoryError" in result.stderr
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
@pytest.mark.parametrize("body", ["while True:\n    pass", "import time\ntime.sleep(60)"],
                         ids=["infinite-loop", "sleep-forever"])
def test_runaway_programs_time_out(sandbox_for, backend, body, token):
    sandbox = sandbox_for(backend)
    result = sandbox.run(hostile(token, body), timeout_s=1)
    assert result.status is Status.TIMEOUT
    assert 0.9 < result.duration_s < 3
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_signal_ignoring_program_still_times_out(sandbox_for, backend, token):
    code = hostile(token, """
import signal
for sig in set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP}:
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
while True:
    pass
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=1)
    assert result.status is Status.TIMEOUT
    assert result.duration_s < 3
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_huge_stdout_is_capped_to_its_tail(sandbox_for, backend, token):
    code = hostile(token, """
import sys
chunk = "x" * (1 << 20)
for _ in range(200):  # 200 MiB
    sys.stdout.write(chunk)
print("END")
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=20)
    assert result.status is Status.PASSED
    assert result.stdout_truncated
    assert len(result.stdout.encode()) <= sandbox.config.output_limit_bytes
    assert result.stdout.endswith("x" * 100 + "END\n")  # the tail, not the head
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", NAMESPACED)
def test_writes_outside_tmp_fail_and_tmp_is_private(sandbox_for, backend, token, tmp_path):
    host_targets = [Path(p) / f"{token}.txt" for p in ("/etc", "/usr", "/", "/root", tmp_path, os.getcwd(), "/tmp")]
    code = hostile(token, f"""
written = []
for path in {[str(p) for p in host_targets]!r}:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        written.append(path)
    except OSError:
        pass
print(written)
assert written == ["/tmp/{token}.txt"], written  # only its own private /tmp is writable
""")
    sandbox = sandbox_for(backend)
    try:
        result = sandbox.run(code, timeout_s=10)
        assert result.status is Status.PASSED, result.stderr
        assert [p for p in host_targets if p.exists()] == []  # nothing reached the host
    finally:
        for path in host_targets:
            path.unlink(missing_ok=True)
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", NAMESPACED)
def test_filling_tmp_stops_at_its_quota(sandbox_for, backend, token):
    code = hostile(token, f"""
written = 0
try:
    with open("/tmp/{token}", "wb") as f:
        for _ in range(512):  # bounded at 512 MiB
            f.write(b"\\0" * (1 << 20))
            f.flush()
            written += 1
finally:
    print("MiB", written, flush=True)
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=20)
    assert result.status is Status.FAILED
    assert "No space left on device" in result.stderr or "File too large" in result.stderr
    assert int(result.stdout.split()[-1]) <= sandbox.config.tmp_mb
    assert not Path("/tmp", token).exists()
    after = sandbox.run("import os\nprint(os.listdir('/tmp'))")
    assert after.stdout == "[]\n"  # the next program gets a fresh, empty /tmp
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


# Reads the parent's environment every way it can, and a host file if one is named.
_SNOOP = """
import glob
seen = [dict(os.environ)]
for path in [*{files!r}, *glob.glob("/proc/*/environ"), *glob.glob("/proc/*/cmdline")]:
    try:
        with open(path, "rb") as f:
            seen.append(f.read().decode(errors="replace"))
    except OSError:
        pass
print(seen)
"""


@pytest.mark.parametrize("backend", EVERY)
def test_parent_environment_is_not_inherited(backend, token, monkeypatch):
    monkeypatch.setenv("MABENCH_TEST_SECRET", token)  # set before the sandbox starts
    config = sandbox_testing.config_for(backend) if backend_skip_reason(backend) is None else pytest.skip(
        backend_skip_reason(backend))
    with Sandbox(1, config) as sandbox:
        result = sandbox.run(hostile(token, _SNOOP.format(files=[])), timeout_s=10)
        assert result.status is Status.PASSED, result.stderr
        assert token not in result.stdout and "MABENCH_TEST_SECRET" not in result.stdout
        assert_contained(sandbox, token)
        assert_healthy(sandbox)


@pytest.mark.parametrize("backend", NAMESPACED)
def test_host_files_and_directories_are_out_of_reach(sandbox_for, backend, token, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(token)
    secret.chmod(0o644)  # readable by anyone on the host: only isolation can hide it
    code = hostile(token, _SNOOP.format(files=[str(secret)]) + f"""
print(os.path.exists({os.getcwd()!r}), os.path.exists({str(tmp_path)!r}))
print(sorted(os.listdir("/")), os.listdir("/root") if os.path.isdir("/root") else [])
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.PASSED, result.stderr
    assert token not in result.stdout
    lines = result.stdout.splitlines()
    assert lines[-2] == "False False"  # neither the working directory nor the test's tmp dir
    assert "work" not in lines[-1] and "home" not in lines[-1]
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", NAMESPACED)
def test_network_is_unreachable(sandbox_for, backend, token):
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen()
    listener.setblocking(False)
    port = listener.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 9))  # sends nothing: just picks the host's outward address
            host_ip = probe.getsockname()[0]
        except OSError:  # no route at all
            host_ip = "127.0.0.1"
    code = hostile(token, f"""
import socket
reached = []
for address in [("127.0.0.1", {port}), ({host_ip!r}, {port}), ("1.1.1.1", 53), ("pypi.org", 443)]:
    try:
        socket.create_connection(address, timeout=2).close()
        reached.append(address)
    except OSError:
        pass
assert reached == [], reached
""")
    sandbox = sandbox_for(backend)
    try:
        result = sandbox.run(code, timeout_s=15)
        assert result.status is Status.PASSED, result.stderr
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected to the host
    finally:
        listener.close()
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_killing_the_parent_fails(sandbox_for, backend, token):
    sandbox = sandbox_for(backend)
    workers_before = sandbox.host_pids()
    # Its parent, the host pids of the sandbox's own processes, and (only inside a PID
    # namespace, so that a plain run cannot hit bystanders) every pid it can see.
    code = hostile(token, f"""
import signal
targets = {{os.getppid(), *{workers_before!r}}}
if os.getpid() == 1:
    targets |= set(map(int, filter(str.isdigit, os.listdir("/proc"))))
for pid in targets - {{0, os.getpid()}}:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print("still here")
""")
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.PASSED, result
    assert sandbox.host_pids() == workers_before
    assert all(Path(f"/proc/{pid}").exists() for pid in workers_before)
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_setsid_daemon_dies_with_the_program(sandbox_for, backend, token):
    code = hostile(token, f"""
import time
if os.fork() == 0:  # double fork + setsid: the classic daemon
    os.setsid()
    if os.fork() == 0:
        tag()
        time.sleep(10)  # bounded; if it survived this long it would leave a mark
        open("/tmp/{token}-daemon", "w").close()
    os._exit(0)
time.sleep(0.2)
print("parent done")
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.PASSED
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_closing_stdout_and_stderr_does_not_confuse_the_harness(sandbox_for, backend, token):
    code = hostile(token, "os.close(1)\nos.close(2)\ndef answer():\n    return 42\n")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, "assert answer() == 42", timeout_s=10)
    assert result.status is Status.PASSED
    assert (result.stdout, result.stderr) == ("", "")
    failing = sandbox.run(code, "assert answer() == 0", timeout_s=10)
    assert failing.status is Status.FAILED  # judged by its tests, not by its output
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_segfault_through_ctypes_is_a_crash(sandbox_for, backend, token):
    sandbox = sandbox_for(backend)
    result = sandbox.run(hostile(token, "ctypes.string_at(0)"), timeout_s=10)
    assert result.status is Status.CRASHED
    assert result.signal == signal.SIGSEGV
    assert_contained(sandbox, token)
    assert_healthy(sandbox)


@pytest.mark.parametrize("backend", NAMESPACED)
def test_memory_the_address_space_limit_misses_is_caught_by_the_cgroup(backend, token):
    # tmpfs pages count against no rlimit; the worker's memory cgroup stops them.
    code = hostile(token, """
chunk = b"x" * (1 << 20)
for path in ("/tmp/fill", "/dev/shm/fill"):
    with open(path, "wb") as f:
        for _ in range(60):
            f.write(chunk)
""")
    with Sandbox(1, SandboxConfig(backend=backend, worker_memory_mb=96)) as sandbox:
        if not any(layer.startswith("cgroup") for layer in sandbox.isolation.layers):
            pytest.skip("no writable memory cgroup here")
        result = sandbox.run(code, timeout_s=10)
        assert result.status is Status.MEMORY and "cgroup" in result.detail
        assert_contained(sandbox, token)
        assert_healthy(sandbox)


@pytest.mark.parametrize("backend", EVERY)
def test_no_new_user_namespace_to_regain_capabilities(sandbox_for, backend, token):
    # Inside a fresh user namespace a program would be "root" again, with the kernel's
    # namespace-only attack surface; seccomp refuses the flag however it is asked for.
    code = hostile(token, """
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER = 0x10000000
assert libc.unshare(CLONE_NEWUSER) == -1, "unshare(CLONE_NEWUSER) worked"
assert os.uname().machine != "x86_64" or libc.syscall(56, CLONE_NEWUSER | 17, 0, 0, 0, 0) == -1, "clone worked"
print("refused")
""")
    sandbox = sandbox_for(backend)
    result = sandbox.run(code, timeout_s=10)
    assert result.status is Status.PASSED, result.stderr
    assert_contained(sandbox, token)
    assert_healthy(sandbox)
