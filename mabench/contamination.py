"""Contamination: the evaluation questions a checkpoint was trained on.

A checkpoint written by `mabench train` lists its training questions in `mabench_train.json`, under the key
`mabench.train.splits.RECORD_KEY` (`train_questions`: `{"task", "split", "n", "ids_sha256", "ids"}`, written by
`mabench.train.splits.training_record`). `mabench run` reads that list for the model of each mode (`--model`,
and `--bok-model` in a paired run), counts the run's questions it contains, prints the count under the summary,
stores it in the manifest (`train_overlap`) and the leaderboard (`train_overlap` column), and with
`--exclude-train-overlap` drops those questions before the run, so that the data hash, hence the run id, says
which questions were asked.

A model without that file (a Hub id, an API model, a checkpoint trained elsewhere) has an unknown overlap:
None, never 0. Questions match on task name and question id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .config import RunConfig
from .types import Question

Overlap = dict[str, dict[str, list[str] | None]]  # task -> mode -> overlapping question ids (None: unknown)


class ContaminationError(ValueError):
    """A training record that cannot be read, or an exclusion that cannot be made (exit code 2)."""


def trained_ids(model: str) -> dict[str, frozenset[str]] | None:
    """{task: question ids} the checkpoint `model` was trained on, from its mabench_train.json; None when it has
    no such file or the file lists no training questions."""
    from .manifest import TRAINING_RECORD, training_record
    from .train.splits import RECORD_KEY

    try:
        record = training_record(model)
    except (OSError, ValueError) as err:
        raise ContaminationError(f"{model}/{TRAINING_RECORD}: unreadable ({err}); expected the JSON file "
                                 "`mabench train` writes beside a checkpoint") from None
    if not isinstance(record, dict) or record.get(RECORD_KEY) is None:
        return None
    entries = record[RECORD_KEY]
    entries = entries if isinstance(entries, list) else [entries]
    out: dict[str, set[str]] = {}
    for entry in entries:
        if not (isinstance(entry, dict) and isinstance(entry.get("task"), str)
                and isinstance(entry.get("ids"), list)):
            raise ContaminationError(f"{model}/{TRAINING_RECORD}: {RECORD_KEY} must be "
                                     '{"task": NAME, "ids": [ID, ...]} (or a list of them), got '
                                     f"{str(entry)[:80]}")
        out.setdefault(entry["task"], set()).update(str(i) for i in entry["ids"])
    return {task: frozenset(ids) for task, ids in out.items()}


def find_overlap(config: RunConfig, questions: Mapping[str, Sequence[Question]]) -> Overlap:
    """For each task and mode, the ids of the selected questions that the mode's model was trained on."""
    trained = {model: trained_ids(model) for model in config.models}
    overlap: Overlap = {}
    for task, selected in questions.items():
        overlap[task] = {}
        for mode in config.modes:
            ids = trained[config.model_for(mode)]
            overlap[task][mode] = None if ids is None else [q.id for q in selected if q.id in ids.get(task, ())]
    return overlap


def drop_overlap(config: RunConfig, questions: Mapping[str, Sequence[Question]], overlap: Overlap
                 ) -> dict[str, list[Question]]:
    """The questions without any that a mode's model was trained on: both modes keep answering the same
    questions, so the paired multi - bok comparison stays paired."""
    if all(ids is None for modes in overlap.values() for ids in modes.values()):
        raise ContaminationError(
            f"--exclude-train-overlap: {' and '.join(config.models)} list no training questions (no "
            "mabench_train.json written by `mabench train`), so there is nothing to exclude; drop the option")
    out: dict[str, list[Question]] = {}
    for task, selected in questions.items():
        dropped = {qid for ids in overlap.get(task, {}).values() for qid in ids or ()}
        out[task] = [q for q in selected if q.id not in dropped]
        if selected and not out[task]:
            raise ContaminationError(f"--exclude-train-overlap leaves no questions of task {task!r}: the model was "
                                     f"trained on all {len(selected)} selected ones")
    return out


def manifest_entry(overlap: Overlap, excluded: bool) -> dict[str, Any]:
    """The manifest's `train_overlap`: per task and mode, how many (and which) of the selected questions the
    mode's model was trained on (None: no training record); `excluded`: they were dropped before the run."""
    return {"excluded": excluded,
            "tasks": {task: {mode: None if ids is None else {"count": len(ids), "ids": ids}
                             for mode, ids in modes.items()} for task, modes in overlap.items()}}


def evaluated_overlap(entry: Mapping[str, Any] | None, task: str, mode: str) -> int | None:
    """How many of the questions a task x mode was scored on its model was trained on, from a manifest's
    `train_overlap`: 0 once --exclude-train-overlap dropped them; None when unknown (no record, older run)."""
    found = ((entry or {}).get("tasks") or {}).get(task, {}).get(mode)
    if not isinstance(found, Mapping):
        return None
    return 0 if entry and entry.get("excluded") else int(found.get("count", 0))
