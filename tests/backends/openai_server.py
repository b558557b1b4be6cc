"""A real OpenAI-compatible chat-completions server on loopback, with fault injection.

It serves `GET /v1/models` like vLLM (each served name with its checkpoint path as `root` and `max_model_len`;
set `server.models` to serve another checkpoint under the same name) and `POST /v1/chat/completions` from a
generator: a tiny transformers model (`TinyModelGenerator`) for the
tests, or a fixed-latency canned reply (`FixedLatencyGenerator`) for the throughput benchmark. Switches:

- `server.faults.push("429", "500", ...)`: the next requests, in arrival order, get these faults instead of an
  answer: "429" (with `Retry-After: faults.retry_after`), "500", "drop" (the connection is closed without a
  response), "hang" (no response until `hang_s` passes or the server stops), "malformed" (a 200 whose body is
  cut-off JSON), "empty" (a 200 with `"choices": []`), "401" (an error that echoes the Authorization header it
  got, as real APIs quote part of a wrong key).
- `server.faults.fail_prompts_containing(text)`: every request whose messages contain `text` gets a 500, until
  `server.faults.clear()`.
- `honour_n=False`: the server answers with one choice whatever `n` asks; `report_usage=False`: no `usage`.

`server.log` lists every request received: arrival time, n, seed and the fault served (None: answered);
`server.authorizations` the Authorization header of every request (None: none sent).

Run standalone for benchmarks (prints the base URL, serves until killed):
    python -m tests.backends.openai_server --latency 0.1
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FAULTS = ("429", "500", "401", "drop", "hang", "malformed", "empty")
DEFAULT_MODELS = {"tiny": {"root": "/checkpoints/tiny-v1", "max_model_len": 1024}}


@dataclass
class Completion:
    texts: list[str]
    finish_reasons: list[str]
    prompt_tokens: int
    completion_tokens: int


Generator = Callable[[dict[str, Any], int], Completion]  # (request body, choices to produce) -> completion


class TinyModelGenerator:
    """Generates with mabench's HF backend on a local model folder; one request at a time."""

    def __init__(self, model: Path):
        from mabench.backends.hf import HFBackend

        self.backend = HFBackend(str(model), device="cpu")
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any], n: int) -> Completion:
        from mabench.backends.base import GenerationRequest, SamplingConfig

        request = GenerationRequest(messages=body["messages"], n=n, seed=int(body.get("seed") or 0))
        sampling = SamplingConfig(temperature=float(body.get("temperature", 0.7)), top_p=float(body.get("top_p", 1)),
                                  max_new_tokens=int(body.get("max_tokens") or 16))
        with self._lock:
            (gens,) = self.backend.generate([request], sampling)
        return Completion([g.text for g in gens], [g.finish_reason for g in gens], gens[0].prompt_tokens,
                          sum(g.completion_tokens for g in gens))


class FixedLatencyGenerator:
    """Answers every request after `latency` seconds with the same short text."""

    def __init__(self, latency: float, text: str = "<answer>Paris</answer><confidence>0.5</confidence>"):
        self.latency, self.text = latency, text

    def __call__(self, body: dict[str, Any], n: int) -> Completion:
        time.sleep(self.latency)
        return Completion([self.text] * n, ["stop"] * n, 10, 12 * n)


@dataclass
class Faults:
    retry_after: str = "1"
    _queue: deque[str] = field(default_factory=deque)
    _failing: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, *names: str) -> None:
        unknown = [n for n in names if n not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {FAULTS}")
        with self._lock:
            self._queue.extend(names)

    def fail_prompts_containing(self, text: str) -> None:
        with self._lock:
            self._failing.append(text)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._failing.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def next(self, body: dict[str, Any]) -> str | None:
        contents = json.dumps(body.get("messages", []))
        with self._lock:
            if any(json.dumps(text)[1:-1] in contents for text in self._failing):
                return "500"
            return self._queue.popleft() if self._queue else None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the benchmark opens 64 connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Dropped and hung connections end in socket errors by design; they are not worth a traceback."""


class LoopbackServer:
    def __init__(self, generator: Generator, *, honour_n: bool = True, report_usage: bool = True,
                 hang_s: float = 10.0, port: int = 0, models: dict[str, dict[str, Any]] | None = None):
        self.generator = generator
        self.models = dict(DEFAULT_MODELS if models is None else models)  # served name -> root, max_model_len
        self.authorizations: list[str | None] = []
        self.honour_n = honour_n
        self.report_usage = report_usage
        self.hang_s = hang_s
        self.faults = Faults()
        self.log: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0  # most requests being answered at the same time
        self._log_lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _HTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.app = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self, fault: str | None = "any") -> list[dict[str, Any]]:
        """Logged requests, all of them by default, or those that were served `fault` (None: answered)."""
        with self._log_lock:
            return [e for e in self.log if fault == "any" or e["fault"] == fault]

    def reset_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    def _record(self, body: dict[str, Any], fault: str | None) -> None:
        with self._log_lock:
            self.log.append({"time": time.monotonic(), "n": body.get("n", 1), "seed": body.get("seed"),
                             "temperature": body.get("temperature"), "fault": fault,
                             "prompt": body.get("messages", [{}])[-1].get("content", "")})

    def respond(self, body: dict[str, Any]) -> dict[str, Any]:
        n = int(body.get("n") or 1) if self.honour_n else 1
        with self._log_lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            completion = self.generator(body, n)
        finally:
            with self._log_lock:
                self.in_flight -= 1
        payload: dict[str, Any] = {
            "id": f"chatcmpl-{len(self.log)}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [{"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
                        for i, (text, finish) in enumerate(zip(completion.texts, completion.finish_reasons,
                                                               strict=True))],
        }
        if self.report_usage:
            payload["usage"] = {"prompt_tokens": completion.prompt_tokens,
                                "completion_tokens": completion.completion_tokens,
                                "total_tokens": completion.prompt_tokens + completion.completion_tokens}
        return payload


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        """vLLM's model list; `created` and `permission` change on every call, as vLLM's do."""
        app: LoopbackServer = self.server.app  # type: ignore[attr-defined]
        app.authorizations.append(self.headers.get("Authorization"))
        if urlsplit(self.path).path.rstrip("/") != "/v1/models":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        now = time.time()
        return self._send(200, {"object": "list", "data": [
            {"id": name, "object": "model", "created": int(now), "owned_by": "vllm", "parent": None,
             "permission": [{"id": f"modelperm-{now}", "created": int(now)}], **about}
            for name, about in app.models.items()]})

    def do_POST(self) -> None:  # noqa: N802 - the base class's name
        app: LoopbackServer = self.server.app  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        app.authorizations.append(self.headers.get("Authorization"))
        if urlsplit(self.path).path.rstrip("/") != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        try:
            body = json.loads(raw)
        except ValueError:
            return self._send(400, {"error": {"message": "request body is not JSON"}})
        fault = app.faults.next(body)
        app._record(body, fault)
        if fault == "429":
            return self._send(429, {"error": {"message": "rate limited (injected)"}},
                              {"Retry-After": app.faults.retry_after})
        if fault == "500":
            return self._send(500, {"error": {"message": "internal error (injected)"}})
        if fault == "401":
            return self._send(401, {"error": {"message": f"Incorrect API key provided: "
                                                         f"{self.headers.get('Authorization')} ({self.path})"}})
        if fault in ("drop", "hang"):
            if fault == "hang":
                app._stopping.wait(app.hang_s)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return None
        if fault == "malformed":
            return self._send_bytes(200, b'{"id": "chatcmpl-x", "choices": [{"index": 0, "mess')
        if fault == "empty":
            return self._send(200, {"id": "chatcmpl-x", "object": "chat.completion", "choices": [],
                                    "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1}})
        return self._send(200, app.respond(body))

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request (fixed-latency mode)")
    parser.add_argument("--model", type=Path, help="serve this model folder instead of a fixed reply")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    generator = TinyModelGenerator(args.model) if args.model else FixedLatencyGenerator(args.latency)
    server = LoopbackServer(generator, port=args.port)
    print(server.base_url, flush=True)
    server._httpd.serve_forever(poll_interval=0.05)


if __name__ == "__main__":
    main()
