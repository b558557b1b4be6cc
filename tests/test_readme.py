"""README's commands are the ones CI runs, and its option table covers every `mabench run` option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from mabench.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CI = (ROOT / ".ci" / "run").read_text().splitlines()


def marked_command(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```(?:bash|sh)?\n(.+?)\n```", README, re.DOTALL)
    assert match, f"README.md must mark a command with <!-- {marker} -->"
    return match.group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    assert marked_command("test-command") in [line.strip() for line in CI]


def test_ci_runs_the_readme_quickstart_as_written_with_at_most_a_shorter_limit():
    quickstart = marked_command("quickstart")
    runs = [line.strip() for line in CI if line.strip().startswith(quickstart)]
    assert runs, ".ci/run must run README's quickstart command as written"
    assert all(re.fullmatch(r"( --limit \d+)?", line[len(quickstart):]) for line in runs)


def test_readme_commands_install_with_the_constraints_file():
    for marker in ("quickstart", "test-command"):
        installs = [part for part in marked_command(marker).split("&&") if "pip install" in part]
        assert installs and all("-c constraints.txt" in part for part in installs), marker
    assert (ROOT / "constraints.txt").is_file()


def test_the_option_table_names_every_run_option():
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    options = {opt for param in command.params for opt in param.opts if opt.startswith("--") and opt != "--help"}
    section = README[README.index("## Running"):README.index("### Run directories")]
    missing = sorted(opt for opt in options if f"`{opt}" not in section)
    assert not missing, f"README's option table leaves out {missing}"


def test_constraints_pin_every_declared_dependency_within_its_range():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            pins[canonicalize_name(name)] = pinned.strip()
    extras = project["optional-dependencies"]
    declared = [*project["dependencies"], *(r for name, reqs in extras.items() if name not in ("vllm", "embeddings")
                                            for r in reqs)]
    for requirement in map(Requirement, declared):
        name = canonicalize_name(requirement.name)
        if name == "torch":  # pinned by README's commands, not by the file (GPU machines choose their build)
            continue
        assert name in pins, f"constraints.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {requirement}"
