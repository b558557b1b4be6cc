"""The run directory's append-only log survives a kill in the middle of a write."""

from __future__ import annotations

import pytest

from mabench.store import RunStore, RunStoreError
from mabench.types import AnswerSet, SampleRecord, Usage


def record(qid: str) -> SampleRecord:
    return SampleRecord(question_id=qid, task="t", mode="multi", gold=[["x"]], generations=[],
                        answer_set=AnswerSet(candidates=[], format_ok=False), judgements=[],
                        usage=Usage(prompt_tokens=1, completion_tokens=2))


def test_records_round_trip(tmp_path):
    store = RunStore(tmp_path)
    store.append([record("a"), record("b")])
    store.append([record("c")])
    assert [r.question_id for r in store.load_records()] == ["a", "b", "c"]


def test_a_truncated_last_line_is_dropped_and_cut_from_the_file(tmp_path):
    store = RunStore(tmp_path)
    store.append([record("a"), record("b")])
    whole = store.samples.read_bytes()
    store.samples.write_bytes(whole + record("c").model_dump_json().encode()[:25])
    assert [r.question_id for r in store.load_records()] == ["a", "b"]
    assert store.samples.read_bytes() == whole
    store.append([record("c")])
    assert [r.question_id for r in store.load_records()] == ["a", "b", "c"]


def test_corruption_before_the_last_line_is_an_error_naming_the_line(tmp_path):
    store = RunStore(tmp_path)
    store.append([record("a")])
    store.samples.write_bytes(b"{garbage\n" + store.samples.read_bytes() + record("b").model_dump_json().encode()
                              + b"\n")
    with pytest.raises(RunStoreError, match=r"samples.jsonl:1: corrupt"):
        store.load_records()
