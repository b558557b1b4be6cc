"""Replay lm-eval's `--log_samples` files of mabench tasks: `--model replay:PATH`.

PATH is a `samples_mabench_<task>_<mode>_<date>.jsonl` file that `lm_eval ... --log_samples` wrote for a task
of `mabench lm-eval-path`, or a folder holding such files (lm-eval's `--output_path`, searched recursively).
Each line's `doc` names the mabench task, question id, mode and k, and `resps` holds its generations (one in
multi mode, k in bok mode). mabench rebuilds the prompt of that question and checks it is the one lm-eval sent,
so the generations are scored for the question they answer. lm-eval does not log token counts: they are 0.
Files are read in name order (lm-eval puts the date in the name), so a later evaluation of a question wins.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mabench.types import Generation

from .base import UnknownModelError

SAMPLES_GLOB = "samples_*.jsonl"


class LMEvalSamplesError(UnknownModelError):
    """An lm-eval samples file that cannot be replayed; the message names the file, the line and why."""


def lmeval_sample_files(path: Path) -> list[Path]:
    """The lm-eval sample files at `path` (a folder without mabench's samples.jsonl, or one such file)."""
    if path.is_dir():
        return [] if (path / "samples.jsonl").exists() else sorted(path.rglob(SAMPLES_GLOB))
    if path.is_file() and path.name.startswith("samples_") and path.suffix == ".jsonl":
        return [path]
    return []


def is_lmeval_source(path: Path) -> bool:
    return bool(lmeval_sample_files(Path(path)))


def samples_digest(path: Path) -> str:
    """Content hash of the sample files at `path`: the replayed "model"'s identity."""
    digest = hashlib.sha256()
    for file in lmeval_sample_files(Path(path)):
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def read_lmeval_samples(path: Path, builder: Any) -> tuple[dict[str, list[Generation]], str]:
    """({prompt key: generations}, fingerprint) for the replay backend. `builder` is replay's PromptBuilder."""
    from .replay import prompt_key

    table: dict[str, list[Generation]] = {}
    for file in lmeval_sample_files(Path(path)):
        for number, line in enumerate(file.read_text().splitlines(), start=1):
            if line.strip():
                messages, texts = _entry(line, f"{file}:{number}", builder)
                table[prompt_key(messages)] = [
                    Generation(text=t, prompt_tokens=0, completion_tokens=0, finish_reason="stop", sample_index=i)
                    for i, t in enumerate(texts)]
    return table, f"replay:{samples_digest(path)[:16]}"


def _entry(line: str, where: str, builder: Any) -> tuple[list[dict[str, str]], list[str]]:
    try:
        sample = json.loads(line)
    except json.JSONDecodeError as err:
        raise LMEvalSamplesError(f"{where}: not JSON ({err.msg}); expected a line of lm-eval's --log_samples "
                                 "output") from None
    doc = sample.get("doc") if isinstance(sample, dict) else None
    if not isinstance(doc, dict) or not isinstance(sample.get("resps"), list):
        raise LMEvalSamplesError(f"{where}: not an lm-eval sample (needs 'doc' and 'resps')")
    missing = [key for key in ("task", "question_id", "mode", "k", "prompt") if key not in doc]
    if missing:
        raise LMEvalSamplesError(f"{where}: doc lacks {', '.join(missing)}: only the mabench_* tasks of "
                                 "`mabench lm-eval-path` can be replayed")
    resps = sample["resps"][0] if sample["resps"] else []
    texts = [str(t) for t in resps] if isinstance(resps, list) else [str(resps)]
    try:
        messages = builder.messages(doc["task"], str(doc["question_id"]), doc["mode"], int(doc["k"]),
                                    doc.get("data_path") or None)
    except (KeyError, ValueError, TypeError) as err:
        raise LMEvalSamplesError(f"{where}: {err}") from None
    if messages[-1]["content"] != doc["prompt"]:
        raise LMEvalSamplesError(f"{where}: mabench's prompt for {doc['task']}/{doc['mode']}/{doc['question_id']} "
                                 "is not the one lm-eval sent (the task or its data changed since); regenerate "
                                 "the tasks with `mabench lm-eval-path` and evaluate again")
    return messages, texts
