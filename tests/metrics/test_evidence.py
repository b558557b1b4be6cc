"""What a judge found reaches its metrics as typed evidence: it round-trips through samples.jsonl, records written
before it was typed (string keys in `extra`) still load into it and score the same, and the metrics step computes
a task-specific metric only for the tasks whose spec declares it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mabench.metrics import DEFAULT_METRICS, compute_metrics, metric_by_name, run_metrics
from mabench.store import RunReader, RunStore
from mabench.types import (
    AmbigQAEvidence,
    ChoiceEvidence,
    ConditionMapping,
    DiagnosisEvidence,
    Execution,
    ExecutionEvidence,
    SampleRecord,
)

from .records import NO_EMBEDDING, make_record

AMBIGQA = AmbigQAEvidence(annotations=[[["Paris"]], [["Paris", "paris, france"], ["Lyon"]]], covered=[0])
DDX = DiagnosisEvidence(true_pathology="URTI", differential=[("URTI", 0.7), ("Bronchitis", 0.3)],
                        mapping=[ConditionMapping(rank=1, condition="URTI", tier="synonym"),
                                 ConditionMapping(rank=2, condition=None, tier="none", score=41.5)])
CODE = ExecutionEvidence(tests="assert f() == 1", task_id=11, executions=[
    Execution(rank=1, status="passed", passed=True, duration_s=0.0123),
    Execution(rank=2, status="exited_early", passed=False, detail="the program exited before its tests ended")])
CHOICE = ChoiceEvidence(answer_idx="C", chosen=["C", None], set_size=1, n_options=4)

# As the judges wrote them before evidence was typed (string keys in `extra`).
LEGACY = {
    "ambigqa": {"annotations": [[["Paris"]], [["Paris", "paris, france"], ["Lyon"]]], "covered": [0]},
    "ddxplus": {"true_pathology": "URTI", "differential": [["URTI", 0.7], ["Bronchitis", 0.3]],
                "mapping": [{"rank": 1, "condition": "URTI", "tier": "synonym", "score": None},
                            {"rank": 2, "condition": None, "tier": "none", "score": 41.5}]},
    "mbpp": {"task_id": 11, "tests": "assert f() == 1", "executions": [
        {"rank": 1, "status": "passed", "passed": True, "duration_s": 0.0123, "detail": "", "stderr": ""},
        {"rank": 2, "status": "exited_early", "passed": False, "duration_s": 0.0,
         "detail": "the program exited before its tests ended", "stderr": ""}]},
    "medqa": {"answer_idx": "C", "chosen": ["C", None], "set_size": 1, "n_options": 4},
}
TYPED = {"ambigqa": AMBIGQA, "ddxplus": DDX, "mbpp": CODE, "medqa": CHOICE}


def _record(task: str, qid: str = "q1", **fields: object) -> SampleRecord:
    record = make_record(qid, ["Paris", "Lyon"], [True, False], [0.6, 0.3], task=task)
    return record.model_copy(update=fields)


def _legacy_line(task: str, qid: str = "q1", extra: dict | None = None) -> str:
    """A samples.jsonl line as older versions wrote it: no `evidence` field, the evidence in `extra`."""
    value = json.loads(_record(task, qid).model_dump_json())
    value.pop("evidence", None)
    value["extra"] = LEGACY[task] if extra is None else extra
    return json.dumps(value)


def test_evidence_round_trips_through_samples_jsonl(tmp_path: Path) -> None:
    records = [_record(task, evidence=evidence) for task, evidence in TYPED.items()]
    with RunStore(tmp_path / "run") as store:
        store.append(records)
    read = RunReader(tmp_path / "run").records()
    assert read == records and [type(r.evidence) for r in read] == [type(e) for e in TYPED.values()]


@pytest.mark.parametrize("task", sorted(LEGACY))
def test_records_written_before_evidence_was_typed_load_into_it(tmp_path: Path, task: str) -> None:
    (tmp_path / "samples.jsonl").write_text(_legacy_line(task) + "\n")
    (record,) = RunReader(tmp_path).records()
    assert record.evidence == TYPED[task] and record.extra == {}


def test_unknown_extra_keys_stay_untyped_beside_the_evidence() -> None:
    record = SampleRecord.model_validate_json(_legacy_line("ambigqa", extra={**LEGACY["ambigqa"], "note": 1}))
    assert record.evidence == AMBIGQA and record.extra == {"note": 1}
    plain = SampleRecord.model_validate_json(_legacy_line("ambigqa", extra={"note": 1}))
    assert plain.evidence is None and plain.extra == {"note": 1}


def test_a_sandbox_failure_record_of_an_older_version_loads() -> None:
    # the judge kept only the executions when the sandbox failed
    failed = {"executions": [{"rank": 1, "status": "sandbox_error", "passed": False, "duration_s": 0.0,
                              "detail": "worker died", "stderr": ""}]}
    record = SampleRecord.model_validate_json(_legacy_line("mbpp", extra=failed))
    assert isinstance(record.evidence, ExecutionEvidence) and record.evidence.executions[0].status == "sandbox_error"


def test_old_and_typed_records_give_identical_metrics() -> None:
    for task in ("ambigqa", "ddxplus"):
        old = [SampleRecord.model_validate_json(_legacy_line(task, qid)) for qid in ("q1", "q2")]
        new = [_record(task, qid, evidence=TYPED[task]) for qid in ("q1", "q2")]
        assert compute_metrics(old, NO_EMBEDDING, n_resamples=50) == compute_metrics(new, NO_EMBEDDING, n_resamples=50)
    scores = compute_metrics([_record("ambigqa", evidence=AMBIGQA)], [metric_by_name("ambigqa_f1")], n_resamples=0)
    assert scores["ambigqa_f1"]["value"] == 1.0  # Paris and Lyon cover the second annotation exactly
    wanted = [metric_by_name("ddx_gtpa_at_1"), metric_by_name("ddx_ddf1")]
    ddx = compute_metrics([_record("ddxplus", evidence=DDX)], wanted, n_resamples=0)
    assert ddx["ddx_gtpa_at_1"]["value"] == 0.0  # the candidates name Paris and Lyon, not URTI


def test_a_task_specific_metric_is_computed_only_for_the_tasks_that_declare_it() -> None:
    # Both tasks' records carry AmbigQA evidence; only "ambigqa" declares the AmbigQA metrics.
    records = [_record(task, evidence=AMBIGQA) for task in ("ambigqa", "other")]
    declared = {"ambigqa": ("ambigqa_f1", "ambigqa_f1_multi"), "other": ()}
    out = run_metrics(records, NO_EMBEDDING, task_metrics=declared)
    assert out["ambigqa"]["multi"]["ambigqa_f1"]["value"] == 1.0
    skipped = out["other"]["multi"]["ambigqa_f1"]
    assert skipped["value"] is None and "AmbigQA" in skipped["skipped"]
    # in the metric's own words, exactly as on records without its evidence (recorded results stay the same)
    bare = run_metrics([_record("other")], NO_EMBEDDING)["other"]["multi"]
    assert skipped == bare["ambigqa_f1"]
    assert list(out["other"]["multi"]) == [*(fn.spec.name for fn in NO_EMBEDDING), "errors"]
    # without declarations every metric applies to every task, as before
    assert run_metrics(records, NO_EMBEDDING)["other"]["multi"]["ambigqa_f1"]["value"] == 1.0


def test_every_metric_a_task_declares_is_reported_for_other_tasks_as_before() -> None:
    # A task's records without that metric's evidence gave this very entry before tasks declared their metrics.
    from mabench.metrics.run_metrics import not_applicable
    from mabench.tasks import available_tasks, load_task

    declared = {name for task in available_tasks() for name in load_task(task).spec.metrics}
    others = [_record("other", qid, evidence=evidence) for qid, evidence in (("q1", None), ("q2", CHOICE))]
    checked = 0
    for fn in DEFAULT_METRICS:
        if fn.spec.name in declared:
            entry = not_applicable(fn)
            assert entry["skipped"] and entry == compute_metrics(others, [fn], n_resamples=0)[fn.spec.name]
            checked += 1
    assert checked == len(declared)
