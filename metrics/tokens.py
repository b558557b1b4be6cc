"""Token cost per question (mabench counts tokens; the authors' evaluation counts characters)."""

from __future__ import annotations

import numpy as np

from .spec import Pooled, Skipped, metric, ratio
from .table import SampleTable


@metric("prompt_tokens", "tokens", higher_is_better=False, group="tokens", summary=True)
def prompt_tokens(table: SampleTable) -> np.ndarray:
    """Prompt tokens per question (counted once; every sample shares the prompt); `total` sums the mode."""
    return table.prompt_tokens


@metric("completion_tokens", "tokens", higher_is_better=False, group="tokens", summary=True, paired=True)
def completion_tokens(table: SampleTable) -> np.ndarray:
    """Generated tokens per question, summed over all samples; `total` sums the mode."""
    return table.completion_tokens


@metric("total_tokens", "tokens", higher_is_better=False, group="tokens")
def total_tokens(table: SampleTable) -> np.ndarray:
    """Prompt plus completion tokens per question; `total` sums the mode."""
    return table.prompt_tokens + table.completion_tokens


@metric("completion_chars", "characters", higher_is_better=False, group="tokens")
def completion_chars(table: SampleTable) -> np.ndarray:
    """Generated characters per question, summed over samples: the length unit of the authors' evaluation."""
    return table.completion_chars


@metric("tokens_per_correct", "tokens", higher_is_better=False, per_question=False, group="tokens")
def tokens_per_correct(table: SampleTable) -> Pooled | Skipped:
    """All tokens spent (prompt + completion) / questions answered correctly (hit@K); pooled ratio."""
    hit = table.q_any(table.correct)
    if not hit.any():
        return Skipped("no question was answered correctly")
    return ratio(table.prompt_tokens + table.completion_tokens, hit, n_items=int(hit.sum()))
