"""Load and validate run directories for reading: manifest.json, samples.jsonl and metrics.json.

Everything is read through `mabench.store.RunReader`, the one reader of run directories, which never changes
them (only the runner's writer cuts off a half-written last line, so that a resumed run can redo it). A run
still in progress (manifest status "running") is refused unless the caller asks for it; it is then marked as
running and its metrics are computed from the records written so far (all default metrics but
semantic_diversity, which would load an embedding model).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from mabench.lmeval import LMEVAL_MODE, modes_of
from mabench.store import RunReader, RunStoreError
from mabench.types import MODES, SampleRecord

MANIFEST, SAMPLES, METRICS = "manifest.json", "samples.jsonl", "metrics.json"
EXPECTED = f"a run directory written by `mabench run` ({MANIFEST}, {SAMPLES}, {METRICS})"
STATUSES = ("running", "complete")
# Config fields that say what was evaluated rather than how: left out of the per-row config hash.
_IDENTITY_FIELDS = ("model", "bok_model", "tasks", "modes", "data_path")
_LOADS_A_MODEL = ("semantic_diversity",)

Metrics = dict[str, dict[str, dict[str, Any]]]  # task -> mode -> metric name -> entry


class UsageError(ValueError):
    """Bad input to a command; the message names the input and what was expected (exit code 2)."""


class RunDirError(UsageError):
    """A path that is not a usable run directory."""


@dataclass(frozen=True)
class RunDir:
    """One run directory, validated. `metrics` follows metrics.json: {task: {mode: {metric: entry}}}."""

    path: Path
    run_id: str
    status: str
    config: dict[str, Any]
    manifest: dict[str, Any] = field(repr=False)
    metrics: Metrics = field(repr=False)

    @property
    def model(self) -> str:
        return str(self.config.get("model", ""))

    def model_of(self, mode: str | None) -> str:
        """The model that generated `mode`: `--bok-model` for bok in a paired run, else `--model`."""
        return str(self.config.get("bok_model") or self.model) if mode == "bok" else self.model

    @property
    def model_fingerprint(self) -> str | None:
        return self.manifest.get("model_fingerprint")

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def cells(self) -> list[tuple[str, str]]:
        """The (task, mode) pairs this run has results for, tasks sorted, modes in MODES order (then lm-eval)."""
        return [(t, m) for t in sorted(self.metrics) for m in (*MODES, LMEVAL_MODE) if m in self.metrics[t]]

    @property
    def tasks(self) -> list[str]:
        return sorted(self.metrics)

    def entries(self, task: str, mode: str) -> dict[str, Any]:
        """The metric entries of one task x mode (empty when the run has none)."""
        return self.metrics.get(task, {}).get(mode, {})

    def config_hash(self, task: str) -> str:
        """Hash of how `task` was evaluated: the config without model, task list, mode list and other tasks'
        data paths. Rows with the same config_hash were evaluated the same way and can be ranked together."""
        return config_hash(self.config, task)

    @cached_property
    def _records(self) -> dict[tuple[str, str], list[SampleRecord]]:
        return latest_records(self.path)

    def records(self, task: str, mode: str) -> list[SampleRecord]:
        """The latest record of each question of one task x mode, sorted by question id, without those whose
        generation failed (the metrics leave them out too)."""
        return [r for r in self._records.get((task, mode), []) if r.error is None]


def config_hash(config: dict[str, Any], task: str) -> str:
    settings = {key: value for key, value in config.items() if key not in _IDENTITY_FIELDS}
    settings["data_path"] = (config.get("data_path") or {}).get(task)
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:12]


def config_differences(a: dict[str, Any], b: dict[str, Any], name_a: str, name_b: str) -> list[str]:
    """How two run configs differ, leaving out what is expected to differ (model, task and mode lists)."""
    keys = sorted((set(a) | set(b)) - {"model", "tasks", "modes"})
    return [f"{k} {a.get(k)!r} ({name_a}) vs {b.get(k)!r} ({name_b})" for k in keys if a.get(k) != b.get(k)]


def latest_records(run_dir: Path) -> dict[tuple[str, str], list[SampleRecord]]:
    """{(task, mode): records sorted by question id}, keeping the last record of a question logged twice
    (a failed attempt, then its retry). An unterminated last line (a write in progress, or a killed run) is
    skipped, never cut off; a corrupt line elsewhere is an error naming file and line."""
    reader = RunReader(run_dir)
    if not reader.samples.is_file():
        raise RunDirError(f"{reader.samples}: missing; expected {EXPECTED}")
    latest = _reading(reader.latest)
    grouped: dict[tuple[str, str], list[SampleRecord]] = {}
    for (task, mode, _), record in sorted(latest.items()):
        grouped.setdefault((task, mode), []).append(record)
    return grouped


def load_run(path: Path, *, include_running: bool = False) -> RunDir:
    """Read and validate one run directory. Raises `RunDirError` naming the path and what was expected."""
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: no such directory; expected {EXPECTED}")
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory; expected {EXPECTED}")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        what = "empty directory" if not any(path.iterdir()) else f"no {MANIFEST}"
        raise RunDirError(f"{path}: {what}; expected {EXPECTED}")
    manifest = _read_json(RunReader(path).read_manifest, manifest_path)
    config = manifest.get("config")
    missing = [key for key in ("run_id", "status", "config") if key not in manifest]
    if missing or not isinstance(config, dict):
        raise RunDirError(f"{manifest_path}: lacks {', '.join(missing) or 'a config object'}; "
                          "expected a manifest with run_id, status and config")
    status = manifest["status"]
    if status not in STATUSES:
        raise RunDirError(f"{manifest_path}: unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    for key in ("tasks", "modes"):
        if not isinstance(config.get(key), list) or not config[key]:
            raise RunDirError(f"{manifest_path}: config.{key} must be a non-empty list, got {config.get(key)!r}")
    if status == "running" and not include_running:
        raise RunDirError(
            f"{path}: run {manifest['run_id']} is still in progress (manifest status 'running'); wait for it "
            "to finish (or resume it with the same `mabench run` command), or pass --include-running to "
            "include it marked as running"
        )
    metrics = _live_metrics(path, manifest) if status == "running" else _complete_metrics(path, config)
    return RunDir(path=path, run_id=str(manifest["run_id"]), status=status, config=config, manifest=manifest,
                  metrics=metrics)


def load_one(path: Path, *, include_running: bool = False) -> RunDir:
    """`load_run`, also accepting a folder that holds exactly one run directory (such as a `--out` folder)."""
    found = _expand(Path(path))
    if len(found) > 1:
        raise RunDirError(f"{path}: holds {len(found)} run directories ({', '.join(p.name for p in found)}); "
                          "expected one: name it")
    return load_run(found[0], include_running=include_running)


def load_runs(paths: Iterable[Path], *, include_running: bool = False) -> list[RunDir]:
    """Load run directories in order. A folder without a manifest that holds run directories (such as
    `runs/`) stands for all of them. The same directory given twice is loaded once."""
    paths = list(paths)
    if not paths:
        raise RunDirError(f"no run directory given; expected {EXPECTED}")
    runs: list[RunDir] = []
    seen: set[Path] = set()
    for path in paths:
        for one in _expand(Path(path)):
            if one.resolve() not in seen:
                seen.add(one.resolve())
                runs.append(load_run(one, include_running=include_running))
    return runs


def coverage_notes(runs: Sequence[RunDir]) -> list[str]:
    """Messages for runs that do not cover the same tasks and modes (empty when they all match)."""
    notes = []
    for what, cover in (("tasks", lambda r: r.tasks), ("task x mode cells", _cell_names)):
        sets = {r.run_id: cover(r) for r in runs}
        if len({tuple(v) for v in sets.values()}) > 1:
            listed = "; ".join(f"run {rid}: {', '.join(v) or 'none'}" for rid, v in sets.items())
            notes.append(f"runs cover different {what} ({listed}); each row shows what its run has, so compare "
                         "rows of the same task and mode only")
            break
    return notes


def duplicate_notes(runs: Sequence[RunDir]) -> list[str]:
    by_id: dict[str, list[Path]] = {}
    for run in runs:
        by_id.setdefault(run.run_id, []).append(run.path)
    return [f"run {rid} appears in several directories ({', '.join(map(str, ps))}); each is listed"
            for rid, ps in by_id.items() if len(ps) > 1]


def running_notes(runs: Sequence[RunDir]) -> list[str]:
    return [f"{r.path}: run {r.run_id} is still in progress; its numbers cover the records written so far "
            "and are marked 'running'" for r in runs if r.running]


def _cell_names(run: RunDir) -> list[str]:
    return [f"{t}/{m}" for t, m in run.cells]


def _expand(path: Path) -> list[Path]:
    if path.is_dir() and not (path / MANIFEST).exists():
        children = sorted(p for p in path.iterdir() if (p / MANIFEST).is_file())
        if children:
            return children
    return [path]


def _complete_metrics(path: Path, config: dict[str, Any]) -> Metrics:
    metrics_path = path / METRICS
    if not metrics_path.is_file():
        raise RunDirError(f"{path}: partial run directory: the manifest says complete but {METRICS} is "
                          f"missing; expected {EXPECTED} (rerun the same `mabench run` command to rebuild it)")
    if not (path / SAMPLES).is_file():
        raise RunDirError(f"{path}: partial run directory: {SAMPLES} is missing; expected {EXPECTED}")
    metrics = _read_json(RunReader(path).read_metrics, metrics_path)
    _check_layout(metrics, metrics_path)
    missing = [f"{t}/{m}" for t in config["tasks"] for m in modes_of(t, config["modes"])
               if m not in metrics.get(t, {})]
    if missing:
        raise RunDirError(f"{metrics_path}: partial: no results for {', '.join(missing)}, which the manifest "
                          "lists; expected every task x mode of the run's config")
    return metrics


def _live_metrics(path: Path, manifest: dict[str, Any]) -> Metrics:
    """Metrics of the records written so far, laid out as the runner's metrics.json: every default metric
    except those that load a model (semantic_diversity), so that a look at a running run stays quick."""
    from mabench.metrics import DEFAULT_METRICS, run_metrics

    config = manifest["config"]
    grouped = latest_records(path) if (path / SAMPLES).is_file() else {}
    wanted = {(t, m): grouped[(t, m)] for t in config["tasks"] for m in config["modes"] if grouped.get((t, m))}
    if not wanted:
        raise RunDirError(f"{path}: run {manifest['run_id']} is in progress and has no complete record yet; "
                          f"expected at least one record in {SAMPLES}")
    metrics = tuple(m for m in DEFAULT_METRICS if m.spec.name not in _LOADS_A_MODEL)
    return run_metrics([r for group in wanted.values() for r in group], metrics)


def _check_layout(metrics: Any, path: Path) -> None:
    ok = isinstance(metrics, dict) and all(
        isinstance(modes, dict) and all(isinstance(entries, dict) for entries in modes.values())
        for modes in metrics.values()
    )
    if not ok:
        raise RunDirError(f"{path}: expected {{task: {{mode: {{metric: entry}}}}}}")


_T = TypeVar("_T")


def _reading(read: Callable[[], _T]) -> _T:
    """Call one of RunReader's methods; what it cannot read is bad input here (exit 2), named as it says."""
    try:
        return read()
    except RunStoreError as err:
        raise RunDirError(str(err)) from None


def _read_json(read: Callable[[], dict[str, Any] | None], path: Path) -> dict[str, Any]:
    value = _reading(read)
    if value is None:  # removed since it was listed
        raise RunDirError(f"{path}: missing; expected {EXPECTED}")
    return value
