"""Correctness as the authors' released code decides it (`ishapuri/multi_answer_rl`, commit 918e956).

Their training rewards and their evaluation disagree, and both are reproduced here:

- evaluation (`eval/check_functions.py`): for each gold answer in turn, `math_verify.verify(gold, parse(cand))`,
  and when that is False, SQuAD-normalised exact match; the first gold that matches wins.
- rewards (`reward_fns._is_correct`): an empty candidate is wrong; for a data source whose name contains "math"
  the same `verify(gold, parse(cand))`, falling back to exact match ONLY if math-verify raises; for every other
  source (their "ambigQA", "hotpotQA", "medDataset", or none at all) exact match alone.

`gold` is the raw string (math-verify compares it to the parsed candidate as given). math-verify guards each call
with a SIGALRM timeout (5 s, their default), which only works in the main thread; elsewhere the call runs without a
timeout rather than raising. The package is `math-verify` (the `train` extra).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from mabench.text import normalize_answer

QA_SOURCES = ("hotpotQA", "ambigQA", "medDataset")  # the sources their reward judges by exact match
TIMEOUT_S = 5


def exact_match(candidate: str, gold: str) -> bool:
    return normalize_answer(candidate) == normalize_answer(gold)


def _math_verify() -> tuple[Any, Any]:
    try:
        from math_verify import parse, verify
    except ImportError as err:  # pragma: no cover - the train/dev extras install it
        raise ImportError("the paper profile decides correctness with math-verify: pip install math-verify "
                          "(or pip install 'mabench[train]')") from err
    return parse, verify


def math_verify_equal(gold: str, candidate: str) -> bool:
    """`verify(gold, parse(candidate))`, with their default timeouts when called from the main thread."""
    parse, verify = _math_verify()
    timeout = TIMEOUT_S if threading.current_thread() is threading.main_thread() else None
    return bool(verify(gold, parse(candidate, parsing_timeout=timeout), timeout_seconds=timeout))


def source_name(source: str | Sequence[str] | None) -> str | None:
    """Their reward reads `source[0]` of TRL's per-batch column; a plain string is taken as it is."""
    if source is None or isinstance(source, str):
        return source
    return source[0] if len(source) else None


def reward_correct(candidate: str, gold: Sequence[str], source: str | Sequence[str] | None = None) -> bool:
    """Their training rewards' correctness of one candidate against a list of gold strings."""
    if not candidate:
        return False
    name = source_name(source)
    use_math = name is not None and "math" in str(name).lower() and name not in QA_SOURCES
    for g in gold:
        if use_math:
            try:
                if math_verify_equal(g, candidate):
                    return True
            except Exception:  # their fallback: exact match only when math-verify itself fails
                if exact_match(candidate, g):
                    return True
        elif exact_match(candidate, g):
            return True
    return False


def eval_correct(candidate: str, gold: Sequence[str]) -> bool:
    """Their evaluation's correctness: math-verify, then exact match, gold by gold (empty candidates included:
    "" matches a gold that normalises to "")."""
    return any(math_verify_equal(g, candidate) or exact_match(candidate, g) for g in gold)
