"""A synthetic bundled sample is named wherever its task is listed or reported (`mabench tasks`, the run
summary, the manifest), and `mabench tasks` stays readable at 80 columns with every Hub id whole."""

from __future__ import annotations

import json
import os
import re

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mabench.cli import app
from mabench.summary import summary_table
from mabench.tasks import available_tasks


def says_synthetic(text: str, task: str) -> bool:
    """Whether a line that names the task also says "synthetic"."""
    return any(task in line and "synthetic" in line.lower() for line in text.splitlines())


def blocks(output: str) -> dict[str, str]:
    """Task name -> its block of the listing."""
    return {block.split()[0]: block for block in output.strip().split("\n\n")}


def test_task_listing_fits_80_columns_and_prints_every_hub_id_whole():
    result = CliRunner().invoke(app, ["tasks"], env={"COLUMNS": "80"}, catch_exceptions=False)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert all(len(line) <= 80 or len(line.split()) == 1 for line in lines), max(lines, key=len)
    listed = blocks(result.output)
    assert sorted(listed) == sorted(available_tasks())
    for name, entry in available_tasks().items():
        spec = entry.load().spec
        for hub in spec.hub_ids:  # an id cut with "..." or split over two lines is useless to --data-path
            tokens = re.split(r"[\s,]+", listed[name])
            assert f"{name}=hf:{hub}" in tokens, (name, hub)
        header = listed[name].splitlines()[0]
        assert ("SYNTHETIC" in header) == spec.synthetic_sample


def test_summary_marks_synthetic_columns_and_says_why():
    metrics = {t: {m: {"hit_at_k": {"value": 0.5, "n": 4, "unit": "fraction"}} for m in ("multi", "bok")}
               for t in ("ambigqa", "ddxplus")}

    def render(**kwargs) -> str:
        console = Console(width=200, record=True)
        console.print(summary_table(metrics, title="t", **kwargs))
        return console.export_text()

    marked = render(synthetic=["ddxplus"])
    assert says_synthetic(marked, "ddxplus") and not says_synthetic(marked, "ambigqa")
    assert "synthetic" not in render().lower()


@pytest.fixture(autouse=True)
def _quiet_tokenizers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.mark.parametrize(("task", "synthetic"), [("ddxplus", True), ("medqa", False)])
def test_a_run_on_the_synthetic_sample_says_so_on_the_summary_and_in_the_manifest(tiny_model, tmp_path, task,
                                                                                  synthetic):
    result = CliRunner().invoke(app, ["run", "--model", str(tiny_model), "--tasks", task, "--limit", "2", "--k", "2",
                                      "--max-new-tokens", "8", "--out", str(tmp_path)],
                                env={"COLUMNS": "200"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["synthetic_data"] == ([task] if synthetic else [])
    assert says_synthetic(result.output, task) == synthetic
