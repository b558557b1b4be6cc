"""What a run directory must say about itself to be reproducible."""

from __future__ import annotations

import json
import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .config import RunConfig

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
    kind, _, rest = model.partition(":")
    path = Path(rest if kind in ("hf", "vllm") and rest else model) / TRAINING_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def build_manifest(config: RunConfig, backend: Backend, status: str) -> dict[str, Any]:
    return {
        "run_id": config.run_id(),
        "status": status,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "backend": backend.name,
        "model_fingerprint": backend.fingerprint,
        "trained_by": training_record(config.model),
        "chat_template_hash": backend.chat_template_hash,
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_sha": git_sha(),
    }
