"""MBPP (Austin et al. 2021): the full set and the sanitized set, judged by running ``test_list``.

Sources: the original ``mbpp.jsonl`` (text, code, task_id, test_setup_code, test_list,
challenge_test_list) and ``sanitized-mbpp.json`` (source_file, task_id, prompt, code, test_imports,
test_list), or the Hub's ``google-research-datasets/mbpp`` (configs "full" and "sanitized"). A local file
is cut to the official split by task_id (test = 11-510, as the Hub's test split). The bundled files are
that test split of each original file, records unchanged (``scripts/build_bundled_data.py``). The program
run is the candidate; the tests are ``test_imports``, ``test_setup_code`` and ``test_list`` (challenge
tests are kept in the inputs but not run).
"""

from __future__ import annotations

import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from mabench.types import AnswerSet, ExecutionEvidence, Judgement, Message, Mode, Question

from .code import CODE_METRICS, TAG, ProgramJudge, code_instructions, parse_programs
from .hub import HubDefaults, is_hub_spec, load_hub_rows, parse_hub_spec
from .registry import DataFormatError, task
from .sources import DataSource, bundled, read_records, require_file

if TYPE_CHECKING:
    from mabench.sandbox import Sandbox

Split = Literal["prompt", "test", "validation", "train", "all"]
SPLITS: dict[str, range] = {  # the MBPP README's split by task_id
    "prompt": range(1, 11), "test": range(11, 511), "validation": range(511, 601), "train": range(601, 1001),
}
HUB_IDS = ("google-research-datasets/mbpp",)
SYSTEM_PROMPT = (
    "You are an expert Python programmer. Write correct, self-contained Python 3 functions with the exact "
    "names and signatures that the tests use."
)
EXPECTED_FULL = ("MBPP JSON lines (mbpp.jsonl: text, code, task_id, test_setup_code, test_list, "
                 "challenge_test_list) or a Parquet export of google-research-datasets/mbpp")
EXPECTED_SANITIZED = ("a sanitized MBPP JSON array (sanitized-mbpp.json: source_file, task_id, prompt, code, "
                      "test_imports, test_list) or a Parquet export of google-research-datasets/mbpp")


def _strings(record: dict[str, Any], key: str, where: str, required: bool) -> list[str]:
    value = record.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (required and not value):
        raise DataFormatError(f"{where}: field {key!r} must be a {'non-empty ' if required else ''}list of "
                              f"strings, got {value!r:.80}")
    return list(value)


def question_from_record(record: Any, where: str, task_name: str) -> Question:
    """A record in either schema: the full set's ``text`` or the sanitized set's ``prompt``."""
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    task_id = record.get("task_id")
    if isinstance(task_id, bool) or not isinstance(task_id, int):
        raise DataFormatError(f"{where}: 'task_id' must be an integer, got {task_id!r}")
    where = f"{where} (task_id {task_id})"
    text = record.get("text") or record.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise DataFormatError(f"{where}: expected a task description in 'text' (full) or 'prompt' (sanitized)")
    setup = record.get("test_setup_code") or ""
    if not isinstance(setup, str):
        raise DataFormatError(f"{where}: 'test_setup_code' must be a string, got {setup!r:.80}")
    inputs = {
        "text": text, "task_id": task_id, "test_list": _strings(record, "test_list", where, True),
        "test_setup_code": setup, "test_imports": _strings(record, "test_imports", where, False),
        "challenge_test_list": _strings(record, "challenge_test_list", where, False),
        "reference": record.get("code") if isinstance(record.get("code"), str) else None,
    }
    return Question(id=f"{task_name}-{task_id}", task=task_name, inputs=inputs, gold=[])


def mbpp_tests(inputs: dict[str, Any]) -> str:
    """Test code, run after the program in the same namespace."""
    parts = [*inputs["test_imports"], inputs["test_setup_code"], *inputs["test_list"]]
    return "\n".join(p for p in parts if p.strip()) + "\n"


def mbpp_program(text: str) -> str | None:
    """The candidate as a program (common indentation removed); None when it is empty."""
    program = textwrap.dedent(text).strip("\n")
    return program + "\n" if program.strip() else None


class _MBPP:
    """Shared by the two MBPP tasks; subclasses fix the name, sample, Hub config and expected format."""

    spec: Any
    sample: str
    hub_config: str
    expected: str

    def __init__(self, split: Split = "test", *, timeout_s: float = 10.0, workers: int = 2,
                 sandbox: Sandbox | None = None) -> None:
        if split not in (*SPLITS, "all"):
            raise ValueError(f"split: expected one of {', '.join((*SPLITS, 'all'))}, got {split!r}")
        self.split = split
        self.runner = ProgramJudge(timeout_s=timeout_s, workers=workers, sandbox=sandbox)

    def attach_sandbox(self, sandbox: Sandbox) -> None:
        """Judge in a caller-owned, warm sandbox (the runner shares one for the whole run)."""
        self.runner = replace(self.runner, sandbox=sandbox)

    def load(self, data_path: DataSource = None) -> list[Question]:
        if data_path is None:
            return self._questions(read_records(bundled(self.sample), f"bundled {self.sample}", self.expected))
        if is_hub_spec(data_path):
            known = {repo: HubDefaults(self.hub_config, "test") for repo in (*HUB_IDS, "mbpp")}
            source = parse_hub_spec(data_path, known)
            return self._questions([(f"{source}, row {i}", r) for i, r in enumerate(load_hub_rows(source))])
        path = require_file(data_path, self.expected)
        questions = self._questions(read_records(path, str(path), self.expected))
        if self.split == "all":
            return questions
        return [q for q in questions if q.inputs["task_id"] in SPLITS[self.split]]

    def _questions(self, records: list[tuple[str, Any]]) -> list[Question]:
        questions = [question_from_record(r, where, self.spec.name) for where, r in records]
        seen: set[str] = set()
        for (where, _), q in zip(records, questions, strict=True):
            if q.id in seen:
                raise DataFormatError(f"{where}: task_id {q.inputs['task_id']} appears twice")
            seen.add(q.id)
        return questions

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        tests = "\n".join(question.inputs["test_list"])
        user = (f"{question.inputs['text']}\nYour code should pass these tests:\n\n{tests}\n\n"
                f"{code_instructions(k if mode == 'multi' else None)}")
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_programs(text, mode, k)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], ExecutionEvidence]:
        tests = mbpp_tests(question.inputs)

        def build(text: str) -> tuple[str, str] | None:
            program = mbpp_program(text)
            return None if program is None else (program, tests)

        return self.runner.judge(answers.candidates, build,
                                 ExecutionEvidence(tests=tests, executions=[], task_id=question.inputs["task_id"]))


@task(
    "mbpp",
    description="MBPP full: Python functions from a description, judged by running test_list in the sandbox",
    source="google-research-datasets/mbpp (full); bundled: the test split, task_ids 11-510 (500)",
    hub_ids=HUB_IDS,
    metrics=CODE_METRICS,
    answer_tag=TAG,
    needs_sandbox=True,
)
class MBPP(_MBPP):
    sample = "mbpp_sample.jsonl"
    hub_config = "full"
    expected = EXPECTED_FULL


@task(
    "mbpp-sanitized",
    description="MBPP sanitized: the hand-verified subset, judged by running test_list in the sandbox",
    source="google-research-datasets/mbpp (sanitized); bundled: the test split (257)",
    hub_ids=HUB_IDS,
    metrics=CODE_METRICS,
    answer_tag=TAG,
    needs_sandbox=True,
)
class MBPPSanitized(_MBPP):
    sample = "mbpp_sanitized_sample.json"
    hub_config = "sanitized"
    expected = EXPECTED_SANITIZED
