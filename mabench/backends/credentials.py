"""API credentials: where the key comes from, and keeping it out of everything a run writes.

The key lives only in the environment variable named by `--api-key-env` and in request headers. The base URL
that goes into the run identity and the manifest has its user-info and secret-looking query parameters
removed, and error messages are scrubbed of the key before they are recorded.
"""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .base import UnknownModelError
from .options import OpenAIOptions

NO_KEY = "none"  # --api-key-env none: the server needs no key
REDACTED = "REDACTED"
_SECRET_PARAM = re.compile(r"key|token|secret|sig|password|passwd|auth|credential|session", re.IGNORECASE)


class MissingAPIKeyError(UnknownModelError):
    """An API backend whose key variable is unset or empty, and the user did not say none is needed."""


def api_key(model: str, options: OpenAIOptions) -> str | None:
    """The key from `options.api_key_env`; None with `--api-key-env none`. A missing key is an error rather than
    a request that fails later, once per question."""
    if options.api_key_env.strip().lower() == NO_KEY:
        return None
    key = os.environ.get(options.api_key_env, "")
    if not key.strip():
        raise MissingAPIKeyError(f"{model}: the environment variable {options.api_key_env} holds no API key; "
                                 f"set it, name another with --api-key-env VAR, or pass --api-key-env {NO_KEY} "
                                 "for a server that needs no key")
    return key


def redact_url(url: str, key: str | None = None) -> str:
    """`url` without user-info, with secret-looking query values (and any occurrence of `key`) replaced."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc += f":{parts.port}"
    query = urlencode([(name, REDACTED if _SECRET_PARAM.search(name) else value)
                       for name, value in parse_qsl(parts.query, keep_blank_values=True)])
    clean = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    return scrub(clean, secrets_of(url, key))


_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"]+")


def redact_args(argv: list[str]) -> list[str]:
    """A command line as it may be recorded: every URL in it passed through `redact_url` (user-info and secret
    query values gone, e.g. `--base-url 'https://gw/v1?api_key=sk-...'`)."""
    return [_URL.sub(lambda m: redact_url(m.group(0)), arg) for arg in argv]


def endpoint(base_url: str, route: str) -> str:
    """`base_url` with `/route` appended to its path, keeping its query string."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, f"{parts.path.rstrip('/')}/{route}", parts.query, ""))


def secrets_of(url: str, key: str | None) -> list[str]:
    """Every credential a request to `url` carries: the key, the URL's password and user, secret query values."""
    parts = urlsplit(url)
    found = [key, parts.password, parts.username]
    found += [value for name, value in parse_qsl(parts.query) if _SECRET_PARAM.search(name)]
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
