"""Backend selection: bwrap by default, then unshare (as root); nothing else unless asked for by
name. Every fallback is announced and recorded. Docker is exercised where an engine exists."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

import pytest
from sandbox_testing import plain_python, readable_by_program_user

from mabench.sandbox import Sandbox, SandboxConfig, SandboxUnavailable, Status, describe_isolation

pytestmark = pytest.mark.timeout(60)
NO_BWRAP = "/nonexistent/bwrap"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None, reason="unshare fallback needs root")
def test_without_bwrap_it_falls_back_to_unshare_loudly(caplog):
    with caplog.at_level(logging.WARNING, logger="mabench.sandbox"), \
            Sandbox(1, SandboxConfig(bwrap_path=NO_BWRAP)) as sandbox:
        isolation = sandbox.isolation
        result = sandbox.run("import os\nprint(os.getuid())", "assert True")
    assert isolation.backend == "unshare" and isolation.fallback
    assert dict(isolation.rejected)["bwrap"].startswith(f"{NO_BWRAP!r} not found")
    assert any("fell back to 'unshare'" in record.getMessage() for record in caplog.records)
    assert isolation.warnings and "bwrap" in isolation.warnings[0]
    assert result.status is Status.PASSED and result.stdout == "65534\n"


def test_without_an_isolating_backend_auto_refuses_and_says_what_to_do(caplog):
    # Never a silent (or even a loud) slide into unisolated execution, nor into docker.
    config = SandboxConfig(bwrap_path=NO_BWRAP, unshare_path="/nonexistent/unshare", python=plain_python())
    with pytest.raises(SandboxUnavailable) as refused:
        Sandbox(1, config)
    message = str(refused.value)
    assert "bwrap: '/nonexistent/bwrap' not found" in message and "unshare:" in message
    assert "apt-get install bubblewrap" in message and "--sandbox subprocess" in message
    assert "--sandbox docker" in message and "docker:" not in message


@pytest.mark.skipif(plain_python() is None, reason="no Python whose stdlib the program user can read")
def test_the_plain_subprocess_runs_only_when_asked_for_and_warns(caplog):
    config = SandboxConfig(backend="subprocess", python=plain_python())
    with caplog.at_level(logging.WARNING, logger="mabench.sandbox"):
        isolation = describe_isolation(config)
    assert isolation.backend == "subprocess" and not isolation.fallback and isolation.rejected == ()
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "WITHOUT namespace isolation" in messages


def test_an_explicit_backend_that_does_not_work_is_an_error():
    with pytest.raises(SandboxUnavailable, match="bwrap: '/nonexistent/bwrap' not found"):
        Sandbox(1, SandboxConfig(backend="bwrap", bwrap_path=NO_BWRAP))


def test_plain_backend_refuses_an_interpreter_the_program_user_cannot_read():
    # e.g. pyenv under /root (mode 0700): programs would die on their first stdlib import.
    if os.geteuid() != 0 or readable_by_program_user(os.path.dirname(os.__file__)):
        pytest.skip("needs root running an interpreter from a private directory")
    with pytest.raises(SandboxUnavailable, match="cannot read the standard library"):
        Sandbox(1, SandboxConfig(backend="subprocess"))


# ---------------------------------------------------------------- docker
@pytest.fixture(scope="module")
def docker_sandbox():
    try:
        sandbox = Sandbox(1, SandboxConfig(backend="docker"))
    except SandboxUnavailable as error:
        pytest.skip(f"Docker backend unavailable here: {error}")
    yield sandbox
    sandbox.close()


def test_docker_runs_and_judges_programs(docker_sandbox):
    assert docker_sandbox.isolation.backend == "docker"
    assert docker_sandbox.run("def f():\n    return 1\n", "assert f() == 1").passed
    assert docker_sandbox.run("def f():\n    return 1\n", "assert f() == 2").status is Status.FAILED


def test_docker_contains_network_and_time(docker_sandbox):
    net = docker_sandbox.run("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=2)")
    assert net.status is Status.FAILED
    slow = docker_sandbox.run("while True:\n    pass", timeout_s=1)
    assert slow.status is Status.TIMEOUT


@pytest.mark.skipif(plain_python() is None, reason="no Python whose stdlib the program user can read")
def test_plain_backend_leaves_no_files_behind():
    # It has no private /tmp: programs get a directory of their own, removed with the worker.
    def scratch_dirs() -> set[str]:
        return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("mabench-scratch-")}

    before = scratch_dirs()
    with Sandbox(1, SandboxConfig(backend="subprocess", python=plain_python())) as sandbox:
        result = sandbox.run("import os\nopen('left.txt', 'w').write('x')\nprint(os.getcwd())")
        assert result.passed and (scratch_dirs() - before)
    assert scratch_dirs() - before == set()
