"""The public API: inputs, statuses, output capture, ordering, and the isolation record."""

from __future__ import annotations

import json
import time

import pytest
from conftest import backend_skip_reason
from typer.testing import CliRunner

from mabench.sandbox import (
    ExecutionResult,
    Program,
    Sandbox,
    SandboxConfig,
    Status,
    describe_isolation,
    run_many,
    run_program,
)
from mabench.sandbox.cli import app

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sandbox(sandbox_for) -> Sandbox:
    return sandbox_for("bwrap")


# ---------------------------------------------------------------- bad input, caught before anything starts
@pytest.mark.parametrize(("call", "error", "names"), [
    (lambda: run_program(b"print(1)"), TypeError, "code"),
    (lambda: run_program("pass", tests=[1, 2]), TypeError, "tests"),
    (lambda: run_program("pass", tests=b"assert 1"), TypeError, "tests"),
    (lambda: run_program("pass", timeout_s=0), ValueError, "timeout_s"),
    (lambda: run_program("pass", timeout_s=float("nan")), ValueError, "timeout_s"),
    (lambda: run_program("pass", timeout_s="3"), ValueError, "timeout_s"),
    (lambda: run_program("pass", memory_mb=8), ValueError, "memory_mb"),
    (lambda: run_program("pass", memory_mb=512.0), ValueError, "memory_mb"),
    (lambda: run_many([{"cod": "pass"}]), TypeError, "items[0]"),
    (lambda: run_many([Program("pass"), {"code": "pass", "timeout_s": -1}]), ValueError, "items[1].timeout_s"),
    (lambda: run_many(["pass"]), TypeError, "items[0]"),
    (lambda: Sandbox(workers=0), ValueError, "workers"),
    (lambda: SandboxConfig(backend="vm"), ValueError, "backend"),
    (lambda: SandboxConfig(uid=0), ValueError, "uid"),
    (lambda: SandboxConfig(python="/nonexistent/python3"), ValueError, "python"),
])
def test_bad_input_is_rejected_with_a_clear_error(call, error, names):
    with pytest.raises(error, match=names.replace("[", r"\[").replace("]", r"\]")):
        call()


# ---------------------------------------------------------------- statuses
def test_passing_program(sandbox):
    result = sandbox.run("def add(a, b):\n    return a + b\n", "assert add(2, 3) == 5", timeout_s=5, memory_mb=256)
    assert result.passed and result.status is Status.PASSED
    assert result.exit_code == 0 and result.signal is None
    assert 0 < result.duration_s < 5


def test_failing_assert_is_failed_with_the_traceback(sandbox):
    result = sandbox.run("def add(a, b):\n    return a - b\n", "assert add(2, 3) == 5")
    assert result.status is Status.FAILED and not result.passed
    assert "AssertionError" in result.stderr and "<tests>" in result.stderr
    assert "_mabench" not in result.stderr  # the traceback starts in the program


def test_mbpp_style_list_of_asserts(sandbox):
    code = "def square(x):\n    return x * x\n"
    assert sandbox.run(code, ["assert square(2) == 4", "assert square(3) == 9"]).passed
    assert sandbox.run(code, ["assert square(2) == 4", "assert square(3) == 10"]).status is Status.FAILED


@pytest.mark.parametrize("code", ["def f(:\n    pass", "raise ValueError('no')", "import no_such_module"])
def test_broken_programs_fail(sandbox, code):
    assert sandbox.run(code, "assert True").status is Status.FAILED


@pytest.mark.parametrize("exit_call", ["import sys; sys.exit(0)", "exit()", "import os; os._exit(0)"])
def test_exiting_before_the_tests_is_not_a_pass(sandbox, exit_call):
    result = sandbox.run(exit_call, "raise AssertionError('tests must not be skipped')")
    assert result.status is Status.EXITED_EARLY and not result.passed


def test_unittest_suites_are_judged_by_their_result_not_by_an_exit(sandbox):
    # unittest.main() ends with sys.exit(): a SystemExit raised past the harness is never a pass,
    # whoever raises it (the program can patch unittest too). Suites assert on their result instead.
    suite = """
import unittest
class T(unittest.TestCase):
    def test_double(self):
        self.assertEqual(double(2), 4)
"""
    by_result = suite + "assert unittest.main(exit=False).result.wasSuccessful()\n"
    assert sandbox.run("def double(x):\n    return 2 * x\n", by_result).status is Status.PASSED
    assert sandbox.run("def double(x):\n    return x\n", by_result).status is Status.FAILED
    by_exit = suite + "unittest.main()\n"
    assert sandbox.run("def double(x):\n    return 2 * x\n", by_exit).status is Status.EXITED_EARLY
    exits = "import sys\ndef double(x):\n    sys.exit(0)\n"
    assert sandbox.run(exits, "assert double(2) == 4").status is Status.EXITED_EARLY


def test_output_is_captured(sandbox):
    result = sandbox.run("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    assert not result.stdout_truncated and not result.stderr_truncated


def test_programs_run_as_an_unprivileged_user(sandbox):
    result = sandbox.run("import os\nprint(os.getresuid(), os.getresgid())")
    assert result.stdout == "(65534, 65534, 65534) (65534, 65534, 65534)\n"


def test_each_program_gets_fresh_randomness(sandbox):
    # Forked children would otherwise replay one random sequence.
    draws = {sandbox.run("import random\nprint(random.random())").stdout for _ in range(3)}
    assert len(draws) == 3


def test_ordinary_program_features_work(sandbox):
    # Functions defined by the program pickle (multiprocessing), subprocesses and threads run.
    code = """
import concurrent.futures, subprocess, threading
def square(x):
    return x * x
with concurrent.futures.ProcessPoolExecutor(2) as pool:
    squares = list(pool.map(square, range(4)))
echo = subprocess.run(["echo", "hi"], capture_output=True, text=True).stdout
worker = threading.Thread(target=print, args=("thread",))
worker.start()
worker.join()
"""
    result = sandbox.run(code, ["assert squares == [0, 1, 4, 9]", "assert echo == 'hi\\n'"], timeout_s=20)
    assert result.status is Status.PASSED, result.stderr
    assert result.stdout == "thread\n"


def test_run_program_without_a_sandbox_starts_and_stops_one():
    result = run_program("print('hi')", "", timeout_s=5, memory_mb=256)
    assert result.passed and result.stdout == "hi\n"


def test_result_serialises():
    result = ExecutionResult(Status.FAILED, stdout="x", detail="exit code 1")
    data = result.to_dict()
    assert data["status"] == "failed" and data["passed"] is False
    assert json.loads(json.dumps(data)) == data


# ---------------------------------------------------------------- run_many
def test_run_many_preserves_order_and_runs_in_parallel():
    # Later items finish first; results still come back in input order. The sleeps add up
    # to 2 s; two workers need about 1 s.
    items = [{"code": f"import time\ntime.sleep({0.2 * (4 - i)})\nprint({i})", "timeout_s": 10} for i in range(4)]
    items.append(Program("print(4)", "assert False"))
    with Sandbox(2) as sandbox:
        started = time.monotonic()
        results = sandbox.run_many(items, progress=True)
        elapsed = time.monotonic() - started
    assert [r.stdout for r in results] == ["0\n", "1\n", "2\n", "3\n", "4\n"]
    assert [r.status for r in results] == [Status.PASSED] * 4 + [Status.FAILED]
    assert elapsed < 1.7


def test_run_many_function_form():
    results = run_many([Program("print(1)"), {"code": "print(2)", "tests": ["assert 2 == 2"]}], workers=2,
                       progress=False)
    assert [r.stdout for r in results] == ["1\n", "2\n"]


# ---------------------------------------------------------------- the isolation record and `check`
needs_bwrap = pytest.mark.skipif(backend_skip_reason("bwrap") is not None, reason=str(backend_skip_reason("bwrap")))


@needs_bwrap
def test_describe_isolation_reports_bwrap_here():
    isolation = describe_isolation()
    assert isolation.backend == "bwrap" and not isolation.fallback
    assert "bubblewrap" in isolation.reason and "probe" in isolation.reason
    assert "65534" in isolation.program_user
    assert any("PID namespace" in layer for layer in isolation.layers)
    assert json.loads(json.dumps(isolation.to_dict()))["backend"] == "bwrap"


@needs_bwrap
def test_check_command_prints_the_active_isolation():
    runner = CliRunner()
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "Active isolation: bwrap" in result.output and "Why:" in result.output
    as_json = runner.invoke(app, ["check", "--json"])
    assert json.loads(as_json.output)["backend"] == "bwrap"
    assert runner.invoke(app, ["check", "--backend", "vm"]).exit_code != 0
