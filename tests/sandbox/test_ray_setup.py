"""Choosing Ray for code execution: one setting, a one-line exit 2 when Ray is missing or unreachable, and no
change to the run id. None of these start Ray; they run whether or not Ray is installed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mabench.config import RunConfig
from mabench.ray_cluster import INSTALL, RayUnavailable, connect
from mabench.sandbox import Program, Sandbox, SandboxConfig, run_many

pytestmark = pytest.mark.timeout(60)

# Runs `mabench ARGS...` as a user would, in an interpreter where `import ray` fails as it does without the extra.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from mabench.cli import app; app(sys.argv[1:])"


def mabench_without_ray(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", WITHOUT_RAY, *args], capture_output=True, text=True, timeout=50)


def test_asking_for_ray_without_it_installed_exits_2_with_the_extra_to_install(tmp_path: Path):
    done = mabench_without_ray("run", "--tasks", "mbpp", "--limit", "1", "--sandbox-executor", "ray",
                               "--out", str(tmp_path))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and INSTALL in lines[0] and "--sandbox-executor ray" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())  # stopped before anything was written


def test_checking_the_ray_nodes_without_ray_exits_2_with_the_extra_to_install():
    done = mabench_without_ray("sandbox", "check", "--executor", "ray")
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: Ray is not installed; install it with: {INSTALL}"], done.stderr


def test_an_unknown_executor_exits_2_naming_the_choices(tmp_path: Path):
    done = mabench_without_ray("run", "--tasks", "mbpp", "--sandbox-executor", "slurm", "--out", str(tmp_path))
    assert done.returncode == 2 and "sandbox_executor" in done.stderr and "'ray'" in done.stderr, done.stderr
    with pytest.raises(ValueError, match="executor: expected one of local, ray"):
        SandboxConfig(executor="slurm")  # type: ignore[arg-type]


def test_the_library_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RayUnavailable, match=r"pip install 'mabench\[ray\]'"):
        run_many([Program("x = 1")], config=SandboxConfig(executor="ray"), progress=False)
    with pytest.raises(ValueError, match="open_sandbox"):  # the local pool never silently ignores the setting
        Sandbox(1, SandboxConfig(executor="ray"))


def test_an_unreachable_or_malformed_address_is_one_clear_error_within_seconds():
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'mabench[ray]'")
    if ray.is_initialized():
        pytest.skip("another test module left Ray running in this process")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RayUnavailable, match=f"127.0.0.1:{port}.*no Ray cluster answers"):
        connect(f"127.0.0.1:{port}")
    with pytest.raises(RayUnavailable, match="expected HOST:PORT"):
        connect("not-an-address")
    assert not ray.is_initialized()


def test_a_coding_run_with_an_unreachable_ray_address_exits_2_in_one_line(tmp_path: Path):
    pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'mabench[ray]'")
    from typer.testing import CliRunner

    from mabench.cli import app

    source = tmp_path / "generations.jsonl"
    source.write_text(json.dumps({"task": "humaneval", "question_id": "HumanEval/0", "mode": "bok", "k": 1,
                                  "generations": ["<code>pass</code><confidence>0.9</confidence>"]}) + "\n")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = CliRunner().invoke(app, ["run", "--model", f"replay:{source}", "--tasks", "humaneval", "--mode", "bok",
                                      "--k", "1", "--limit", "1", "--out", str(tmp_path / "runs"),
                                      "--sandbox-executor", "ray", "--ray-address", f"127.0.0.1:{port}"])
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"127.0.0.1:{port}" in message and "no Ray cluster answers" in message and "Traceback" not in message


def test_the_executor_is_not_part_of_the_run_id():
    # It moves the same sandbox elsewhere and never changes a verdict (test_ray_executor checks that), so a run
    # started locally resumes on a cluster, and the two share one run directory.
    local = RunConfig(tasks=["mbpp"], sandbox_executor="local")
    on_ray = RunConfig(tasks=["mbpp"], sandbox_executor="ray")
    assert on_ray.sandbox_executor == "ray"
    assert on_ray.model_dump(mode="json") == local.model_dump(mode="json")
    assert "sandbox_executor" not in on_ray.model_dump_json()
