"""Which isolation is active on this machine, for `mabench sandbox check` and run manifests."""

from __future__ import annotations

from .config import SandboxConfig
from .isolation import Isolation
from .pool import Sandbox


def describe_isolation(config: SandboxConfig | None = None) -> Isolation:
    """Probe the backends as a run would and report the one chosen, and why.

    Starts (and stops) one worker, so it reflects this machine now, not a guess.
    Raises SandboxUnavailable when no allowed backend works.
    """
    with Sandbox(1, config) as sandbox:
        return sandbox.isolation
