from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator

import pytest
from sandbox_testing import config_for, plain_python

from mabench.sandbox import Sandbox


def backend_skip_reason(backend: str) -> str | None:
    """Why a backend cannot be exercised on this machine (None: it can)."""
    if backend == "bwrap" and shutil.which("bwrap") is None:
        return "bubblewrap is not installed (apt-get install bubblewrap)"
    if backend == "unshare" and (os.geteuid() != 0 or shutil.which("unshare") is None):
        return "the unshare fallback needs root and util-linux unshare"
    if backend == "subprocess" and plain_python() is None:
        return "no Python whose standard library the program user (nobody) can read"
    return None


@pytest.fixture(scope="session")
def sandbox_for() -> Iterator[Callable[[str], Sandbox]]:
    """One warm single-worker sandbox per backend, shared by the tests of a session."""
    opened: dict[str, Sandbox] = {}

    def get(backend: str) -> Sandbox:
        reason = backend_skip_reason(backend)
        if reason:
            pytest.skip(reason)
        if backend not in opened:
            opened[backend] = Sandbox(1, config_for(backend))
        return opened[backend]

    yield get
    for sandbox in opened.values():
        sandbox.close()


@pytest.fixture
def token() -> str:
    """A unique name for the processes and files one hostile program creates (<= 15 chars)."""
    return "mbx" + secrets.token_hex(5)
