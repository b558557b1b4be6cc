"""Re-score earlier generations without calling a model: `--model replay:SOURCE`.

SOURCE is a mabench run directory (its `samples.jsonl`, read with `manifest.json`'s config) or a JSONL file of
raw generations written by any tool. Each request is answered with the generations recorded for exactly its
chat messages; a prompt with no (or too few) recorded generations gets generations with finish_reason "error"
and a reason, so the run records it as failed instead of scoring something else. Seeds and sampling
parameters are ignored: what was generated is what is scored.

JSONL schema: one JSON object per line (blank lines and lines starting with `#` are skipped; unknown keys are
ignored). When a prompt occurs on several lines, the last one wins.

    {"task": "ambigqa", "question_id": "8630912480840635425", "mode": "multi", "k": 3,
     "generations": ["<answer1>Paris</answer1><confidence1>0.6</confidence1>..."]}

- The prompt, in one of two forms:
  - `"messages"`: the exact chat messages, `[{"role": "user", "content": "..."}, ...]`; or
  - `"task"`, `"question_id"`, `"mode"` (`"multi"` or `"bok"`) and `"k"`: mabench builds the prompt that
    task gives that question, from the task's bundled data or from `"data_path"` (a data file in the
    task's own format). `k` must be the run's `--k`, since multi-mode prompts ask for K answers.
- `"generations"` (at least one): one entry per sample, in sample order (multi mode uses the first; bok mode
  the first k). Each is the generated text as a string, or an object `{"text": str, "prompt_tokens": int,
  "completion_tokens": int, "finish_reason": "stop" | "length"}` where all but `text` are optional
  (tokens default to 0, finish_reason to "stop").
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mabench.types import Generation, Message, Mode, PromptSource

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError
from .lmeval_replay import is_lmeval_source, read_lmeval_samples

SOURCE_FORMS = "a mabench run directory (with samples.jsonl) or a .jsonl file of generations"


class ReplaySourceError(UnknownModelError):
    """A replay source that cannot be read; the message names the file, the line and what was expected."""


class ReplayGeneration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    prompt_tokens: int = Field(0, ge=0)
    completion_tokens: int = Field(0, ge=0)
    finish_reason: Literal["stop", "length"] = "stop"


class ReplayLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    messages: list[Message] | None = None
    task: str | None = None
    question_id: str | None = None
    mode: Mode | None = None
    k: int | None = Field(None, ge=1)
    data_path: str | None = None
    generations: list[str | ReplayGeneration] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_prompt_form(self) -> ReplayLine:
        by_id = (self.task, self.question_id, self.mode, self.k)
        if self.messages is None and any(v is None for v in by_id):
            raise ValueError('give either "messages" or all of "task", "question_id", "mode" and "k"')
        if self.messages is not None and any(v is not None for v in by_id):
            raise ValueError('give either "messages" or "task"/"question_id"/"mode"/"k", not both')
        return self


def prompt_key(messages: Sequence[Message]) -> str:
    return json.dumps(list(messages), sort_keys=True, ensure_ascii=False)


class ReplayBackend(Closing):
    name = "replay"
    batch_invariant = True
    preferred_batch_size = 4096

    def __init__(self, source: str, prompts: PromptSource | None = None):
        """`prompts` rebuilds the messages of recorded questions (run directories, JSONL lines by question id);
        replay imports no task, so the caller passes it (the CLI passes `mabench.prompts.TaskPrompts()`)."""
        path = Path(source)
        self._prompts = prompts
        self.source = path
        self.chat_template_hash: str | None = None
        self._table: dict[str, list[Generation]] = {}
        self._served: Counter[str] = Counter()
        if is_lmeval_source(path):  # lm-eval --log_samples files of mabench_* tasks: see lmeval_replay.py
            self._table, self.fingerprint = read_lmeval_samples(path, self._builder(source))
        elif path.is_dir():
            self._load_run_dir(path)
        elif path.is_file():
            self._load_jsonl(path)
        else:
            raise ReplaySourceError(f"replay source {source!r} does not exist; expected {SOURCE_FORMS}")
        if not is_lmeval_source(path):
            data = (path / "samples.jsonl") if path.is_dir() else path
            self.fingerprint = f"replay:{hashlib.sha256(data.read_bytes()).hexdigest()[:16]}"

    def _builder(self, source: str) -> PromptSource:
        if self._prompts is None:
            raise ReplaySourceError(f"replay source {source!r} names questions by id: rebuilding their prompts needs "
                                    "the tasks' prompts (ReplayBackend(source, prompts=mabench.prompts.TaskPrompts()))")
        return self._prompts

    def stats(self) -> dict[str, Any]:
        return {"replay": {"source": str(self.source), "prompts": len(self._table), **self._served}}

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        return [self._answer(r) for r in requests]

    def _answer(self, request: GenerationRequest) -> list[Generation]:
        recorded = self._table.get(prompt_key(request.messages), [])
        found = [g.model_copy(update={"sample_index": i}) for i, g in enumerate(recorded[: request.n])]
        self._served["served"] += len(found)
        if len(found) == request.n:
            return found
        self._served["missing"] += request.n - len(found)
        if recorded:
            reason = f"replay: {self.source} has {len(recorded)} generation(s) for this prompt, {request.n} requested"
        else:
            last = request.messages[-1]["content"] if request.messages else ""
            reason = f"replay: no generation for this prompt in {self.source} (prompt ends {last[-80:]!r})"
        return found + [
            Generation(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error", sample_index=i,
                       error=reason)
            for i in range(len(found), request.n)
        ]

    def _load_run_dir(self, run_dir: Path) -> None:
        samples, manifest_path = run_dir / "samples.jsonl", run_dir / "manifest.json"
        if not samples.is_file() or not manifest_path.is_file():
            raise ReplaySourceError(f"replay source {str(run_dir)!r} is a folder without samples.jsonl and "
                                    f"manifest.json; expected {SOURCE_FORMS}")
        from mabench.store import RunReader, RunStoreError

        reader = RunReader(run_dir)  # read-only: the source run is never changed, even mid-write
        try:
            manifest = reader.read_manifest() or {}
            latest = reader.latest()
        except RunStoreError as err:
            raise ReplaySourceError(f"replay source {str(run_dir)!r}: {err}") from None
        self.chat_template_hash = manifest.get("chat_template_hash")
        config = manifest.get("config") or {}
        k, data_paths = config.get("k"), config.get("data_path") or {}
        builder = self._builder(str(run_dir))
        for (task, mode, question_id), record in latest.items():
            try:
                messages = builder.messages(task, question_id, mode, int(k), data_paths.get(task))  # type: ignore
            except (KeyError, ValueError, TypeError) as err:
                raise ReplaySourceError(f"{samples}: cannot rebuild the prompt of {task}/{mode}/{question_id}: "
                                        f"{err}") from err
            self._table[prompt_key(messages)] = list(record.generations)

    def _load_jsonl(self, path: Path) -> None:
        builder = _Lazy(lambda: self._builder(str(path)))
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path}:{number}"
            try:
                entry = ReplayLine.model_validate_json(line)
            except ValidationError as err:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'line'}: {e['msg']}" for e in err.errors())
                raise ReplaySourceError(f"{where}: not a replay record ({problems}); see the schema in "
                                        "mabench/backends/replay.py") from None
            if entry.messages is not None:
                messages = entry.messages
            else:
                try:
                    messages = builder.messages(entry.task, entry.question_id, entry.mode, entry.k,  # type: ignore
                                                entry.data_path)
                except (KeyError, ValueError) as err:
                    raise ReplaySourceError(f"{where}: {err}") from None
            self._table[prompt_key(messages)] = [_generation(g, i) for i, g in enumerate(entry.generations)]


class _Lazy:
    """A PromptSource asked for only when a line names its question by id (lines with messages need none)."""

    def __init__(self, get: Callable[[], PromptSource]):
        self._get = get

    def messages(self, task: str, question_id: str, mode: Mode, k: int, data_path: str | None) -> list[Message]:
        return self._get().messages(task, question_id, mode, k, data_path)


def _generation(entry: str | ReplayGeneration, index: int) -> Generation:
    if isinstance(entry, str):
        return Generation(text=entry, prompt_tokens=0, completion_tokens=0, finish_reason="stop", sample_index=index)
    return Generation(sample_index=index, **entry.model_dump())
