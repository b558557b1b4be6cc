"""Any model served through an OpenAI-compatible chat-completions API (`--model openai:NAME --base-url URL`).

- Requests are plain `POST {base_url}/chat/completions` over aiohttp, asynchronous. (The official `openai` SDK
  was the first transport; it spends about 2.3 ms of CPU per request against 0.45 ms for aiohttp, which caps
  one process near 430 requests/s, below the 625/s that 64 concurrent 100 ms requests need. See
  benchmarks/RESULTS.md.)
- The API key is read from the environment variable named by `OpenAIOptions.api_key_env` (OPENAI_API_KEY);
  an unset or empty variable is an error unless it is `none` (a server that needs no key: no Authorization
  header is sent). The key never leaves the request headers: error reasons are scrubbed of it
  (`credentials`).
- Best-of-k asks for `n=k` in one request. A server that answers with fewer choices (or rejects `n` with a
  400/422) is remembered as not honouring `n`, and the missing samples are fetched as separate requests,
  sample i with seed `sample_seed(seed, i)` (the n-sample request is sent with `sample_seed(seed, 0)`).
- At most `concurrency` HTTP requests are in flight at once.
- 429, 408/409/425, 5xx, timeouts, dropped connections, malformed JSON and empty `choices` are retried with
  exponential backoff and jitter (`RetryPolicy`), waiting at least as long as a Retry-After header asks (up to
  `backoff_max`). Other 4xx are final. A request that fails for good yields generations with
  `finish_reason="error"` and the reason in `Generation.error`; the runner records them as failed so that the
  same command (or `--resume`) retries them. Nothing is dropped.
- Token usage comes from the response's `usage`. With n > 1 the completion total is split over the choices in
  proportion to their length (the per-question sum is exact). When the server sends no usage, tokens are counted
  with `TokenCounter`; `stats()["usage_source"]` counts generations by source (response, tokenizer, estimate).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from mabench.types import Generation, Message

from .base import Closing, GenerationRequest, SamplingConfig, UnknownModelError, sample_seed
from .credentials import api_key, endpoint, redact_url, scrub, secrets_of
from .options import OpenAIOptions
from .retry import RetryPolicy, is_retryable_status, retry_after_seconds
from .tokens import TokenCounter, UsageSource

T = TypeVar("T")
INSTALL_HINT = "pip install 'mabench[openai]' (it needs aiohttp)"


@dataclass(frozen=True)
class Reply:
    texts: list[str]
    finish_reasons: list[str]
    prompt_tokens: int | None
    completion_tokens: int | None


class BadResponse(ValueError):
    """A 200 response that carries no usable completion (malformed JSON, no choices)."""


@dataclass(frozen=True)
class Connection:
    """What every request of one `generate` call shares."""

    session: Any  # aiohttp.ClientSession
    url: str
    gate: asyncio.Semaphore


class RequestFailed(RuntimeError):
    def __init__(self, reason: str, *, n_rejected: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.n_rejected = n_rejected


def parse_reply(text: str) -> Reply:
    """A chat-completions response body, or BadResponse saying what is wrong with it."""
    try:
        body = json.loads(text)
    except ValueError:
        raise BadResponse(f"malformed JSON in response: {text[:80]!r}") from None
    if not isinstance(body, dict):
        raise BadResponse(f"response is not a JSON object: {text[:80]!r}")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise BadResponse("response has no choices")
    if not all(isinstance(c, dict) for c in choices):
        raise BadResponse("response choices are not objects")
    choices = sorted(choices, key=lambda c: c.get("index") if isinstance(c.get("index"), int) else 0)
    texts = [str((c.get("message") or {}).get("content") or "") for c in choices]
    finish = ["length" if c.get("finish_reason") == "length" else "stop" for c in choices]
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return Reply(texts, finish, prompt if isinstance(prompt, int) else None,
                 completion if isinstance(completion, int) else None)


def error_message(text: str) -> str:
    """The message of an error response body ({"error": {"message": ...}} or similar), else its start."""
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    error = body.get("error", body) if isinstance(body, dict) else body
    message = error.get("message") if isinstance(error, dict) else error
    return str(message if message is not None else text)[:200]


def split_total(total: int, texts: Sequence[str]) -> list[int]:
    """`total` apportioned over `texts` by length (largest remainder), so that the parts sum to `total`."""
    weights = [max(len(t), 1) for t in texts]
    exact = [total * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    for i in sorted(range(len(texts)), key=lambda i: parts[i] - exact[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


class OpenAIBackend(Closing):
    name = "openai"
    batch_invariant = True  # each request's samples depend on its own seed only

    def __init__(self, model: str, options: OpenAIOptions):
        try:
            import aiohttp
        except ImportError as err:
            raise UnknownModelError(f"openai:{model} needs aiohttp: {INSTALL_HINT}") from err
        if not options.base_url:
            raise UnknownModelError(f"openai:{model} needs --base-url, e.g. http://localhost:8000/v1")
        self._aiohttp = aiohttp
        self.model = model
        self.options = options
        self._api_key = api_key(f"openai:{model}", options)
        self._secrets = secrets_of(options.base_url, self._api_key)
        self.fingerprint = f"openai:{model}@{redact_url(options.base_url, self._api_key)}"
        self.chat_template_hash = None  # the server applies its own template
        self.preferred_batch_size = max(64, 4 * options.concurrency)
        self.policy = RetryPolicy(max_retries=options.max_retries, base=options.backoff_base, cap=options.backoff_max)
        self._counter = TokenCounter(options.tokenizer, model) if options.tokenizer else None
        self._honours_n: bool | None = None
        self._rng = random.Random(0)  # jitter only; never affects what is generated
        self._counts: Counter[str] = Counter()
        self._usage: Counter[str] = Counter()

    @property
    def honours_n(self) -> bool | None:
        """Whether the server returned n choices for n > 1 (None until a request with n > 1 was answered)."""
        return self._honours_n

    def stats(self) -> dict[str, Any]:
        return {"requests": dict(self._counts), "usage_source": dict(self._usage), "honours_n": self._honours_n}

    def generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig) -> list[list[Generation]]:
        return run_sync(self._generate(requests, sampling))

    async def _generate(self, requests: Sequence[GenerationRequest], sampling: SamplingConfig
                        ) -> list[list[Generation]]:
        aiohttp = self._aiohttp
        headers = {"Content-Type": "application/json"}
        if self._api_key is not None:
            headers["Authorization"] = f"Bearer {self._api_key}"
        session = aiohttp.ClientSession(
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=self.options.request_timeout),
            connector=aiohttp.TCPConnector(limit=self.options.concurrency),
        )
        async with session:
            conn = Connection(session, endpoint(self.options.base_url or "", "chat/completions"),
                              asyncio.Semaphore(self.options.concurrency))
            return list(await asyncio.gather(*(self._one(conn, r, sampling) for r in requests)))

    async def _one(self, conn: Connection, request: GenerationRequest, sampling: SamplingConfig
                   ) -> list[Generation]:
        start = time.perf_counter()
        gens: list[Generation | None] = [None] * request.n
        if request.n > 1 and self._honours_n is not False:
            try:
                reply = await self._call(conn, request.messages, request.n, sample_seed(request.seed), sampling)
            except RequestFailed as err:
                if not err.n_rejected:
                    return self._failed(range(request.n), err.reason)
                self._honours_n = False
            else:
                kept = min(len(reply.texts), request.n)
                if self._honours_n is None:
                    self._honours_n = kept == request.n
                gens[:kept] = self._from_reply(reply, request.messages, range(kept), start)
        missing = [i for i, g in enumerate(gens) if g is None]
        singles = await asyncio.gather(*(
            self._single(conn, request.messages, i, sample_seed(request.seed, i), sampling, start)
            for i in missing
        ))
        for i, gen in zip(missing, singles, strict=True):
            gens[i] = gen
        return [g for g in gens if g is not None]

    async def _single(self, conn: Connection, messages: list[Message], index: int, seed: int,
                      sampling: SamplingConfig, start: float) -> Generation:
        try:
            reply = await self._call(conn, messages, 1, seed, sampling)
        except RequestFailed as err:
            return self._failed([index], err.reason)[0]
        return self._from_reply(reply, messages, [index], start)[0]

    async def _call(self, conn: Connection, messages: list[Message], n: int, seed: int, sampling: SamplingConfig
                    ) -> Reply:
        """One chat completion, retried until it succeeds, fails with a final status, or runs out of retries."""
        body = json.dumps({"model": self.model, "messages": messages, "n": n, "seed": seed,
                           "temperature": sampling.temperature, "top_p": sampling.top_p,
                           "max_tokens": sampling.max_new_tokens})
        reason = "not attempted"
        for attempt in range(self.policy.max_retries + 1):
            retry_after = None
            self._counts["attempts"] += 1
            try:
                async with conn.gate, conn.session.post(conn.url, data=body) as response:
                    status, headers = response.status, response.headers
                    text = (await response.read()).decode("utf-8", errors="replace")
                if status < 400:
                    return parse_reply(text)
                reason = f"HTTP {status}: {error_message(text)}"
                if n > 1 and status in (400, 422):
                    raise RequestFailed(reason, n_rejected=True)
                if not is_retryable_status(status):
                    self._counts["failed"] += 1
                    raise RequestFailed(f"{reason} (not retryable)")
                retry_after = retry_after_seconds(headers)
            except (asyncio.TimeoutError, TimeoutError):
                reason = f"timed out after {self.options.request_timeout:g} s"
            except self._aiohttp.ClientError as err:
                reason = f"connection error: {type(err).__name__}: {err}"
            except BadResponse as err:
                reason = str(err)
            if attempt < self.policy.max_retries:
                self._counts["retries"] += 1
                await asyncio.sleep(self.policy.delay(attempt, self._rng, retry_after))
        self._counts["failed"] += 1
        raise RequestFailed(f"{reason} (gave up after {self.policy.max_retries + 1} attempts)")

    def _from_reply(self, reply: Reply, messages: list[Message], indices: Sequence[int], start: float
                    ) -> list[Generation]:
        texts = reply.texts[: len(indices)]
        source: UsageSource = "response"
        if reply.prompt_tokens is not None and reply.completion_tokens is not None:
            prompt = reply.prompt_tokens
            completions = split_total(reply.completion_tokens, texts)
        else:
            counter = self._token_counter()
            source = counter.source
            prompt = counter.prompt_tokens(messages)
            completions = [counter.completion_tokens(t) for t in texts]
        self._usage[source] += len(texts)
        latency = time.perf_counter() - start
        return [
            Generation(text=text, prompt_tokens=prompt, completion_tokens=tokens, finish_reason=finish,
                       sample_index=i, latency=latency)  # type: ignore[arg-type]
            for i, text, tokens, finish in zip(indices, texts, completions, reply.finish_reasons, strict=False)
        ]

    def _failed(self, indices: Sequence[int] | range, reason: str) -> list[Generation]:
        self._counts["failed_samples"] += len(indices)
        reason = scrub(reason, self._secrets)
        return [Generation(text="", prompt_tokens=0, completion_tokens=0, finish_reason="error", sample_index=i,
                           error=reason) for i in indices]

    def _token_counter(self) -> TokenCounter:
        if self._counter is None:
            self._counter = TokenCounter(None, self.model)
        return self._counter
