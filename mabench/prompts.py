"""Named prompts: the authors' system prompts (`paper_prompt_texts`), selectable instead of a task's own messages.

`--prompt paper` picks, per task and mode (or training method), the prompt the authors used there; `--prompt NAME`
picks one of their prompts by its name. Either way the chat is built as theirs is (`dataset_processing.py`): the
system prompt with `{K}` formatted (left as it is when formatting fails, as their `get_sys_prompt_formatted` does)
and the user turn "\\n\\nPROBLEM: <question>\\n\\n". Only tasks whose data the authors used have paper prompts
(AmbigQA and the DDXPlus medical set); other tasks keep their own prompts and `--prompt` is an error for them.

The prompt's name and sha256 are recorded in the run manifest; the `prompt` field of `RunConfig` puts the choice
into the run id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .paper_prompt_texts import TEMPLATES
from .types import Message, Mode, Question

PAPER = "paper"
PromptMethod = Literal["multi-rlcr", "multi-rlvr", "rlcr", "rlvr"]
MODE_METHOD: dict[str, PromptMethod] = {"multi": "multi-rlcr", "bok": "rlcr"}  # what `mabench run` evaluates

# The answer shape each prompt asks for: K numbered candidates ("multi") or one answer ("bok").
PROMPT_MODES: dict[str, Mode] = {
    name: ("multi" if name.startswith(("multi_answer", "og_multi_answer")) else "bok") for name in TEMPLATES
}


class PromptError(ValueError):
    """A prompt that does not exist or does not fit the task and mode; the message lists the valid choices."""


@dataclass(frozen=True)
class PaperTask:
    """Where the authors' prompts apply to a mabench task: the input field holding the question text, and the
    prompt of each method (from their released configs and README)."""

    question_field: str
    prompts: dict[PromptMethod, str]


PAPER_TASKS: dict[str, PaperTask] = {
    "ambigqa": PaperTask("question", {
        "multi-rlcr": "multi_answer_short_ambigqa",                   # configs/Qwen-3-8B/ambigqa/*_rlcr_multiple
        "rlcr": "rlcr_single_answer_no_extra_stuff_in_answer",         # configs/Qwen-3-8B/ambigqa/*_rlcr_single
        "multi-rlvr": "multi_answer_rlvr_short",                      # no released AmbigQA config: their generic one
        "rlvr": "gen",                                                # as their HotpotQA RLVR config
    }),
    "ddxplus": PaperTask("vignette", {
        "multi-rlcr": "og_multi_answer_short_medical",                # README: "used in our experiments"
        "rlcr": "medical_rlcr_single_answer_no_extra_stuff_in_answer",  # configs/Qwen-3-8B/medical/*_rlcr_single
        "multi-rlvr": "multi_answer_rlvr_medical",                    # README
        "rlvr": "gen_medical",                                        # configs/Qwen-3-8B/medical/*_rlvr_single
    }),
    # mabench ships no HotpotQA task; a plugin task named "hotpotqa" whose questions carry inputs["question"]
    # (data: mehuldamani/hotpot_qa) gets the authors' HotpotQA prompts.
    "hotpotqa": PaperTask("question", {
        "multi-rlcr": "multi_answer_short",                           # configs/Qwen-3-8B/hotpot/*_rlcr_multiple
        "rlcr": "tabc_long",                                          # configs/Qwen-3-8B/hotpot/*_rlcr_single
        "multi-rlvr": "multi_answer_rlvr_short",
        "rlvr": "gen",                                                # configs/Qwen-3-8B/hotpot/*_rlVr_single
    }),
}


def prompt_names() -> list[str]:
    return [PAPER, *TEMPLATES]


def template_hash(name: str) -> str:
    return hashlib.sha256(TEMPLATES[name].encode()).hexdigest()


def system_prompt(name: str, k: int) -> str:
    """Their prompt `name` with `{K}` replaced by k (the template unchanged if formatting fails)."""
    template = TEMPLATES[name]
    try:
        return template.format(K=k)
    except (KeyError, IndexError, ValueError):
        return template


def resolve(prompt: str, task: str, method: PromptMethod) -> str:
    """The authors' prompt name that `prompt` ("paper" or a name) means for `task` trained or run as `method`."""
    if task not in PAPER_TASKS:
        raise PromptError(f"--prompt {prompt}: the authors' prompts exist only for the tasks "
                          f"{', '.join(PAPER_TASKS)}, not {task!r}")
    if prompt == PAPER:
        return PAPER_TASKS[task].prompts[method]
    if prompt not in TEMPLATES:
        raise PromptError(f"unknown prompt {prompt!r}; valid prompts: {', '.join(prompt_names())}")
    wanted: Mode = "multi" if method.startswith("multi") else "bok"
    if PROMPT_MODES[prompt] != wanted:
        raise PromptError(f"prompt {prompt!r} asks for {PROMPT_MODES[prompt]} answers, but {method} needs "
                          f"{wanted} answers")
    return prompt


def resolve_for_mode(prompt: str, task: str, mode: Mode) -> str:
    return resolve(prompt, task, MODE_METHOD[mode])


def prompt_messages(name: str, task: str, question: Question, k: int) -> list[Message]:
    """Their chat for one question: the system prompt, then "\\n\\nPROBLEM: <question text>\\n\\n"."""
    text = question.inputs[PAPER_TASKS[task].question_field]
    return [{"role": "system", "content": system_prompt(name, k)},
            {"role": "user", "content": f"\n\nPROBLEM: {text}\n\n"}]


def task_messages(task_object: object, task: str, question: Question, mode: Mode, k: int,
                  prompt: str | None) -> list[Message]:
    """The messages `mabench run` sends: the task's own, or the named prompt's when `prompt` is set."""
    if prompt is None:
        return task_object.messages(question, mode, k)  # type: ignore[attr-defined]
    return prompt_messages(resolve_for_mode(prompt, task, mode), task, question, k)


def prompt_record(prompt: str | None, tasks: list[str], modes: list[Mode]) -> dict[str, object] | None:
    """What the manifest records: the option, and per task and mode the prompt used with its sha256."""
    if prompt is None:
        return None
    resolved: dict[str, dict[str, dict[str, str]]] = {}
    for task in tasks:
        for mode in modes:
            name = resolve_for_mode(prompt, task, mode)
            resolved.setdefault(task, {})[mode] = {"name": name, "sha256": template_hash(name)}
    return {"option": prompt, "resolved": resolved}


class TaskPrompts:
    """A `PromptSource`: the messages a task gives (task, question id, mode, k), with tasks and data files loaded
    once. Replay is handed one of these, since backends do not import tasks."""

    def __init__(self) -> None:
        self._tasks: dict[str, Any] = {}
        self._questions: dict[tuple[str, str | None], dict[str, Any]] = {}

    def messages(self, task: str, question_id: str, mode: Mode, k: int, data_path: str | None) -> list[Message]:
        from mabench.tasks import load_task

        if task not in self._tasks:
            self._tasks[task] = load_task(task)
        if (task, data_path) not in self._questions:
            loaded = self._tasks[task].load(Path(data_path) if data_path else None)
            self._questions[(task, data_path)] = {q.id: q for q in loaded}
        question = self._questions[(task, data_path)].get(question_id)
        if question is None:
            raise KeyError(f"task {task!r} has no question {question_id!r}"
                           + (f" in {data_path}" if data_path else " in its bundled data"))
        return self._tasks[task].messages(question, mode, k)
