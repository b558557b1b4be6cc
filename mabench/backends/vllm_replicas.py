"""Data parallelism for the offline vLLM backend: `data_parallel_size` engine replicas in their own processes.

vLLM's `LLM(data_parallel_size=N)` refuses single-process use, so each replica is a worker process running a
`VLLMBackend` with data_parallel_size 1 on its own `tensor_parallel_size` GPUs (a slice of
CUDA_VISIBLE_DEVICES, or of 0..N*tp-1 when unset). A call's requests are cut into N contiguous shards, one per
replica. Samples depend only on their own request's seed, so the result is the same as with one engine.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import weakref
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from mabench.types import Generation

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError
from .options import VLLMOptions
from .vllm_backend import DEFAULT_BATCH


def _serve(conn: Connection, model: str, options: dict[str, Any], env: dict[str, str]) -> None:
    os.environ.update(env)
    from .vllm_backend import VLLMBackend

    try:
        backend = VLLMBackend(model, VLLMOptions(**options))
    except Exception as err:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", backend.fingerprint, backend.chat_template_hash))
    while True:
        message = conn.recv()
        if message[0] == "stop":
            return
        try:
            conn.send(("ok", backend.generate(message[1], message[2])))
        except Exception as err:  # noqa: BLE001
            conn.send(("error", f"{type(err).__name__}: {err}"))


def _stop(workers: list[tuple[mp.process.BaseProcess, Connection]]) -> None:
    for _process, conn in workers:
        with contextlib.suppress(OSError, ValueError):  # the replica is already gone
            conn.send(("stop",))
    for process, _ in workers:
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()


def replica_devices(replicas: int, tensor_parallel: int, visible: str | None) -> list[str]:
    """The CUDA_VISIBLE_DEVICES value of each replica."""
    devices = [d.strip() for d in visible.split(",") if d.strip()] if visible else [
        str(i) for i in range(replicas * tensor_parallel)]
    if len(devices) < replicas * tensor_parallel:
        raise UnknownModelError(f"data_parallel_size {replicas} x tensor_parallel_size {tensor_parallel} needs "
                                f"{replicas * tensor_parallel} GPUs; CUDA_VISIBLE_DEVICES lists {len(devices)}")
    return [",".join(devices[r * tensor_parallel: (r + 1) * tensor_parallel]) for r in range(replicas)]


class ReplicatedVLLM(Closing):
    name = "vllm"
    batch_invariant = True

    def __init__(self, model: str, options: VLLMOptions):
        replicas, tp = options.data_parallel_size, options.tensor_parallel_size
        self.preferred_batch_size = DEFAULT_BATCH * replicas
        single = options.model_copy(update={"data_parallel_size": 1}).model_dump(mode="json")
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        context = mp.get_context("spawn")  # vLLM workers cannot be forked from a process that imported torch
        self._workers: list[tuple[mp.process.BaseProcess, Connection]] = []
        self._finalizer = weakref.finalize(self, _stop, self._workers)
        for replica, devices in enumerate(replica_devices(replicas, tp, visible)):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child, model, single, {"CUDA_VISIBLE_DEVICES": devices}),
                                      name=f"mabench-vllm-dp{replica}")
            process.start()
            self._workers.append((process, parent))
        answers = [conn.recv() for _, conn in self._workers]
        failed = [a[1] for a in answers if a[0] != "ready"]
        if failed:
            self.close()
            raise UnknownModelError(f"vllm could not start {len(failed)} of {replicas} replicas of {model!r}: "
                                    f"{failed[0]}")
        _, self.fingerprint, self.chat_template_hash = answers[0]

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        size = -(-len(requests) // len(self._workers)) or 1
        shards = [list(requests[i: i + size]) for i in range(0, len(requests), size)]
        for (_, conn), shard in zip(self._workers, shards, strict=False):
            conn.send(("generate", shard, sampling))
        answers = [conn.recv() for (_, conn), _shard in zip(self._workers, shards, strict=False)]
        failed = [payload for status, payload in answers if status != "ok"]
        if failed:
            raise RuntimeError(f"a vllm replica failed: {failed[0]}")
        return [gens for _, payload in answers for gens in payload]

    def close(self) -> None:
        self._finalizer()
