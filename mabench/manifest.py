"""What a run directory must say about itself to be reproducible."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .backends.credentials import redact_args
from .config import RunConfig
from .identity import RunIdentity
from .store import Invocation

TRAINING_RECORD = "mabench_train.json"
_PACKAGES = ("mabench", "torch", "transformers", "tokenizers", "numpy", "pydantic")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_sha() -> str | None:
    """The commit of the mabench source tree, when it is a git checkout (editable installs)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def training_record(model: str) -> dict[str, Any] | None:
    """What `mabench train` left beside a checkpoint it wrote (method, base model, config), if anything."""
    from .backends import bundled

    kind, _, rest = model.partition(":")
    if kind == bundled.PREFIX and rest:
        folder = bundled.FOLDER / rest
    else:
        folder = Path(rest if kind in ("hf", "vllm") and rest else model)
    path = folder / TRAINING_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def _model_fingerprint(model: dict[str, Any]) -> str:
    from .backends.identity import ModelIdentity

    return ModelIdentity.model_validate(model).fingerprint()


def synthetic_data(config: RunConfig) -> list[str]:
    """The run's tasks that read a synthetic bundled sample (their spec says so and no --data-path replaced
    it), recorded so that nobody takes those scores for real ones. Unregistered tasks count as real."""
    from mabench.tasks import available_tasks, synthetic_tasks

    registered = available_tasks()
    classes = {name: registered[name].load() for name in config.tasks if name in registered}
    return synthetic_tasks(classes, config.data_path)


def build_manifest(config: RunConfig, backend: Backend, status: str, identity: RunIdentity) -> dict[str, Any]:
    """`identity` is what the run id hashes (config, model identities, data hashes); `command_id` lets a repeated
    command find this run after its model or data changed (`mabench.identity.earlier_run`). The runner adds
    `train_overlap` (`mabench.contamination.manifest_entry`)."""
    return {
        "run_id": identity.run_id,
        "command_id": identity.command_id,
        "identity": identity.record(),
        "status": status,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "backend": backend.name,
        "model_fingerprint": _model_fingerprint(identity.model),
        # Which model generated each mode (a paired run: --bok-model for bok); the runner adds each backend.
        "mode_models": {mode: {"model": config.model_for(mode),
                               "fingerprint": _model_fingerprint(identity.mode_model(mode))}
                        for mode in config.modes},
        "trained_by": training_record(config.model),
        **({"bok_trained_by": training_record(config.bok_model)} if config.bok_model is not None else {}),
        "synthetic_data": synthetic_data(config),
        "chat_template_hash": backend.chat_template_hash,
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_sha": git_sha(),
    }


def invocation() -> Invocation:
    """This process's entry in the manifest's invocation history. URL credentials (`https://user:key@host`,
    `?api_key=...`) are cut out of the command line before it is recorded (`credentials.redact_args`)."""
    return Invocation(
        mabench=package_versions()["mabench"], git_sha=git_sha(), host=socket.gethostname(), pid=os.getpid(),
        argv=redact_args(sys.argv),
        start=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
