"""Guest code (what runs inside the sandbox) lives in ``sandbox/inside/``, and only there; host code lives beside it.

The worker is started as ``python -I -c <bootstrap> <config>``: the bootstrap carries the guest modules as source
text, since the sandbox cannot see the package. These tests read what the host really ships, so a module moved
back out of ``inside/`` (or a new guest module left outside it) fails here, and a guest module that imports
anything but the standard library would fail inside the sandbox.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import mabench.sandbox
from mabench.sandbox import layout

SANDBOX = Path(mabench.sandbox.__file__).parent
INSIDE = SANDBOX / "inside"


def _shipped_files() -> set[Path]:
    """Every source file of the sandbox package whose text the worker's command line carries."""
    argv = layout.worker_argv(sys.executable, layout.worker_config("plain", uid=0, gid=0))
    bootstrap = argv[3]
    return {path for path in SANDBOX.rglob("*.py") if repr(path.read_text()) in bootstrap}


def test_every_file_shipped_into_the_sandbox_lives_in_inside_and_every_guest_module_is_shipped() -> None:
    shipped = _shipped_files()
    assert shipped, "the worker's command line carries no module of the sandbox package"
    assert {p for p in shipped if p.parent != INSIDE} == set()
    assert shipped == {p for p in INSIDE.glob("*.py") if p.name != "__init__.py"}


def test_no_module_of_the_sandbox_package_means_host_or_guest_by_a_leading_underscore() -> None:
    assert [p.name for p in SANDBOX.rglob("_*.py") if p.name != "__init__.py"] == []


def test_guest_modules_import_only_the_standard_library_and_each_other() -> None:
    guests = {p.stem for p in INSIDE.glob("*.py")} - {"__init__"}
    for path in sorted(INSIDE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):  # relative: only a sibling guest module
                assert node.level == 1, f"{path.name}: relative import above inside/"
                targets = [node.module] if node.module else [alias.name for alias in node.names]
                assert set(targets) <= guests, f"{path.name} imports {targets} from the host package"
                continue
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                bootstrap_name = top.startswith("_mabench_") and top.removeprefix("_mabench_") in guests
                assert top in sys.stdlib_module_names or bootstrap_name, f"{path.name} imports {name}"
