"""The run directory's store: an append-only log that survives a kill mid-write, one writer at a time, a reader
that never changes what it reads, atomic JSON files and a history of invocations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from mabench.store import Invocation, RunReader, RunStore, RunStoreError
from mabench.types import AnswerSet, SampleRecord, Usage


def record(qid: str) -> SampleRecord:
    return SampleRecord(question_id=qid, task="t", mode="multi", gold=[["x"]], generations=[],
                        answer_set=AnswerSet(candidates=[], format_ok=False), judgements=[],
                        usage=Usage(prompt_tokens=1, completion_tokens=2))


def invocation(pid: int = 1) -> Invocation:
    return Invocation(mabench="0", git_sha=None, host="h", pid=pid, argv=["mabench", "run"], start="t0")


def test_records_round_trip(tmp_path):
    with RunStore(tmp_path) as store:
        store.append([record("a"), record("b")])
        store.append([record("c")])
    assert [r.question_id for r in RunReader(tmp_path).records()] == ["a", "b", "c"]


def test_a_truncated_last_line_is_skipped_by_the_reader_and_cut_only_by_the_writers_repair(tmp_path):
    with RunStore(tmp_path) as store:
        store.append([record("a"), record("b")])
    whole = (tmp_path / "samples.jsonl").read_bytes()
    torn = whole + record("c").model_dump_json().encode()[:25]
    (tmp_path / "samples.jsonl").write_bytes(torn)
    assert [r.question_id for r in RunReader(tmp_path).records()] == ["a", "b"]
    assert (tmp_path / "samples.jsonl").read_bytes() == torn  # reading changes nothing
    with RunStore(tmp_path) as store:
        store.repair()
        assert store.samples.read_bytes() == whole
        store.append([record("c")])
    assert [r.question_id for r in RunReader(tmp_path).records()] == ["a", "b", "c"]


def test_corruption_before_the_last_line_is_an_error_naming_the_line(tmp_path):
    with RunStore(tmp_path) as store:
        store.append([record("a")])
    samples = tmp_path / "samples.jsonl"
    samples.write_bytes(b"{garbage\n" + samples.read_bytes() + record("b").model_dump_json().encode() + b"\n")
    with pytest.raises(RunStoreError, match=r"samples.jsonl:1: corrupt"):
        RunReader(tmp_path).records()


@pytest.mark.parametrize("content", [b'{"run_id": "x", "sta', b"\xff\xfe{}", b"[1, 2]"])
@pytest.mark.parametrize("name", ["manifest.json", "metrics.json"])
def test_an_unreadable_json_file_is_an_error_naming_it_and_what_to_do(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    reader = RunReader(tmp_path)
    with pytest.raises(RunStoreError) as caught:
        reader.read_manifest() if name == "manifest.json" else reader.read_metrics()
    assert str(tmp_path / name) in str(caught.value) and "rerun the `mabench run` command" in str(caught.value)


def test_a_second_writer_on_the_same_directory_is_refused_naming_the_holder(tmp_path):
    with RunStore(tmp_path) as first:
        first.append([record("a")])
        with pytest.raises(RunStoreError) as caught:
            RunStore(tmp_path).append([record("b")])  # same process, another writer: refused too
        assert f"{tmp_path}: another mabench process" in str(caught.value)
        assert f"pid {os.getpid()}" in str(caught.value)
    with RunStore(tmp_path) as second:  # released on exit
        second.append([record("b")])
    assert [r.question_id for r in RunReader(tmp_path).records()] == ["a", "b"]


def test_a_writer_in_another_process_is_refused_and_the_lock_dies_with_its_holder(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from mabench.store import RunStore; s = RunStore(sys.argv[1]); "
         "s.__enter__(); print('locked', flush=True); time.sleep(60)", str(tmp_path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunStoreError, match=f"pid {holder.pid} on host"):
            RunStore(tmp_path).reset()  # --fresh must not delete a run another process holds
    finally:
        holder.kill()
        holder.wait()
    with RunStore(tmp_path) as store:  # a SIGKILLed holder leaves no stale lock
        store.append([record("a")])


def test_json_files_are_replaced_atomically_through_temporary_files_of_this_process(tmp_path):
    """A thread reading the manifest while it is rewritten only ever sees whole files; no temporary file is
    left behind."""
    store = RunStore(tmp_path)
    store.write_manifest({"n": 0})
    stop, seen, errors = threading.Event(), set(), []

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(RunReader(tmp_path).read_manifest()["n"])  # type: ignore[index]
            except RunStoreError as err:
                errors.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    for n in range(1, 200):
        store.write_manifest({"n": n, "pad": "x" * 20_000})
    stop.set()
    reader.join()
    store.close()
    assert errors == [] and len(seen) > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", "manifest.json"]


def test_the_manifest_keeps_every_invocation_and_marks_a_killed_one_interrupted(tmp_path):
    with RunStore(tmp_path, invocation(1)) as store:
        store.write_manifest({"status": "running"})
        # killed here: its entry stays "running" on disk; simulate by not closing the entry
        store._invocation = None
    with RunStore(tmp_path, invocation(2)) as store:
        store.write_manifest({"status": "complete"})
    with pytest.raises(RuntimeError), RunStore(tmp_path, invocation(3)):
        raise RuntimeError("boom")
    with pytest.raises(KeyboardInterrupt), RunStore(tmp_path, invocation(4)):
        raise KeyboardInterrupt
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    history = [(e["pid"], e["exit"], e["error"]) for e in manifest["invocations"]]
    assert history == [(1, "interrupted", None), (2, "complete", None), (3, "failed", "RuntimeError"),
                       (4, "interrupted", "KeyboardInterrupt")]
    assert manifest["status"] == "complete" and all(e["end"] for e in manifest["invocations"][1:])


def test_fresh_clears_the_run_but_keeps_the_lock_and_the_history(tmp_path):
    with RunStore(tmp_path, invocation(1)) as store:
        store.append([record("a")])
        store.write_manifest({"status": "complete"})
        store.write_metrics({"t": {}})
    with RunStore(tmp_path, invocation(2)) as store:
        store.reset()
        assert sorted(p.name for p in tmp_path.iterdir()) == [".lock"]
        store.write_manifest({"status": "running"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [(e["pid"], e["fresh"]) for e in manifest["invocations"]] == [(1, False), (2, True)]
    assert RunReader(tmp_path).records() == []


def test_a_writer_that_wrote_nothing_leaves_nothing_behind(tmp_path):
    run_dir = tmp_path / "run"
    with RunStore(run_dir) as store:
        store.repair()
    assert not run_dir.exists()
