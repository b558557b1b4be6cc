"""What a run directory must say about itself to be reproducible."""

from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .config import RunConfig

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


def build_manifest(config: RunConfig, backend: Backend, status: str) -> dict[str, Any]:
    return {
        "run_id": config.run_id(),
        "status": status,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": config.model_dump(mode="json"),
        "seed": config.seed,
        "backend": backend.name,
        "model_fingerprint": backend.fingerprint,
        "chat_template_hash": backend.chat_template_hash,
        "packages": package_versions(),
        "python": platform.python_version(),
        "git_sha": git_sha(),
    }
