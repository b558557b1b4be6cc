"""A response cache in front of any backend: one SQLite row per generated sample.

The key hashes, as canonical JSON: the model's identity (`identity.ModelIdentity.fingerprint`: checkpoint
content hash, dtype, device, or the API server's base URL and its description of the model, the same identity
the run id covers), the full chat messages, every sampling parameter (temperature, top_p, max_new_tokens), the
request's n and seed, and the sample index. Changing any of them, e.g. the temperature or the checkpoint served
under a name, misses the cache. Failed generations (finish_reason "error") are never stored, so
a resumed run asks the model again for them.

The file lives in the run directory by default (`--fresh` discards it with the run), or at a shared path
(`--cache PATH`) that several runs and processes may use at once (WAL mode, busy timeout).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mabench.types import Generation

from .base import Backend, Closing, GenerationRequest, SamplingConfig

SCHEMA_VERSION = 1


def cache_key(fingerprint: str, request: GenerationRequest, sampling: SamplingConfig, sample_index: int) -> str:
    payload = {
        "v": SCHEMA_VERSION,
        "fingerprint": fingerprint,
        "messages": request.messages,
        "sampling": sampling.model_dump(mode="json"),
        "n": request.n,
        "seed": request.seed,
        "sample_index": sample_index,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, generation TEXT NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, Generation]:
        found: dict[str, Generation] = {}
        for start in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = keys[start: start + 500]
            rows = self._db.execute(
                f"SELECT key, generation FROM generations WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update((key, Generation.model_validate_json(value)) for key, value in rows)
        return found

    def put_many(self, items: Iterable[tuple[str, Generation]]) -> None:
        rows = [(key, gen.model_dump_json()) for key, gen in items if gen.finish_reason != "error"]
        if rows:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO generations VALUES (?, ?)", rows)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedBackend(Closing):
    """Serves cached samples and asks `inner` only for requests with a missing sample. A backend whose samples
    depend on the batch they were generated in (`batch_invariant` false: none of mabench's, but a plugin's may)
    is given the whole batch whenever anything is missing, so a cached run matches an uncached one exactly."""

    def __init__(self, inner: Backend, cache: ResponseCache, fingerprint: str | None = None):
        """`fingerprint` keys the cache (the model identity's fingerprint; `inner.fingerprint` if not given)."""
        self.inner = inner
        self.cache = cache
        self.name: str = inner.name
        self.fingerprint: str = fingerprint or inner.fingerprint
        self.chat_template_hash: str | None = inner.chat_template_hash
        self.preferred_batch_size: int | None = getattr(inner, "preferred_batch_size", None)
        self.batch_invariant: bool = getattr(inner, "batch_invariant", False)
        self.hits = 0
        self.lookups = 0

    def close(self) -> None:
        """Close the inner backend and the cache file."""
        try:
            close = getattr(self.inner, "close", None)
            if callable(close):
                close()
        finally:
            self.cache.close()

    def stats(self) -> dict[str, Any]:
        inner = getattr(self.inner, "stats", None)
        return {
            **(inner() if callable(inner) else {}),
            "cache": {"path": str(self.cache.path), "hits": self.hits, "lookups": self.lookups,
                      "hit_rate": self.hits / self.lookups if self.lookups else None},
        }

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        keys = [[cache_key(self.fingerprint, r, sampling, i) for i in range(r.n)] for r in requests]
        found = self.cache.get_many([k for ks in keys for k in ks])
        self.lookups += sum(len(ks) for ks in keys)
        missing = [i for i, ks in enumerate(keys) if not all(k in found for k in ks)]
        if missing and not self.batch_invariant:
            missing = list(range(len(requests)))
        fresh = self.inner.generate([requests[i] for i in missing], sampling) if missing else []
        regenerated = set(missing)
        out: list[list[Generation]] = [
            [] if i in regenerated else [found[k] for k in ks] for i, ks in enumerate(keys)
        ]
        for i, gens in zip(missing, fresh, strict=True):
            out[i] = gens
        self.hits += sum(len(ks) for i, ks in enumerate(keys) if i not in regenerated)
        self.cache.put_many((k, g) for i in missing for k, g in zip(keys[i], out[i], strict=True))
        return out
