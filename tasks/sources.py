"""Reading a task's data: bundled samples, local files in their original formats, and Hub exports.

Every error is a `DataFormatError` whose message names the file (and the line or record) and says which
format was expected, so that a user can fix the file without reading the code.
"""

from __future__ import annotations

import gzip
import json
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .registry import DataFormatError

if TYPE_CHECKING:  # importlib.resources.abc is Python 3.11+; annotations only
    from importlib.resources.abc import Traversable

DataSource = Path | str | None  # a local path, a Hub spec ("hf:owner/name[:config][@split]") or None (bundled)


def bundled(name: str) -> Traversable:
    """A file shipped in `mabench.tasks/data/`."""
    return files("mabench.tasks").joinpath(f"data/{name}")


def require_file(path: Path | str, expected: str) -> Path:
    """The path, which must be an existing file; otherwise an error naming it and the expected format."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "no such file"
        raise DataFormatError(f"{path}: {what}; expected {expected}")
    return path


def read_text(source: Path | Traversable, name: str, expected: str) -> str:
    try:
        raw = source.read_bytes()
        if name.endswith(".gz"):
            raw = gzip.decompress(raw)
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise DataFormatError(f"{name}: cannot read ({err}); expected {expected}") from err


def read_json(source: Path | Traversable, name: str, expected: str) -> Any:
    try:
        return json.loads(read_text(source, name, expected))
    except json.JSONDecodeError as err:
        raise DataFormatError(f"{name}: not valid JSON ({err}); expected {expected}") from err


def read_json_array(source: Path | Traversable, name: str, expected: str) -> list[tuple[str, Any]]:
    """(where, record) for each element of a top-level JSON array; `where` is "FILE, record I"."""
    data = read_json(source, name, expected)
    if not isinstance(data, list):
        raise DataFormatError(f"{name}: expected a JSON array of records ({expected}), got {type(data).__name__}")
    return [(f"{name}, record {i}", record) for i, record in enumerate(data)]


def read_jsonl(source: Path | Traversable, name: str, expected: str) -> list[tuple[str, Any]]:
    """(where, record) for each non-blank line; `where` is "FILE, line N" (1-based). CRLF files are fine."""
    out = []
    for number, line in enumerate(read_text(source, name, expected).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"{name}, line {number}", json.loads(line)))
        except json.JSONDecodeError as err:
            raise DataFormatError(f"{name}, line {number}: not valid JSON ({err}); expected {expected}") from err
    return out


def read_records(source: Path | Traversable, name: str, expected: str) -> list[tuple[str, Any]]:
    """Records of a JSON array, a JSON-lines file (optionally gzipped), or a Parquet file (a Hub export)."""
    lower = name.lower()
    if lower.endswith(".parquet"):
        return read_parquet(Path(str(source)), expected)
    if lower.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        return read_jsonl(source, name, expected)
    text = read_text(source, name, expected)
    if text.lstrip().startswith("["):
        return read_json_array(source, name, expected)
    return read_jsonl(source, name, expected)


def read_parquet(path: Path, expected: str) -> list[tuple[str, Any]]:
    """Rows of a Parquet file, read through `datasets` exactly as a Hub download is."""
    rows = load_with_datasets(str(path), lambda ds: ds.load_dataset("parquet", data_files=str(path), split="train"))
    return [(f"{path}, row {i}", row) for i, row in enumerate(rows)]


def load_with_datasets(what: str, load: Any) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError as err:
        raise DataFormatError(f"{what}: reading this needs the `datasets` package (pip install datasets)") from err
    try:
        return load(datasets).to_list()
    except Exception as err:  # datasets raises many types (network, schema, missing config); name the source
        raise DataFormatError(f"{what}: could not be loaded with datasets ({type(err).__name__}: {err})") from err

