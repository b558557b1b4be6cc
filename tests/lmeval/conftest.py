"""lm-eval runs offline here: local task YAMLs over small JSON files, the tiny model, no Hub."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")


@pytest.fixture
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for lm-eval (in this process and in subprocesses): no network, caches under tmp_path."""
    values = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
              "HF_DATASETS_CACHE": str(tmp_path / "datasets-cache"), "TOKENIZERS_PARALLELISM": "false",
              "MABENCH_CACHE_DIR": str(tmp_path / "mabench-cache")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **values}


def write_mc_task(folder: Path, name: str = "tiny_mc") -> Path:
    """A multiple-choice lm-eval task (sums, three choices) over a JSONL file; returns the YAML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"What is {a} plus {b}?", "choices": [str(a + b), str(a + b + 1), str(a * b + 3)],
             "label": 0} for a, b in [(1, 2), (2, 2), (3, 4), (5, 1), (6, 3), (2, 7)]]
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    yaml = folder / f"{name}.yaml"
    yaml.write_text(
        f"task: {name}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data))}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "Question: {{question}}\\nAnswer:"\ndoc_to_choice: choices\ndoc_to_target: label\n'
        "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
        "metadata:\n  version: 1\n")
    return yaml
