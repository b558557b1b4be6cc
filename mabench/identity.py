"""The run identity: everything that changes a run's results, and the run id that hashes it. One place.

A run is identified by its resolved configuration, the model's identity (`backends.identity.ModelIdentity`:
checkpoint content, dtype, device, or the API server's description of the model) and a hash of the questions
actually asked (after --data-path, --shuffle, --limit and --exclude-train-overlap). A paired run (--bok-model)
adds the bok model's identity. Two runs that differ in any of them never share a run
directory, so a resumed run never mixes two checkpoints or two datasets.

The command id hashes only what the command line says (the configuration and how the model is named). When a
command is repeated and what it denotes has changed (a retrained checkpoint at the same path, another checkpoint
behind the same served name, an edited data file), there is an earlier run with the same command id and another
run id: resuming is refused, naming what changed, until the user asks for a new run with --fresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from .backends.identity import COMMAND_FIELDS, ModelIdentity
from .config import RunConfig
from .types import Question

IDENTITY_VERSION = 1


def _digest(value: Any, length: int) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:length]


def data_hash(questions: Sequence[Question]) -> str:
    """A hash of the questions in the order they are asked: ids, inputs, gold answers, everything."""
    return _digest([q.model_dump(mode="json") for q in questions], 16)


class RunIdentity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = IDENTITY_VERSION
    config: dict[str, Any]
    model: dict[str, Any]
    data: dict[str, str]  # task -> data_hash of its selected questions
    bok_model: dict[str, Any] | None = None  # the model generating bok mode, when it is not `model`

    def record(self) -> dict[str, Any]:
        """What the run id hashes and the manifest keeps: an unpaired run leaves `bok_model` out, keeping the
        run id it had before pairing existed."""
        return self.model_dump(mode="json", exclude={"bok_model"} if self.bok_model is None else None)

    @property
    def run_id(self) -> str:
        return _digest(self.record(), 12)

    @property
    def command_id(self) -> str:
        named = {"version": self.version, "config": self.config,
                 "model": {k: self.model.get(k) for k in COMMAND_FIELDS}}
        if self.bok_model is not None:
            named["bok_model"] = {k: self.bok_model.get(k) for k in COMMAND_FIELDS}
        return _digest(named, 12)

    def mode_model(self, mode: str) -> dict[str, Any]:
        """The identity of the model that generates `mode`."""
        return self.bok_model if mode == "bok" and self.bok_model is not None else self.model

    def changes(self, earlier: Mapping[str, Any]) -> list[str]:
        """What differs from an earlier identity (a manifest's "identity"), as 'field: old -> new' lines."""
        return _differences(earlier, self.record(), "")


def run_identity(config: RunConfig, model: ModelIdentity, questions: Mapping[str, Sequence[Question]],
                 bok_model: ModelIdentity | None = None) -> RunIdentity:
    """`bok_model`: the identity of `config.bok_model`, which generates bok mode in a paired run."""
    if (bok_model is None) != (config.bok_model is None):
        raise ValueError(f"config.bok_model is {config.bok_model!r} but the bok model identity is "
                         f"{'missing' if bok_model is None else 'given'}")
    return RunIdentity(config=config.model_dump(mode="json"), model=model.model_dump(mode="json"),
                       data={task: data_hash(qs) for task, qs in questions.items()},
                       bok_model=None if bok_model is None else bok_model.model_dump(mode="json"))


def _differences(old: Any, new: Any, where: str) -> list[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return [line for key in sorted(set(old) | set(new), key=str)
                for line in _differences(old.get(key), new.get(key), f"{where}.{key}" if where else str(key))]
    if old == new:
        return []
    return [f"{where or 'identity'}: {json.dumps(old)} -> {json.dumps(new)}"]


def earlier_run(out: Path, identity: RunIdentity) -> tuple[Path, list[str]] | None:
    """The latest run directory under `out` started by the same command (same command id) whose identity
    differs, with what changed; None if there is none. Unreadable manifests are skipped: they are not runs of
    this command as far as can be told."""
    found: list[tuple[str, Path, Mapping[str, Any]]] = []
    root = Path(out)
    if not root.is_dir():
        return None
    for manifest_path in root.glob("*/manifest.json"):
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            continue
        earlier = manifest.get("identity") if isinstance(manifest, dict) else None
        if (isinstance(earlier, dict) and manifest.get("command_id") == identity.command_id
                and manifest.get("run_id") != identity.run_id):
            found.append((str(manifest.get("created") or ""), manifest_path.parent, earlier))
    if not found:
        return None
    _, path, earlier = max(found, key=lambda item: (item[0], str(item[1])))
    return path, identity.changes(earlier)
