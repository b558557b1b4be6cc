"""One program must never see another's files, state or processes, even on a warm worker
that runs them one after the other, nor while two workers run side by side."""

from __future__ import annotations

import pytest
from sandbox_testing import config_for, hostile

from mabench.sandbox import Sandbox, Status

NAMESPACED = ["bwrap", "unshare"]
pytestmark = pytest.mark.timeout(60)

# SysV shared memory, reached through ctypes: IPC_CREAT = 0o1000.
_SHMGET = "import ctypes\nshmget = ctypes.CDLL(None, use_errno=True).shmget\nKEY = 0x6D62{:04x}\n"


@pytest.mark.parametrize("backend", NAMESPACED)
def test_a_later_program_sees_nothing_of_an_earlier_one(sandbox_for, backend, token):
    sandbox = sandbox_for(backend)  # one worker: both programs are forked from the same process
    key = int(token[-4:], 16)
    first = sandbox.run(hostile(token, _SHMGET.format(key) + f"""
import json, sys, time
open("/tmp/{token}", "w").write("left behind")
open("/dev/shm/{token}", "w").write("left behind")
json.{token} = "module state"
sys.modules["{token}"] = json
assert shmget(KEY, 4096, 0o1000 | 0o600) >= 0
if os.fork() == 0:
    tag(); time.sleep(10); os._exit(0)
"""), timeout_s=10)
    assert first.status is Status.PASSED, first.stderr
    second = sandbox.run(_SHMGET.format(key) + f"""
import json, os, sys
print(os.listdir("/tmp"), os.listdir("/dev/shm"))
print(hasattr(json, "{token}"), "{token}" in sys.modules)
print(shmget(KEY, 0, 0))
print(sorted(p for p in os.listdir("/proc") if p.isdigit()))
""", timeout_s=10)
    assert second.stdout.splitlines() == ["[] []", "False False", "-1", "['1']"]


@pytest.mark.parametrize("backend", [*NAMESPACED, "subprocess"])
def test_environment_is_the_same_minimal_one_every_time(sandbox_for, backend):
    sandbox = sandbox_for(backend)
    sandbox.run("import os\nos.environ['LEAK'] = 'yes'\nos.putenv('LEAK2', 'yes')")
    result = sandbox.run("import os\nprint(sorted(os.environ))")
    assert result.stdout.strip() == str(sorted(
        ["HOME", "LANG", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PATH", "PYTHONDONTWRITEBYTECODE", "TMPDIR"]))


@pytest.mark.parametrize("backend", NAMESPACED)
def test_programs_running_side_by_side_cannot_see_each_other(backend, token):
    # Each writes a file, then waits long enough for the other to have written too.
    code = hostile(token, """
import sys, time
name = sys.argv[0] + str(os.getpid()) + str(time.time())
open("/tmp/" + name, "w").close()
time.sleep(0.5)
print(len(os.listdir("/tmp")), sorted(p for p in os.listdir("/proc") if p.isdigit()))
""")
    with Sandbox(2, config_for(backend)) as sandbox:
        results = sandbox.run_many([{"code": code, "timeout_s": 10}] * 2, progress=False)
    assert [r.stdout for r in results] == ["1 ['1']\n"] * 2


@pytest.mark.parametrize("backend", NAMESPACED)
def test_a_fork_bomb_does_not_starve_its_neighbour(backend, token):
    # RLIMIT_NPROC counts every process of the program user machine-wide; each worker's
    # pids cgroup is what bounds one program without taking processes from the next.
    bomb = hostile(token, """
import time
try:
    for _ in range(3000):
        if os.fork() == 0:
            tag(); time.sleep(15); os._exit(0)
except OSError:
    time.sleep(2)  # hold every process it got while the neighbour runs
""")
    neighbour = """
import threading, time
time.sleep(0.5)  # let the bomb go off first
threads = [threading.Thread(target=time.sleep, args=(0.1,)) for _ in range(20)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""
    with Sandbox(2, config_for(backend)) as sandbox:
        if not any(layer.startswith("cgroup") for layer in sandbox.isolation.layers):
            pytest.skip("no writable pids cgroup here: RLIMIT_NPROC alone is shared by all programs")
        results = sandbox.run_many([{"code": bomb, "timeout_s": 10}, {"code": neighbour, "timeout_s": 10}],
                                   progress=False)
    assert results[1].status is Status.PASSED, results[1].stderr
