"""One run directory, one writer; reading a run never changes it; unreadable JSON files exit 2.

The attacks use real processes: a `mabench run` of the tiny model frozen (SIGSTOP) part-way while it holds its
run directory, and the readers run in a process that cannot write to the run they read.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.cli import app
from tests.leaderboards.runs import write_run

# 200 records: more than one backend call's worth (HF takes up to 128 questions a call), so a run can be caught
# between calls.
TINY = ["--k", "2", "--max-new-tokens", "16", "--batch-size", "1", "--seed", "11", "--limit", "100"]
REPLAY = ["--k", "3", "--max-new-tokens", "16", "--seed", "0", "--limit", "30"]


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


def flat(text: str) -> str:
    return " ".join(text.split())


def records(run_dir: Path) -> list[tuple[str, str]]:
    lines = (run_dir / "samples.jsonl").read_text().splitlines()
    return [(r["mode"], r["question_id"]) for r in map(json.loads, lines)]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_run_on_a_directory_being_written_exits_2_and_fresh_deletes_nothing(tiny_model, tmp_path):
    """Two `mabench run` with the same arguments used to write every missing record twice (240 records for
    120 question x mode pairs); the second now exits 2 naming the directory and the holder."""
    out = tmp_path / "runs"
    args = ["run", "--model", str(tiny_model), *TINY, "--out", str(out)]
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    first = subprocess.Popen([sys.executable, "-m", "mabench", *args], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, env=env)
    try:
        samples = _wait_for_lines(out, first, 1)
        first.send_signal(signal.SIGSTOP)  # frozen while it holds the run directory, mid-run
        run_dir = samples.parent
        before = samples.read_bytes()
        assert before.count(b"\n") < 200, "the first run must still be running"

        for extra in ([], ["--fresh"]):
            second = invoke(*args, *extra)
            assert second.exit_code == 2, second.output
            message = flat(second.output)
            assert f"{run_dir}: another mabench process is writing this run directory" in message
            assert f"pid {first.pid} on host" in message
            assert samples.read_bytes() == before  # neither appended to nor deleted
    except BaseException:
        first.kill()
        raise
    finally:
        first.send_signal(signal.SIGCONT)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-2000:]
    keys = records(run_dir)
    assert len(keys) == len(set(keys)) == 200
    history = json.loads((run_dir / "manifest.json").read_text())["invocations"]
    assert [(e["pid"], e["exit"]) for e in history] == [(first.pid, "complete")]


def _wait_for_lines(out: Path, proc: subprocess.Popen, n: int) -> Path:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(out.glob("*/samples.jsonl"))
        if found and found[0].read_bytes().count(b"\n") >= n:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"the run wrote no {n} records (exit {proc.poll()})")


# Reading a run must work where the reader cannot write, and change nothing where it could.
READERS = """
import json, sys
from typer.testing import CliRunner
from mabench.cli import app
run, out = sys.argv[1], sys.argv[2]
commands = {
    "replay": ["run", "--model", "replay:" + run, "--out", out + "/replayed", *sys.argv[3:]],
    "leaderboard": ["leaderboard", run, "--include-running"],
    "compare": ["compare", run, "--include-running"],
    "check": ["check", run, "--baseline", run, "--include-running"],
    "report": ["report", run, "-o", out + "/report.html", "--include-running"],
}
results = {name: CliRunner().invoke(app, argv) for name, argv in commands.items()}
print(json.dumps({name: [r.exit_code, r.output[-1500:], repr(r.exception)] for name, r in results.items()}))
"""


def _without_root_overrides() -> None:
    """In the child, before exec: drop root's power to write files it has no write permission for
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER leave the bounding set), so that chmod binds root too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2, 3):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_reading_a_run_being_written_changes_nothing_even_where_it_could_not(tmp_path):
    """A run caught mid-write (status running, a partial last line): replay, leaderboard, compare, check and
    report read it from a process without write access, and its bytes stay as they were. Replay used to cut
    the partial line off the run it read."""
    run_dir = write_run(tmp_path / "runs", "ckpt-1", lambda i: i % 3 == 0, status="running")
    (run_dir / "metrics.json").unlink()  # a run in progress has none yet
    with (run_dir / "samples.jsonl").open("ab") as f:
        f.write(b'{"question_id": "cut-sh')
    out = tmp_path / "out"
    out.mkdir()
    for path in [*run_dir.rglob("*"), run_dir]:
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    before = snapshot(run_dir)

    as_root = os.geteuid() == 0
    env = {**os.environ, "HOME": str(out), "MPLCONFIGDIR": str(out), "COLUMNS": "400",
           "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        proc = subprocess.run([sys.executable, "-c", READERS, str(run_dir), str(out), *REPLAY], capture_output=True,
                              text=True, env=env, timeout=300,
                              preexec_fn=_without_root_overrides if as_root else None)
        after = snapshot(run_dir)
    finally:
        for path in [run_dir, *run_dir.rglob("*")]:
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o200)  # so that pytest can clean up
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    assert {name: code for name, (code, *_) in results.items()} == dict.fromkeys(results, 0), results
    assert after == before
    assert "still in progress" in flat(results["leaderboard"][1])


@pytest.mark.parametrize("name", ["manifest.json", "metrics.json"])
@pytest.mark.parametrize("content", [b'{"run_id": "abc", "sta', b"\xff\xfe\x00garbage"])
def test_a_torn_or_foreign_json_file_exits_2_naming_it_and_what_to_do(tmp_path, name, content):
    source = write_run(tmp_path / "src", "ckpt-1", lambda i: i % 2 == 0)
    command = ["run", "--model", f"replay:{source}", "--out", tmp_path / "runs", *REPLAY]
    assert invoke(*command).exit_code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    (run_dir / name).write_bytes(content)
    broken = shutil.copytree(source, tmp_path / "broken")
    (broken / name).write_bytes(content)

    readers = {
        "leaderboard": ["leaderboard", run_dir],
        "compare": ["compare", run_dir],
        "check": ["check", run_dir, "--baseline", run_dir],
        "report": ["report", run_dir, "-o", tmp_path / "r.html"],
    }
    if name == "manifest.json":  # replay reads its source's manifest, not its metrics
        readers["replay"] = ["run", "--model", f"replay:{broken}", "--out", tmp_path / "again", *REPLAY]
    for what, argv in readers.items():
        result = invoke(*argv)
        assert result.exit_code == 2, (what, result.output, result.exception)
        assert f"{name}: not valid JSON" in flat(result.output), (what, result.output)
        assert "rerun the `mabench run` command" in flat(result.output), (what, result.output)

    again = invoke(*command)
    if name == "manifest.json":  # the run's own manifest: refused, saying how to start over; --fresh does
        assert again.exit_code == 2 and f"{run_dir / name}: not valid JSON" in flat(again.output), again.output
        assert "--fresh" in flat(again.output)
        again = invoke(*command, "--fresh")
    assert again.exit_code == 0, again.output  # metrics.json is rebuilt from the records
    assert json.loads((run_dir / name).read_text())["ambigqa" if name == "metrics.json" else "status"]


def test_the_manifest_keeps_one_entry_per_invocation_instead_of_the_first_one(tmp_path):
    source = write_run(tmp_path / "src", "ckpt-1", lambda i: i % 2 == 0)
    command = ["run", "--model", f"replay:{source}", "--out", tmp_path / "runs", *REPLAY]
    for extra in ([], [], ["--fresh"]):
        assert invoke(*command, *extra).exit_code == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    history = manifest["invocations"]
    assert [(e["exit"], e["fresh"], e["pid"]) for e in history] == [
        ("complete", False, os.getpid()), ("complete", False, os.getpid()), ("complete", True, os.getpid())]
    assert all(e["host"] and e["argv"] and e["start"] <= e["end"] and "git_sha" in e and "mabench" in e
               for e in history)
    assert manifest["status"] == "complete"
