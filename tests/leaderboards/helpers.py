"""Invoking the CLI and reading its outputs in the leaderboard tests."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from mabench.cli import app

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def flat(text: str) -> str:
    """Text with runs of whitespace collapsed (messages may wrap)."""
    return " ".join(text.split())


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def documented_columns() -> list[str]:
    """The column names of docs/leaderboard-schema.md's table, in order."""
    doc = (ROOT / "docs" / "leaderboard-schema.md").read_text()
    return re.findall(r"^\| \d+ \| `([a-z0-9_]+)` \|", doc, flags=re.MULTILINE)
