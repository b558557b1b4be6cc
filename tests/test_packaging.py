"""The package installs as a wheel, with the top-level folders mapped as mabench subpackages."""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("mabench.tasks", "mabench.metrics", "mabench.sandbox", "mabench.leaderboards", "mabench.backends",
               "mabench.train", "mabench.cli")


def test_wheel_installs_and_imports_every_subpackage_with_task_entry_points(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("mabench-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    probe = (
        "import importlib, mabench, json; from mabench.tasks import available_tasks, load_task;"
        f"mods = [importlib.import_module(m).__file__ for m in {SUBPACKAGES!r}];"
        "print(json.dumps({'root': mabench.__file__, 'mods': mods, 'tasks': sorted(available_tasks()),"
        "'n': len(load_task('ambigqa').load())}))"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    import json

    info = json.loads(out.stdout)
    site = str(env_dir)
    assert info["root"].startswith(site), "the wheel's copy, not the source tree, must be imported"
    assert all(m.startswith(site) for m in info["mods"])
    assert "ambigqa" in info["tasks"] and info["n"] >= 30  # entry points and package data are in the wheel


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- test-command -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.DOTALL)
    assert match, "README.md must mark its test command with <!-- test-command -->"
    command = match.group(1).strip()
    assert command in (ROOT / ".ci" / "run").read_text().splitlines()
