"""Task registration: the decorator's spec on every class, and discovery through the `mabench.tasks` entry
points (this last test passes once pyproject.toml lists the entry points)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mabench.cli import app
from mabench.tasks import load_task
from mabench.tasks.ambigqa import AmbigQA
from mabench.tasks.ddxplus import DDXPlus
from mabench.tasks.humaneval import HumanEval
from mabench.tasks.mbpp import MBPP, MBPPSanitized
from mabench.tasks.medqa import MedQA

TASKS = {"ambigqa": AmbigQA, "ddxplus": DDXPlus, "medqa": MedQA, "mbpp": MBPP, "mbpp-sanitized": MBPPSanitized,
         "humaneval": HumanEval}


@pytest.mark.parametrize(("name", "cls"), TASKS.items())
def test_each_task_class_carries_a_spec_from_the_decorator(name, cls):
    assert cls.spec.name == name and cls.spec.modes == ("multi", "bok")
    assert cls.spec.source and cls.spec.description
    questions = cls().load()
    assert len(questions) >= 30 and all(q.task == name for q in questions)
    assert len({q.id for q in questions}) == len(questions)


def test_every_task_loads_through_its_entry_point_and_is_listed():
    for name, cls in TASKS.items():
        task = load_task(name)
        assert isinstance(task, cls) and len(task.load()) >= 30
    result = CliRunner().invoke(app, ["tasks"], catch_exceptions=False)
    assert result.exit_code == 0
    listed = " ".join(result.output.split())
    assert all(name in listed for name in TASKS) and "multi,bok" in listed
