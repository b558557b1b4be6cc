"""Host-side handle on one long-lived sandboxed worker process."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from typing import Any

from .cgroups import WorkerCgroup
from .inside.protocol import FrameDecoder, Tail, encode_frame
from .layout import SANDBOX_ENV

# Join the cgroup(s) first, then become the sandbox, so that no process escapes the count.
_ATTACH = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"'


class WorkerProcess:
    """Requests go to the worker's stdin and results come back on its stdout, as frames.

    Programs write their stdout and stderr straight into pipes that the host reads (the
    worker never holds program output). There are two pairs, used by alternate jobs, so a
    second request can wait in the worker while the first job's output is still drained.
    """

    DEPTH = 2  # jobs in flight per worker: one running, one queued

    def __init__(self, command: Callable[[tuple[int, ...], tuple[int, ...]], list[str]], *,
                 cgroup: WorkerCgroup | None = None, scratch: str | None = None) -> None:
        """``command(stdout_fds, stderr_fds)`` builds the argv; programs will write to those fds.
        ``scratch``, if given, is a directory removed once the worker is gone."""
        self.cgroup, self._scratch = cgroup, scratch
        pipes = [os.pipe() for _ in range(2 * self.DEPTH)]  # stdout, stderr of job 0; of job 1
        writers = tuple(w for _, w in pipes)
        argv = command(writers[0::2], writers[1::2])
        if cgroup is not None:
            files = cgroup.procs_files()
            argv = ["/bin/sh", "-c", _ATTACH, "sh", str(len(files)), *files, *argv]
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the worker)
        self._decoder = FrameDecoder()
        try:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, pass_fds=writers,
                env=dict(SANDBOX_ENV), start_new_session=True, bufsize=0,
            )
        finally:
            for fd in writers:
                os.close(fd)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        self.output_fds = tuple(r for r, _ in pipes)
        for fd in (self._stdout.fileno(), *self.output_fds):
            os.set_blocking(fd, False)
        self._tails = [Tail(0) for _ in self.output_fds]
        self._sent = 0
        self._oom_kills = cgroup.oom_kills() if cgroup is not None else 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def fileno(self) -> int:
        return self._stdout.fileno()

    def send(self, request: dict[str, Any]) -> int | None:
        """Queue a job; its slot (0 or 1: which output pipes it uses), None if the worker is gone."""
        slot = self._sent % self.DEPTH
        limit = request["limits"]["output_bytes"]
        self._tails[2 * slot : 2 * slot + 2] = [Tail(limit), Tail(limit)]
        view = memoryview(encode_frame(request))
        try:
            while view:
                view = view[os.write(self._stdin.fileno(), view) :]
        except (BrokenPipeError, ValueError, OSError):
            return None
        self._sent += 1
        return slot

    def receive(self) -> list[dict[str, Any]] | None:
        """Frames that have arrived; None once the worker has closed its stdout."""
        frames: list[dict[str, Any]] = []
        while True:
            try:
                chunk = os.read(self.fileno(), 1 << 16)
            except BlockingIOError:
                return frames
            if not chunk:
                return frames or None
            frames += self._decoder.feed(chunk)

    def drain(self, fd: int) -> bool:
        """Move program output waiting in ``fd`` into its job's tail; False at end of stream."""
        tail = self._tails[self.output_fds.index(fd)]
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            tail.add(chunk)

    def finish_output(self, result: dict[str, Any], slot: int) -> dict[str, Any]:
        """Add a job's output to its result frame. Every writer is dead by now, so what is
        left in its pipes is all there is."""
        for name, index in (("stdout", 2 * slot), ("stderr", 2 * slot + 1)):
            self.drain(self.output_fds[index])
            tail = self._tails[index]
            result[name], result[f"{name}_truncated"] = tail.text(), tail.truncated
        return result

    def oom_killed(self) -> bool:
        """Whether the cgroup's OOM killer struck since the last time we asked."""
        if self.cgroup is None:
            return False
        before, self._oom_kills = self._oom_kills, self.cgroup.oom_kills()
        return self._oom_kills > before

    def call(self, request: dict[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """Send one request and wait for its result (used to probe a fresh worker)."""
        slot = self.send(request)
        if slot is None:
            return None
        fds = [self.fileno(), *self.output_fds]
        while select.select(fds, [], [], timeout_s)[0]:
            for fd in self.output_fds:
                self.drain(fd)
            frames = self.receive()
            if frames is None:
                return None
            if frames:
                return self.finish_output(frames[0], slot) if frames[0].get("kind") == "result" else frames[0]
        return None

    def diagnostics(self, limit: int = 2000) -> str:
        """The tail of the worker's own stderr (bwrap or Python errors)."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - limit))
        return self._stderr.read().decode("utf-8", "replace").strip()

    def kill(self) -> None:
        """Kill the worker and, through namespace teardown or the cgroup, all it started."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._finish()

    def close(self, timeout_s: float = 5.0) -> None:
        """Ask the worker to exit (end of requests); kill it if it does not."""
        with contextlib.suppress(OSError):
            self._stdin.close()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._finish()

    def _finish(self) -> None:
        if self._stdin.closed and self._stdout.closed:
            return
        self.process.wait()
        if self.cgroup is not None:
            self.cgroup.remove()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
        for stream in (self._stdin, self._stdout, self._stderr):
            with contextlib.suppress(OSError):
                stream.close()
        for fd in self.output_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
