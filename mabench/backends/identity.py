"""What a --model value denotes, found without loading the model: the model's part of a run's identity.

The run id and the response cache key are hashes of it, so anything here that changes starts a new run and
misses old cache entries:
- local checkpoints (hf, vllm, the embedded default): a content hash of the folder's files (`filehash`), the
  dtype and the device class (cpu, cuda) they run in, and for vLLM `max_model_len` and the engine arguments;
- Hub ids: the commit the id resolves to in the local Hugging Face cache;
- API models: the base URL with credentials removed, and what the server says about the model at
  `GET {base_url}/models` (vLLM reports the checkpoint path as `root`, and `max_model_len`), so a different
  checkpoint served under the same name is a different model;
- replay sources: a hash of the generations file.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .base import UnknownModelError
from .credentials import api_key, endpoint, redact_url, scrub, secrets_of
from .filehash import folder_hash
from .options import BackendOptions

# Fields of a /models entry that describe the served model. Others (vLLM's `created`, `permission`) change on
# every request and would make every run a new one.
SERVER_FIELDS = ("id", "root", "parent", "max_model_len", "owned_by")
COMMAND_FIELDS = ("backend", "model", "base_url", "settings")  # what the command line says, not what was found


class ModelIdentity(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: str
    model: str = Field(description="the --model value")
    weights: str | None = Field(None, description="content hash of the checkpoint folder, or of a replay file")
    revision: str | None = Field(None, description="Hub commit of a Hub id")
    dtype: str | None = None
    device: str | None = Field(None, description="device class: cpu or cuda")
    base_url: str | None = Field(None, description="API root, credentials removed")
    server: dict[str, Any] | None = Field(None, description="the server's /models entry for the model")
    settings: dict[str, Any] = Field(default_factory=dict, description="backend options that change outputs")

    def fingerprint(self) -> str:
        """A short hash of the whole identity: the manifest's model_fingerprint and the cache key's model part."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class ServerQueryError(UnknownModelError):
    """The API server could not tell what model it serves."""


def model_identity(model: str, options: BackendOptions | None = None) -> ModelIdentity:
    from . import DEFAULT_MODEL, resolve_model

    options = options or BackendOptions()
    kind, target = resolve_model(model)
    if kind == "openai":
        return _api_identity(model, target, options)
    if kind == "replay":
        path = Path(target)
        from .lmeval_replay import is_lmeval_source, samples_digest  # lm-eval --log_samples output

        if is_lmeval_source(path):
            return ModelIdentity(backend="replay", model=model, weights=f"sha256:{samples_digest(path)}")
        data = path / "samples.jsonl" if path.is_dir() else path
        return ModelIdentity(backend="replay", model=model, weights=f"sha256:{_sha256(data)}")
    if kind not in ("hf", "vllm"):  # a plugin's backend (registry.py): it says what identifies its model
        from .registry import backend_kind

        registered = backend_kind(kind)
        if registered is not None and registered.identify is not None:
            return registered.identify(model, target, registered.options.part_of(options))
        return ModelIdentity(backend=kind, model=model)
    if target == DEFAULT_MODEL:
        from .default_model import converted_folder

        target = str(converted_folder())  # the converted embedded model (converted now on first use)
    if kind == "vllm":
        from .vllm_backend import device_class

        settings: dict[str, Any] = {"max_model_len": options.max_model_len, "engine_args": options.engine_args}
        return ModelIdentity(backend="vllm", model=model, dtype=str(options.engine_args.get("dtype", "auto")),
                             device=device_class(), settings=settings, **_checkpoint(target))
    from .hf import identity_fields

    return ModelIdentity(backend="hf", model=model, **identity_fields(), **_checkpoint(target))


def _checkpoint(target: str) -> dict[str, str]:
    """A local folder's content hash, or the commit a Hub id resolves to."""
    if Path(target).is_dir():
        return {"weights": folder_hash(Path(target))}
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(target, allow_patterns=["config.json"])
    except Exception as err:  # noqa: BLE001 - offline, gated, missing: all end in the same message
        raise UnknownModelError(f"could not resolve the Hub id {target!r} to a revision ({type(err).__name__}: "
                                f"{err}); expected a local model folder or a Hub id that can be downloaded") from err
    return {"revision": Path(snapshot).name}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _api_identity(model: str, served: str, options: BackendOptions) -> ModelIdentity:
    if not options.base_url:
        raise UnknownModelError(f"{model} needs --base-url, e.g. http://localhost:8000/v1")
    key = api_key(model, options)
    return ModelIdentity(backend="openai", model=model, base_url=redact_url(options.base_url, key),
                         server=served_model(options.base_url, served, key, options.request_timeout),
                         settings={"tokenizer": options.tokenizer})  # counts tokens when the server does not


def served_model(base_url: str, served: str, key: str | None, timeout: float) -> dict[str, Any] | None:
    """The server's /models entry for `served`, reduced to SERVER_FIELDS; None when the server has no /models
    route (a 404 or 405). A server that cannot be reached, refuses the key, or does not list the model is an
    error: a run against it could not say which model answered."""
    url = endpoint(base_url, "models")
    where = redact_url(url, key)
    request = urllib.request.Request(url,
                                     headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            body = json.loads(response.read().decode("utf-8", errors="replace"))
    except urllib.error.HTTPError as err:
        if err.code in (404, 405):
            return None
        raise ServerQueryError(f"GET {where} answered HTTP {err.code}; the run identity needs the served "
                               f"model's description" + (" (is the API key right?)" if err.code in (401, 403)
                                                         else "")) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = scrub(str(getattr(err, "reason", err)), secrets_of(base_url, key))
        raise ServerQueryError(f"could not read {where}: {type(err).__name__}: {reason}; is the server "
                               "running at --base-url?") from None
    entries = body.get("data") if isinstance(body, dict) else None
    entry = next((e for e in entries or [] if isinstance(e, dict) and e.get("id") == served), None)
    if entry is None:
        listed = [e.get("id") for e in entries or [] if isinstance(e, dict)]
        raise ServerQueryError(f"GET {where} does not list the model {served!r}; it serves: {listed}")
    return {name: entry[name] for name in SERVER_FIELDS if name in entry}
