"""The package installs as a wheel, with the top-level folders mapped as mabench subpackages."""

from __future__ import annotations

import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUBPACKAGES = ("mabench.tasks", "mabench.metrics", "mabench.sandbox", "mabench.sandbox.inside", "mabench.leaderboards",
               "mabench.backends", "mabench.train", "mabench.cli")


def test_wheel_installs_and_imports_every_subpackage_with_task_entry_points(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("mabench-*.whl")
    env_dir = tmp_path / "venv"
    # The probe venv must see the dependencies of *this* interpreter, which may itself be a virtualenv (as for a
    # user running the tests in one): system_site_packages would expose the base interpreter's instead. A plain
    # path entry (not site.addsitedir) keeps this environment's editable mabench install out of the probe.
    venv.create(env_dir, system_site_packages=False, with_pip=False)
    python = env_dir / "bin" / "python"
    probe_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                check=True, capture_output=True, text=True).stdout.strip()
    paths = sysconfig.get_paths()
    ours = dict.fromkeys([*site.getsitepackages(), paths["purelib"], paths["platlib"]])
    Path(probe_site, "_mabench_test_deps.pth").write_text("".join(f"{path}\n" for path in ours))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True)
    probe = (
        "import importlib, mabench, json; from mabench.tasks import available_tasks, load_task;"
        f"mods = [importlib.import_module(m).__file__ for m in {SUBPACKAGES!r}];"
        # the guest code (sandbox/inside/) is read as source text when a worker starts: it must be in the wheel
        "from mabench.sandbox.layout import worker_argv; worker_argv('python', '{}');"
        "print(json.dumps({'root': mabench.__file__, 'mods': mods, 'tasks': sorted(available_tasks()),"
        "'n': len(load_task('ambigqa').load())}))"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    import json

    info = json.loads(out.stdout)
    wheel_site = str(env_dir)
    assert info["root"].startswith(wheel_site), "the wheel's copy, not the source tree, must be imported"
    assert all(m.startswith(wheel_site) for m in info["mods"])
    assert "ambigqa" in info["tasks"] and info["n"] >= 30  # entry points and package data are in the wheel

