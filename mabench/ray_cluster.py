"""Joining a Ray cluster: the one place mabench calls ``ray.init``, so generation and code execution share one
connection, and a missing Ray or an unreachable address is one clear error instead of a traceback or a hang.
Ray is an optional extra and is imported only here, only when asked for."""

from __future__ import annotations

import os
import socket
from types import ModuleType

INSTALL = "pip install 'mabench[ray]'"
PROBE_TIMEOUT_S = 5.0  # ray.init retries an unreachable address for minutes; a TCP probe says so in seconds


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster address cannot be reached. The CLI exits 2 with this message."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or RayUnavailable naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable(f"Ray is not installed; install it with: {INSTALL}") from None
    return ray


def _probe(address: str) -> None:
    """Fail fast when ``host:port`` (or ``ray://host:port``) accepts no TCP connection."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise RayUnavailable(f"Ray address {address!r}: expected HOST:PORT (e.g. 10.0.0.1:6379), "
                             "ray://HOST:PORT, 'auto' or 'local'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S).close()
    except OSError as error:
        raise RayUnavailable(f"Ray address {address!r}: no Ray cluster answers there ({error}); start one with "
                             "`ray start --head` or fix --ray-address / RAY_ADDRESS") from None


def connect(address: str | None = None) -> None:
    """Join ``address``, else ``$RAY_ADDRESS``, else start a local Ray instance (``ray.init``'s own behaviour).
    Idempotent: an already initialised Ray (a test's, or the other half of the run's) is used as it is."""
    ray = require_ray()
    if ray.is_initialized():
        return
    target = address or os.environ.get("RAY_ADDRESS") or None
    if target is not None and target not in ("auto", "local"):
        _probe(target)
    try:
        ray.init(address=target)
    except ConnectionError as error:  # "auto" with no cluster running, or a probe that passed by chance
        raise RayUnavailable(f"Ray address {target!r}: {error}") from None
