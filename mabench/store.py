"""A run directory: manifest.json, append-only samples.jsonl, metrics.json, comparison.json.

`RunReader` is the one way to read a run directory, and it never changes it: replay, leaderboards, compare,
check and report read other runs through it, even runs still being written or on read-only storage.
`RunStore` is the one writer: it adds appending, atomic JSON writes, `--fresh` and repair on top, and only
while it holds the directory's lock (`mabench.runlock`), so that one process at a time writes a run.

samples.jsonl is written one batch at a time, as whole lines, and fsynced. A killed run leaves at most one
partial last line: the reader skips it, and the writer's `repair` cuts it off so that its batch is redone.
JSON files are replaced atomically (a temporary file of this process, fsync, rename, fsync of the folder), so
a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from .runlock import LOCK_NAME, RunLock, RunLockedError
from .types import SampleRecord

log = logging.getLogger(__name__)

__all__ = ["Invocation", "RunLockedError", "RunReader", "RunStore", "RunStoreError"]

ExitState = Literal["running", "complete", "failed", "interrupted"]
_TO_RESTART = "to start this run over, rerun the `mabench run` command that made it with --fresh"
_TO_REBUILD = "rerun the `mabench run` command that made it to rebuild it from samples.jsonl"


class RunStoreError(RuntimeError):
    """A run directory that cannot be read back safely, or is being written by another process."""


class Invocation(BaseModel):
    """One `mabench run` on a run directory, kept in the manifest's `invocations` list. `exit` stays "running"
    while it runs; a run killed outright is marked "interrupted" by the next invocation, which can tell
    because it holds the lock that the killed one held."""

    mabench: str | None
    git_sha: str | None
    host: str
    pid: int
    argv: list[str]
    start: str
    end: str | None = None
    exit: ExitState = "running"
    error: str | None = None  # the exception's type, for a failed invocation
    fresh: bool = False  # this invocation discarded the earlier results


class RunReader:
    """Read-only access to one run directory. Missing files read as None (or no records); a file that is
    there but cannot be read back raises `RunStoreError` naming it and what to do."""

    def __init__(self, run_dir: Path):
        self.dir = Path(run_dir)
        self.samples = self.dir / "samples.jsonl"
        self.manifest_path = self.dir / "manifest.json"
        self.metrics_path = self.dir / "metrics.json"
        self.comparison_path = self.dir / "comparison.json"

    def records(self) -> list[SampleRecord]:
        """Every whole record of samples.jsonl, in file order (a question logged twice appears twice)."""
        return self._scan()[0]

    def latest(self) -> dict[tuple[str, str, str], SampleRecord]:
        """{(task, mode, question id): its last record}: a failed attempt followed by its retry keeps the retry."""
        return {(r.task, r.mode, r.question_id): r for r in self.records()}

    def read_manifest(self) -> dict[str, Any] | None:
        return self._read_json(self.manifest_path, _TO_RESTART)

    def read_metrics(self) -> dict[str, Any] | None:
        return self._read_json(self.metrics_path, _TO_REBUILD)

    def read_comparison(self) -> dict[str, Any] | None:
        return self._read_json(self.comparison_path, _TO_REBUILD)

    def _scan(self) -> tuple[list[SampleRecord], int]:
        """The records of samples.jsonl and the length of its sound part: the bytes up to the end of the last
        whole, valid line. Beyond it there may be one unterminated or unreadable last line, left by a run
        killed mid-write (or being written now); anything unreadable before that is an error."""
        try:
            data = self.samples.read_bytes()
        except FileNotFoundError:
            return [], 0
        lines = data.split(b"\n")  # lines[-1] is b"" or an unterminated write
        records: list[SampleRecord] = []
        offset = sound = 0
        for number, line in enumerate(lines[:-1], start=1):
            offset += len(line) + 1
            if line.strip():
                try:
                    records.append(SampleRecord.model_validate_json(line))
                except (ValueError, ValidationError) as err:
                    if number == len(lines) - 1:  # the last whole line of a run killed mid-write
                        break
                    raise RunStoreError(
                        f"{self.samples}:{number}: corrupt sample record ({_first_line(err)}); only the last line "
                        f"of a killed run may be incomplete; {_TO_RESTART}"
                    ) from None
            sound = offset
        return records, sound

    @staticmethod
    def _read_json(path: Path, remedy: str) -> dict[str, Any] | None:
        try:
            value = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError as err:  # JSONDecodeError, or bytes that are not UTF-8 (a torn or foreign file)
            raise RunStoreError(f"{path}: not valid JSON ({_first_line(err)}); {remedy}") from None
        if not isinstance(value, dict):
            raise RunStoreError(f"{path}: expected a JSON object, got {type(value).__name__}; {remedy}")
        return value


class RunStore(RunReader):
    """The writer of one run directory. Every change first takes the directory's lock (`RunLockedError`, a
    `RunStoreError`, if another process holds it) and keeps it until `close()`; as a context manager it also
    closes this process's invocation in the manifest with its exit state. Holding the lock across the whole
    run is what makes reading the records, generating the missing ones and appending them one step."""

    def __init__(self, run_dir: Path, invocation: Invocation | None = None):
        super().__init__(run_dir)
        self._lock = RunLock(self.dir)
        self._invocation = invocation
        self._earlier: list[dict[str, Any]] | None = None  # invocations before this one, read once

    def __enter__(self) -> RunStore:
        self._hold()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        try:
            if self._invocation is not None and self._lock.held:
                state: ExitState = ("complete" if error is None else
                                    "interrupted" if isinstance(error, KeyboardInterrupt) else "failed")
                try:
                    self._end_invocation(state, None if error is None else type(error).__name__)
                except OSError:
                    if error is None:
                        raise  # else the error on its way out says more than this one (disk full, ...)
        finally:
            self.close()

    def close(self) -> None:
        """Release the lock; a directory this writer left holding nothing but its lock is removed."""
        if self._lock.held:
            self._lock.release(remove=[p.name for p in self.dir.iterdir()] == [LOCK_NAME])

    def repair(self) -> None:
        """Cut off the partial last line a killed run left, so that its batch is generated again."""
        self._hold()
        try:
            size = self.samples.stat().st_size
        except FileNotFoundError:
            return
        sound = self._scan()[1]
        if sound < size:
            log.warning("%s: incomplete last record dropped; it will be redone", self.samples)
            with self.samples.open("r+b") as f:
                f.truncate(sound)
                os.fsync(f.fileno())

    def reset(self) -> None:
        """--fresh: discard everything this run directory holds but its lock, which this process keeps, so
        that no other process can start on it meanwhile. The invocation history is kept."""
        self._hold()
        try:
            self._invocations()
        except RunStoreError:  # an unreadable manifest is being discarded anyway
            self._earlier = []
        if self._invocation is not None:
            self._invocation.fresh = True
        for entry in self.dir.iterdir():
            if entry.name == LOCK_NAME:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def append(self, records: Sequence[SampleRecord]) -> None:
        if not records:
            return
        self._hold()
        payload = "".join(r.model_dump_json() + "\n" for r in records).encode()
        with self.samples.open("ab") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Write the manifest, with this directory's invocation history (this invocation last) as `invocations`."""
        self._hold()
        history = self._invocations()
        self._write_json(self.manifest_path, {**manifest, "invocations": history} if history else manifest)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        self._write_json(self.metrics_path, metrics)

    def write_comparison(self, comparison: dict[str, Any]) -> None:
        self._write_json(self.comparison_path, comparison)

    def _hold(self) -> None:
        try:
            self._lock.acquire()
        except RunLockedError as err:
            raise RunStoreError(str(err)) from None
        except OSError as err:
            raise RunStoreError(f"{self.dir}: cannot lock this run directory for writing ({err}); expected a "
                                "writable folder") from None

    def _invocations(self) -> list[dict[str, Any]]:
        if self._earlier is None:
            earlier = (self.read_manifest() or {}).get("invocations")
            # Whoever is still "running" here died without closing its entry: this process holds its lock now.
            self._earlier = [{**e, "exit": "interrupted"} if isinstance(e, dict) and e.get("exit") == "running"
                             else e for e in (earlier if isinstance(earlier, list) else [])]
        current = [self._invocation.model_dump(mode="json")] if self._invocation is not None else []
        return [*self._earlier, *current]

    def _end_invocation(self, state: ExitState, error: str | None) -> None:
        assert self._invocation is not None
        self._invocation.end = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._invocation.exit = state
        self._invocation.error = error
        try:
            manifest = self.read_manifest()
        except RunStoreError:
            return  # the error being raised says so already; nothing to add it to
        if manifest is not None:
            self.write_manifest(manifest)

    def _write_json(self, path: Path, value: dict[str, Any]) -> None:
        """Replace `path` atomically, through a temporary file only this process uses."""
        self._hold()
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(value, indent=2, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.dir)


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the folder that holds the renamed file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
