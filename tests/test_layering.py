"""The one-way flow task -> backend -> parser -> judge -> records -> metrics -> leaderboards holds in the imports:
tasks never import backends (a judge model comes in as `mabench.types.JudgeModel`), backends never import tasks
(replay is handed a `mabench.types.PromptSource`), and the core types import nothing of mabench."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (function-level imports count), as absolute dotted names."""
    parts = path.relative_to(ROOT).parts
    mapped = {"tasks", "metrics", "leaderboards", "sandbox"}  # mapped subpackages of mabench (pyproject.toml)
    package = ".".join(("mabench", *parts[:-1]) if parts[0] in mapped else parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module or ""]).strip(".")
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def _files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _files("tasks"), ids=lambda p: str(p.relative_to(ROOT)))
def test_tasks_never_import_backends(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith("mabench.backends")}


@pytest.mark.parametrize("path", _files("mabench/backends"), ids=lambda p: str(p.relative_to(ROOT)))
def test_backends_never_import_tasks(path: Path) -> None:
    assert not {m for m in _imports(path) if m.startswith(("mabench.tasks", "tasks"))}


def test_the_core_types_import_nothing_of_mabench_and_hold_sampling_config() -> None:
    from mabench.backends.base import SamplingConfig
    from mabench.types import SamplingConfig as Core

    assert SamplingConfig is Core and Core.__module__ == "mabench.types"
    assert not {m for m in _imports(ROOT / "mabench" / "types.py") if m.startswith("mabench")}
