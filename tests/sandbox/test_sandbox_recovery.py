"""When the sandbox itself fails, the result says so (sandbox_error, not a verdict on the
program), nothing it ran survives, and the next program gets a fresh worker."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sandbox_testing import assert_contained, assert_healthy, descendants, hostile

from mabench.sandbox import Sandbox, SandboxConfig, Status

pytestmark = pytest.mark.timeout(60)


def wait_until_gone(pids: list[int], seconds: float = 3.0) -> list[int]:
    """The pids still alive (zombies count as gone) after waiting up to ``seconds``."""
    def alive(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + seconds
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_killed_worker_is_reported_and_replaced(token):
    with Sandbox(1) as sandbox:
        [victim] = sandbox.host_pids()
        threading.Timer(0.5, os.kill, (victim, signal.SIGKILL)).start()
        result = sandbox.run(hostile(token, "import time\ntime.sleep(8)"), timeout_s=10)
        assert result.status is Status.SANDBOX_ERROR and "worker" in result.detail
        assert sandbox.host_pids() != [victim]
        assert_contained(sandbox, token)
        assert_healthy(sandbox)


def test_an_unresponsive_worker_is_killed_after_timeout_plus_grace(token):
    with Sandbox(1, SandboxConfig(grace_s=0.5)) as sandbox:
        [root] = sandbox.host_pids()
        frozen = list(descendants([root]))
        threading.Timer(0.3, lambda: [os.kill(pid, signal.SIGSTOP) for pid in frozen]).start()
        result = sandbox.run(hostile(token, "import time\ntime.sleep(0.6)"), timeout_s=1)
        assert result.status is Status.SANDBOX_ERROR and "did not answer" in result.detail
        assert not wait_until_gone([root, *frozen])
        assert_contained(sandbox, token)
        assert_healthy(sandbox)


def test_an_interrupted_call_leaves_no_result_behind_for_the_next(token):
    # A caller interrupted mid-run (Ctrl-C) must not receive the abandoned program's
    # result as the answer to its next call.
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    with Sandbox(1) as sandbox:
        previous = signal.signal(signal.SIGALRM, interrupt)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            with pytest.raises(KeyboardInterrupt):
                sandbox.run(hostile(token, "import time\ntime.sleep(3)\nprint('first')"), timeout_s=10)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        assert_contained(sandbox, token)  # the abandoned program was killed, not left running
        result = sandbox.run("print('second')")
        assert result.stdout == "second\n"
