"""An exclusive, advisory lock on a run directory, so that one process at a time writes it.

Two `mabench run` with the same configuration would otherwise both generate the missing records and append
them twice. The lock is `flock` on `<run dir>/.lock`: the kernel drops it when its holder exits, however it
exits (a SIGKILL included), so a killed run never leaves a stale lock behind. The file also says who holds
it (pid, host, since when), for the message the next process prints; that text is only informative.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = ".lock"


class RunLockedError(RuntimeError):
    """Another process holds the run directory's lock."""


class RunLock:
    """Holds `<run_dir>/.lock` from `acquire()` to `release()`. Not reentrant: a second RunLock on the same
    directory, in this process or another, is refused while the first is held (flock locks belong to the
    open file, not to the process)."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise `RunLockedError` naming the directory and its holder; never waits."""
        if self._fd is not None:
            return
        while True:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:  # the folder was removed in between by a holder releasing it: again
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunLockedError(
                    f"{self.path.parent}: another mabench process is writing this run directory "
                    f"({self.holder()}); wait for it to finish, or write elsewhere with another --out"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            if _same_file(fd, self.path):
                break
            os.close(fd)  # its holder removed the file (and the folder) on release, after we opened it: again
        holder = {"pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        self._fd = fd

    def release(self, *, remove: bool = False) -> None:
        """Drop the lock. `remove`: also delete the lock file, and the folder if that leaves it empty (a run
        that wrote nothing leaves nothing behind); safe because `acquire` checks it locked the current file."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            if remove:
                self.path.unlink()
                self.path.parent.rmdir()
            else:
                os.ftruncate(fd, 0)  # the holder's details describe a live holder only
        os.close(fd)  # closing the last descriptor of the open file drops the flock

    def __del__(self) -> None:  # a writer dropped without close() must not keep its directory locked
        if self._fd is not None:
            os.close(self._fd)

    def holder(self) -> str:
        """Who holds the lock, as its file says ("holder unknown" while it is still being written)."""
        try:
            info = json.loads(self.path.read_text())
            return f"pid {int(info['pid'])} on host {info['host']}, since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "holder unknown"


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
