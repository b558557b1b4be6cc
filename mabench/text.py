"""Answer normalisation shared by judges, metrics and rewards."""

from __future__ import annotations

import re
import string

_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation (Rajpurkar et al. 2016, the official evaluate-v1.1 script): lowercase, delete
    ASCII punctuation, drop the words a/an/the, collapse whitespace. Accents are not folded."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())
