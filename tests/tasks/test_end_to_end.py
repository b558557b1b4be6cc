"""Every task runs end to end, in both modes, with the tiny config-built model (before entry points exist:
the task objects are handed to the runner directly)."""

from __future__ import annotations

import json
import os

import pytest

from mabench.backends import load_backend
from mabench.config import RunConfig
from mabench.runner import run
from mabench.tasks.ambigqa import AmbigQA
from mabench.tasks.ddxplus import DDXPlus
from mabench.tasks.humaneval import HumanEval
from mabench.tasks.mbpp import MBPP, MBPPSanitized
from mabench.tasks.medqa import MedQA

TASKS = {"ambigqa": AmbigQA, "ddxplus": DDXPlus, "medqa": MedQA, "mbpp": MBPP, "mbpp-sanitized": MBPPSanitized,
         "humaneval": HumanEval}


@pytest.fixture(autouse=True)
def _quiet_tokenizers():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def test_every_task_runs_in_both_modes_and_keeps_what_metrics_need(tiny_model, tmp_path):
    config = RunConfig(model=str(tiny_model), tasks=list(TASKS), limit=4, k=2, max_new_tokens=16, batch_size=4)
    result = run(config, tmp_path, load_backend, tasks={name: cls() for name, cls in TASKS.items()})
    records = [json.loads(line) for line in (result.run_dir / "samples.jsonl").read_text().splitlines()]
    assert sorted({(r["task"], r["mode"]) for r in records}) == sorted((t, m) for t in TASKS for m in ("multi", "bok"))
    assert len(records) == len(TASKS) * 2 * 4 and result.generated == len(records)
    for r in records:
        assert len(r["generations"]) == (1 if r["mode"] == "multi" else 2)
        assert len(r["judgements"]) == len(r["answer_set"]["candidates"])
    by_task = {t: [r for r in records if r["task"] == t] for t in TASKS}
    evidence = {t: [r["evidence"] for r in rs] for t, rs in by_task.items()}
    assert all(e["annotations"] and r["gold"] for e, r in zip(evidence["ambigqa"], by_task["ambigqa"], strict=True))
    assert all(e["differential"] and e["true_pathology"] == r["gold"][0]
               for e, r in zip(evidence["ddxplus"], by_task["ddxplus"], strict=True))
    assert all(e["answer_idx"] == r["gold"][0][0] for e, r in zip(evidence["medqa"], by_task["medqa"], strict=True))
    for code_task in ("mbpp", "mbpp-sanitized", "humaneval"):
        for e, r in zip(evidence[code_task], by_task[code_task], strict=True):
            assert r["gold"] == [] and "assert" in e["tests"]
            assert [x["rank"] for x in e["executions"]] == [c["rank"] for c in r["answer_set"]["candidates"]]
    assert set(result.metrics) == set(TASKS) and all(set(m) == {"multi", "bok"} for m in result.metrics.values())
