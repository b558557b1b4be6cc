"""mabench's tasks as lm-eval tasks: `write_include_dir` writes one YAML per task x mode into a folder for
`lm_eval --include_path` (what `mabench lm-eval-path` prints).

Each YAML reads a JSONL file written beside it (`dataset_path: json`), one line per question: mabench's own
prompt for that question and mode (the system message becomes lm-eval's `description`, which lm-eval sends as
the system turn under `--apply_chat_template`), and the question itself, so that scoring needs no data again.
Multi mode is one generation; bok mode asks lm-eval for k `repeats` and keeps all k (`take_first_k`). Scoring
calls `mabench.lmeval.scoring`, that is mabench's parser, judges and metrics.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mabench.types import MODES, Mode

TASK_PREFIX = "mabench_"
GROUP_TAG = "mabench"
# The metrics lm-eval's table shows for each task: (name, higher is better, aggregation).
TABLE_METRICS: tuple[tuple[str, bool, str], ...] = (
    ("hit_at_k", True, "mean"),
    ("set_brier", False, "!function utils.nanmean"),  # undefined where a confidence is missing
    ("unique_answers", True, "mean"),
    ("format_rate", True, "mean"),
)
_UTILS = '''"""Written by `mabench lm-eval-path`: lm-eval loads the scoring functions the task YAMLs name from here."""

from mabench.lmeval.scoring import nanmean, process_results  # noqa: F401
'''


class IncludeSettings(BaseModel):
    """What the generated tasks ask for; part of the folder's name, so different settings never overwrite."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tasks: list[str] = Field(min_length=1)
    k: int = Field(3, ge=1, le=32)
    data_path: dict[str, str] = Field(default_factory=dict)
    temperature: float = Field(0.7, ge=0.0)
    max_new_tokens: int = Field(256, ge=1)

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]


def lmeval_task_name(task: str, mode: Mode) -> str:
    return f"{TASK_PREFIX}{task.replace('-', '_')}_{mode}"


def question_docs(task: Any, name: str, mode: Mode, k: int, data_path: str | None) -> list[dict[str, Any]]:
    """One lm-eval document per question: ids, mabench's prompt (system and user turn) and the question."""
    docs = []
    for question in task.load(Path(data_path) if data_path else None):
        messages = task.messages(question, mode, k)
        system = [m["content"] for m in messages[:-1] if m["role"] == "system"]
        if messages[-1]["role"] != "user" or len(system) != len(messages) - 1:
            raise ValueError(f"task {name!r}: prompt of {question.id} is not [system,] user; lm-eval cannot send it")
        docs.append({"task": name, "question_id": question.id, "mode": mode, "k": k, "data_path": data_path or "",
                     "system": "\n\n".join(system), "prompt": messages[-1]["content"],
                     "gold": json.dumps(question.gold, ensure_ascii=False),
                     "question": question.model_dump_json()})
    return docs


def task_yaml(name: str, mode: Mode, data_file: Path, settings: IncludeSettings) -> str:
    """The YAML of one task x mode. Plain values are written as JSON, which YAML reads as is."""
    k = settings.k
    fields: dict[str, Any] = {
        "task": lmeval_task_name(name, mode), "tag": [GROUP_TAG], "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data_file)}}, "test_split": "test",
        "output_type": "generate_until", "doc_to_text": "prompt", "description": "system", "doc_to_target": "gold",
        "target_delimiter": "", "repeats": 1 if mode == "multi" else k,
        # no stop string but the model's end of sequence: the closing tags are part of the answer format
        "generation_kwargs": {"until": [], "do_sample": settings.temperature > 0,
                              "temperature": settings.temperature, "max_gen_toks": settings.max_new_tokens},
        "metadata": {"version": 1, "mabench_task": name, "mode": mode, "k": k},
    }
    if mode == "bok":
        fields["filter_list"] = [{"name": "k_samples", "filter": [{"function": "take_first_k", "k": k}]}]
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()]
    lines.append("process_results: !function utils.process_results")
    lines.append("metric_list:")
    for metric, higher, aggregation in TABLE_METRICS:
        lines += [f"  - metric: {metric}", f"    aggregation: {aggregation}",
                  f"    higher_is_better: {json.dumps(higher)}"]
    return "\n".join(lines) + "\n"


def write_include_dir(root: Path, settings: IncludeSettings, loaded: dict[str, Any] | None = None) -> Path:
    """Write the tasks' YAMLs, data files and `utils.py` into `root/<settings digest>` and return that folder.
    `loaded` maps task names to task objects (loaded here when missing). Rewriting the same settings is a no-op
    in effect: the same files with the same content."""
    from mabench.tasks import load_task

    folder = Path(root) / settings.digest()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    loaded = loaded or {}
    for name in settings.tasks:
        task = loaded.get(name) or load_task(name)
        for mode in _modes(task):
            data_file = folder / "data" / f"{name}_{mode}.jsonl"
            docs = question_docs(task, name, mode, settings.k, settings.data_path.get(name))
            _write(data_file, "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
            _write(folder / f"{lmeval_task_name(name, mode)}.yaml", task_yaml(name, mode, data_file.resolve(),
                                                                              settings))
    _write(folder / "utils.py", _UTILS)
    return folder


def _modes(task: Any) -> Sequence[Mode]:
    return [m for m in MODES if m in task.spec.modes]


def _write(path: Path, text: str) -> None:
    """Write only when the content changed, through a temporary file: a concurrent lm_eval never reads half a file."""
    if path.is_file() and path.read_text() == text:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
