"""A run directory: manifest.json, append-only samples.jsonl, metrics.json.

samples.jsonl is written one batch at a time, as whole lines, and fsynced. A killed run leaves at most one
partial last line, which `load_records` cuts off so that its batch is generated again.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .types import SampleRecord

log = logging.getLogger(__name__)


class RunStoreError(RuntimeError):
    """A run directory that cannot be read back safely."""


class RunStore:
    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)
        self.samples = self.dir / "samples.jsonl"
        self.manifest_path = self.dir / "manifest.json"
        self.metrics_path = self.dir / "metrics.json"
        self.comparison_path = self.dir / "comparison.json"

    def reset(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def load_records(self) -> list[SampleRecord]:
        if not self.samples.exists():
            return []
        data = self.samples.read_bytes()
        lines = data.split(b"\n")
        records: list[SampleRecord] = []
        offset = 0
        for number, line in enumerate(lines, start=1):
            is_last = number == len(lines)
            if line.strip():
                try:
                    if is_last:  # no newline after it: the write was cut short
                        raise ValueError("unterminated last line")
                    records.append(SampleRecord.model_validate_json(line))
                except (ValueError, ValidationError) as err:
                    if not is_last and number != len(lines) - 1:
                        raise RunStoreError(
                            f"{self.samples}:{number}: corrupt sample record ({err}); "
                            "only the last line of a killed run may be incomplete"
                        ) from err
                    log.warning("%s:%d: incomplete last record dropped; it will be redone", self.samples, number)
                    with self.samples.open("r+b") as f:
                        f.truncate(offset)
                    break
            offset += len(line) + 1
        return records

    def append(self, records: Sequence[SampleRecord]) -> None:
        if not records:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        payload = "".join(r.model_dump_json() + "\n" for r in records).encode()
        with self.samples.open("ab") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())

    def read_manifest(self) -> dict[str, Any] | None:
        return json.loads(self.manifest_path.read_text()) if self.manifest_path.exists() else None

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        self._write_json(self.manifest_path, manifest)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        self._write_json(self.metrics_path, metrics)

    def write_comparison(self, comparison: dict[str, Any]) -> None:
        self._write_json(self.comparison_path, comparison)

    def _write_json(self, path: Path, value: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
