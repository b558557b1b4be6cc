"""The checkpoints shipped with mabench, and `--model default` running them as the paper's pair."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mabench.backends import bundled
from mabench.cli import app
from mabench.tasks.ambigqa import bundled_ids

NAMES = ("multi-rlcr", "rlcr")


def test_default_stands_for_each_modes_bundled_checkpoint():
    assert bundled.default_pair(["multi", "bok"]) == ("bundled:multi-rlcr", "bundled:rlcr")
    assert bundled.default_pair(["multi"]) == ("bundled:multi-rlcr", None)
    assert bundled.default_pair(["bok"]) == ("bundled:rlcr", None)


@pytest.mark.parametrize("name", NAMES)
def test_each_bundled_checkpoint_is_a_small_adapter_that_lists_its_training_questions(name):
    folder = bundled.FOLDER / name
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 10 * 2**20  # shipped in the wheel
    assert json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"] == "default"
    record = json.loads((folder / "mabench_train.json").read_text())
    trained = set(record["train_questions"]["ids"])
    assert trained and not trained & set(bundled_ids())  # disjoint from the evaluation sample


def test_an_unknown_bundled_checkpoint_exits_2_naming_the_bundled_ones(tmp_path):
    result = CliRunner().invoke(app, ["run", "--model", "bundled:nope", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert all(f"bundled:{name}" in result.output for name in NAMES) and "Traceback" not in result.output
