"""Token counts for servers that report no usage: a real tokenizer when one is named, else a labelled estimate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from mabench.types import Message

from .base import UnknownModelError

UsageSource = Literal["response", "tokenizer", "estimate"]
_WORDISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


class TokenCounter:
    """Counts with a Hugging Face tokenizer (`source == "tokenizer"`) when `tokenizer` names one, or when
    `model` is a local model folder; otherwise estimates one token per word or punctuation mark
    (`source == "estimate"`). The source is reported with every count so that no estimate passes as a count."""

    def __init__(self, tokenizer: str | None = None, model: str | None = None):
        self._tokenizer: Any = None
        target = tokenizer or (model if model and Path(model).is_dir() else None)
        if target is not None:
            try:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(target)
            except (ImportError, OSError, ValueError) as err:
                if tokenizer is not None:  # asked for explicitly: say so rather than silently estimate
                    raise UnknownModelError(
                        f"could not load tokenizer {tokenizer!r} ({err}); --tokenizer takes a local tokenizer "
                        "or model folder, or a Hub id that is already in the local cache"
                    ) from err
        self.source: UsageSource = "tokenizer" if self._tokenizer is not None else "estimate"

    def prompt_tokens(self, messages: list[Message]) -> int:
        if self._tokenizer is None:
            return sum(len(_WORDISH.findall(m.get("content", ""))) + 1 for m in messages)
        if getattr(self._tokenizer, "chat_template", None):
            ids = self._tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):  # newer transformers return a BatchEncoding
                ids = ids["input_ids"]
            return len(ids)
        return len(self._tokenizer.encode("\n".join(m.get("content", "") for m in messages)))

    def completion_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            return len(_WORDISH.findall(text))
        return len(self._tokenizer.encode(text, add_special_tokens=False))
