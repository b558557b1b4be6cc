"""Helpers shared by the backend tests: invoke `mabench run`, read a run directory back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mabench.cli import app

FAST = ["--k", "3", "--max-new-tokens", "8", "--batch-size", "4", "--seed", "5", "--limit", "6"]


def mabench(*args: str) -> Any:
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False, env={"COLUMNS": "400"})


def openai_run(base_url: str, out: Path, *args: str) -> Any:
    """`mabench run` against the loopback server, which needs no key unless `args` name a key variable."""
    keyless = [] if "--api-key-env" in args else ["--api-key-env", "none"]
    return mabench("--model", "openai:tiny", "--base-url", base_url, "--out", str(out), *FAST, *keyless, *args)


def only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in Path(out).iterdir() if p.is_dir()]
    return run_dir


def lines(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def latest(run_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The last record of each (mode, question id), as the runner reads them."""
    return {(r["mode"], r["question_id"]): r for r in lines(run_dir)}


def manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text())


def texts(record: dict[str, Any]) -> list[str]:
    return [g["text"] for g in record["generations"]]


def flat(output: str) -> str:
    """CLI output with rich's line wrapping undone."""
    return " ".join(output.split())
