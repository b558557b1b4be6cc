"""Docker backend: one locked-down container per program, through the ``docker`` SDK.

Slower than the bwrap worker (a container start per program); used only when asked for by name
(``SandboxConfig(backend="docker")``, ``--sandbox docker``), never chosen automatically. Inside the
container the same runtime (``inside/worker.py``) enforces rlimits and the deadline; the container adds
no network, a read-only root, a tmpfs /tmp, an unprivileged user without capabilities, and
pids/memory limits. Removing the container kills everything the program started.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from typing import Any

from .config import Program, SandboxConfig
from .inside.protocol import FrameDecoder
from .isolation import _PROBE_ISOLATED, VERDICT_LAYER, Unavailable
from .layout import SANDBOX_ENV, worker_argv, worker_config
from .result import ExecutionResult, classify, sandbox_error

log = logging.getLogger("mabench.sandbox")
MAX_REQUEST_CHARS = 100_000  # the request travels in an environment variable (execve limit: 128 KiB)


class DockerBackend:
    def __init__(self, config: SandboxConfig) -> None:
        try:
            import docker
        except ImportError as error:
            raise Unavailable(f"the 'docker' Python package is not installed ({error})") from None
        self.config = config
        self._errors: tuple[type[BaseException], ...] = (docker.errors.DockerException, OSError)
        try:
            self.client: Any = docker.from_env(timeout=10)
            self.client.ping()
            version = self.client.version().get("Version", "unknown")
        except self._errors as error:
            raise Unavailable(f"no Docker engine reachable ({error})") from None
        try:
            self.client.images.get(config.docker_image)
        except docker.errors.ImageNotFound:
            # Said before it starts (a pull can take minutes and fetch hundreds of MB); only ever
            # here, when the sandbox opens, never while programs run.
            log.warning("mabench sandbox: Docker image %r is not present locally; pulling it now "
                        "(docker pull %s)", config.docker_image, config.docker_image)
            try:
                self.client.images.pull(config.docker_image)
            except self._errors as error:
                raise Unavailable(f"image {config.docker_image!r} unavailable ({error})") from None
        probe = self.run(Program(_PROBE_ISOLATED.replace("HIDDEN", "[]"), timeout_s=20))
        if not probe.passed or probe.stdout.strip() != "isolated":
            raise Unavailable(f"probe failed: {probe.detail} {probe.stderr.strip()[-300:]}")
        self.reason = f"Docker engine {version} reachable; image {config.docker_image}; probe passed"
        self.layers = (
            VERDICT_LAYER,
            "one container per program, removed afterwards (kills every process it started)",
            "network_mode=none, read-only root, tmpfs /tmp",
            f"user {config.uid}:{config.gid}, cap_drop=ALL, no-new-privileges",
            f"pids_limit={config.max_processes + 8}, memory limit per container",
            "rlimits: address space, CPU seconds, processes, file size, open files, core",
        )

    def run(self, program: Program) -> ExecutionResult:
        request = program.request(self.config)
        payload = json.dumps(request)
        if len(payload) > MAX_REQUEST_CHARS:
            return sandbox_error(f"program and tests exceed {MAX_REQUEST_CHARS} characters, "
                                 "the docker backend's limit")
        limits = request["limits"]
        memory = f"{program.memory_mb + 2 * limits['tmp_mb'] + 64}m"
        start = time.monotonic()
        try:
            container = self.client.containers.create(
                self.config.docker_image,
                command=worker_argv("python3", worker_config("plain", uid=self.config.uid,
                                                             gid=self.config.gid, oneshot=True)),
                environment={**SANDBOX_ENV, "MABENCH_REQUEST": payload},
                user=f"{self.config.uid}:{self.config.gid}", network_mode="none", read_only=True,
                tmpfs={"/tmp": f"size={limits['tmp_mb']}m,mode=1777"}, working_dir="/tmp",
                cap_drop=["ALL"], security_opt=["no-new-privileges"],
                pids_limit=self.config.max_processes + 8, mem_limit=memory, memswap_limit=memory,
            )
        except self._errors as error:
            return sandbox_error(f"could not create a container: {error}")
        try:
            container.start()
            container.wait(timeout=program.timeout_s + self.config.grace_s + 10)
            frames = FrameDecoder().feed(container.logs(stdout=True, stderr=False))
            if not frames:
                return sandbox_error("container ended without a result: "
                                     + container.logs(stdout=False, stderr=True).decode(errors="replace")[-500:],
                                     time.monotonic() - start)
            return classify(frames[0], program.timeout_s)
        except Exception as error:  # requests' ReadTimeout, engine errors...
            return sandbox_error(f"container did not finish: {error!r}", time.monotonic() - start)
        finally:
            with contextlib.suppress(self._errors):
                container.remove(force=True)

    def close(self) -> None:
        self.client.close()
