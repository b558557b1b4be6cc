"""How the authors' released reward code reads a completion (`ishapuri/multi_answer_rl`, `reward_fns.py` at its
latest commit, 918e956): tag extraction, confidence parsing, and the format check of each `format_pattern`.

This is a re-implementation from reading that file, not a copy; each function says which behaviour of theirs it
reproduces. It is deliberately NOT mabench's parser (`mabench.answer_format`): the point of the `paper` reward
profile is to give a model the rewards the authors trained with, quirks included. docs/paper-profile.md lists
every place where the two disagree and why.

Reading rules, all plain substring search (no regex, no XML):

- a tag's text is what lies between the FIRST `<tag>` at or after a position and the next `</tag>`, stripped;
- numbered candidates are read in order, each search starting after the previous pair ("interleaved"); when
  fewer than K interleaved pairs are found, every `<answerI>` and `<confidenceI>` is taken from its first
  occurrence anywhere ("split" layout: all answers, then an analysis, then all confidences);
- a confidence is anything Python's `float()` accepts and is finite (`1e-1`, `.3`, ` 0.5`, `1_0`), nothing else
  (`0.6 (fairly sure)` and `60%` are not confidences);
- the think block must be present, balanced (as many `<think>` as `</think>`, each close after its open) and
  hold more than whitespace.
"""

from __future__ import annotations

import math
import re

# Every format_pattern the authors' `format_reward` knows. The last four are their older single-answer
# patterns, still used by the released single-answer configs ("tabc": think, answer, analysis, confidence).
MULTI_CONFIDENCE_PATTERNS = ("multi_answer", "multi_answer_no_analysis")
MULTI_PATTERNS = (*MULTI_CONFIDENCE_PATTERNS, "multi_answer_rlvr")
SINGLE_PATTERNS = ("rlcr_single_answer", "rlvr_single_answer")
LEGACY_PATTERNS = ("ta", "tac", "tabc", "tbac")
FORMAT_PATTERNS = (*MULTI_PATTERNS, *SINGLE_PATTERNS, *LEGACY_PATTERNS)

_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def check_pattern(format_pattern: str) -> str:
    """The pattern, lower-cased as theirs is; an unknown one is a ValueError listing the valid ones (their code
    silently treats an unknown pattern like "ta", which would hide a typo in a config)."""
    fmt = str(format_pattern).lower()
    if fmt not in FORMAT_PATTERNS:
        raise ValueError(f"unknown format_pattern {format_pattern!r}; valid patterns: {', '.join(FORMAT_PATTERNS)}")
    return fmt


def valid_k(k: object) -> bool:
    """Their reward functions return 0 for every completion unless K is a positive int."""
    return isinstance(k, int) and not isinstance(k, bool) and k > 0


def safe_float(text: str | None) -> float | None:
    """A finite float by Python's own `float()` rules, else None."""
    if text is None:
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def clip01(value: float) -> float:
    return max(0.0, min(1.0, value))


def between(content: str, open_tag: str, close_tag: str, start: int = 0) -> tuple[str | None, int]:
    """The stripped text of the first `open_tag` at or after `start` up to the next `close_tag`, and the
    position just past that close tag; (None, -1) when either is missing."""
    s = content.find(open_tag, start)
    if s == -1:
        return None, -1
    s += len(open_tag)
    e = content.find(close_tag, s)
    if e == -1:
        return None, -1
    return content[s:e].strip(), e + len(close_tag)


def last_between(content: str, open_tag: str, close_tag: str) -> str:
    """The text of the LAST complete `open_tag ... close_tag` occurrence (scanning left to right), or ""."""
    last, pos = "", 0
    while True:
        text, pos = between(content, open_tag, close_tag, pos)
        if text is None:
            return last
        last = text


def single_candidate(content: str) -> tuple[list[str], list[str]] | None:
    """The first `<answer>` and the first `<confidence>` after it; None when either is missing."""
    answer, pos = between(content, "<answer>", "</answer>")
    if answer is None:
        return None
    confidence, _ = between(content, "<confidence>", "</confidence>", pos)
    if confidence is None:
        return None
    return [answer], [confidence]


def flat_candidates(content: str, k: int) -> tuple[list[str], list[str]] | None:
    """K (answer, confidence) texts: interleaved pairs in order, else the split layout; None when some
    `<answerI>` or `<confidenceI>` (I ≤ K) is missing. Candidates numbered above K are never read."""
    answers: list[str] = []
    confidences: list[str] = []
    pos = 0
    for i in range(1, k + 1):
        answer, pos = between(content, f"<answer{i}>", f"</answer{i}>", pos)
        if answer is None:
            break
        confidence, pos = between(content, f"<confidence{i}>", f"</confidence{i}>", pos)
        if confidence is None:
            break
        answers.append(answer)
        confidences.append(confidence)
    if len(answers) == k:
        return answers, confidences
    split = [_each_numbered(content, tag, k) for tag in ("answer", "confidence")]
    return None if split[0] is None or split[1] is None else (split[0], split[1])


def _each_numbered(content: str, tag: str, k: int) -> list[str] | None:
    """`<tag1>` … `<tagK>`, each found anywhere in `content`; None when one is missing."""
    found = [between(content, f"<{tag}{i}>", f"</{tag}{i}>")[0] for i in range(1, k + 1)]
    return None if any(text is None for text in found) else found  # type: ignore[return-value]


def answers_only(content: str, k: int) -> list[str] | None:
    """The RLVR reading: `<answer1>`, `<answer2>`, ... in order, stopping at the first missing one (so fewer
    than K is possible); with no numbered answer at all, the first `<answer>`; None when there is neither."""
    answers: list[str] = []
    pos = 0
    for i in range(1, k + 1):
        answer, pos = between(content, f"<answer{i}>", f"</answer{i}>", pos)
        if answer is None:
            break
        answers.append(answer)
    if answers:
        return answers
    answer, _ = between(content, "<answer>", "</answer>")
    return [answer] if answer is not None else None


def think_block_ok(content: str) -> bool:
    """Balanced, ordered, non-blank think blocks: the i-th `<think>` pairs with the i-th `</think>`."""
    opens = [m.start() for m in re.finditer(re.escape(_THINK_OPEN), content)]
    closes = [m.start() for m in re.finditer(re.escape(_THINK_CLOSE), content)]
    if not opens or len(opens) != len(closes):
        return False
    return all(c >= o and content[o + len(_THINK_OPEN):c].strip() for o, c in zip(opens, closes, strict=True))


def has_required_tags(content: str, k: int, confidences: bool, fmt: str) -> bool:
    """Every required tag is present somewhere (presence only, not order): the think block; `<answer>` (K = 1)
    or `<answer1..K>`; with `confidences`, the matching confidence tags and an `<analysis>` block, except for
    "multi_answer_no_analysis". Note the K = 1 branch reads unnumbered tags whatever the pattern."""
    if not think_block_ok(content):
        return False
    needs_analysis = confidences and fmt != "multi_answer_no_analysis"
    if needs_analysis and ("<analysis>" not in content or "</analysis>" not in content):
        return False
    if k == 1:
        tags = ["answer", "confidence"] if confidences else ["answer"]
    else:
        tags = [f"{name}{i}" for i in range(1, k + 1) for name in (("answer", "confidence") if confidences
                                                                    else ("answer",))]
    return all(f"<{tag}>" in content and f"</{tag}>" in content for tag in tags)


def _all_in_unit_interval(texts: list[str]) -> bool:
    values = [safe_float(t) for t in texts]
    return all(v is not None and 0.0 <= v <= 1.0 for v in values)


def format_ok(fmt: str, content: str, k: object) -> bool:
    """Their `format_reward` for one completion (`fmt` already checked)."""
    if fmt in MULTI_CONFIDENCE_PATTERNS or fmt == "rlcr_single_answer":
        if not valid_k(k) or not has_required_tags(content, k, True, fmt):  # type: ignore[arg-type]
            return False
        parsed = single_candidate(content) if fmt == "rlcr_single_answer" else flat_candidates(content, k)  # type: ignore[arg-type]
        return parsed is not None and _all_in_unit_interval(parsed[1])
    if fmt in ("multi_answer_rlvr", "rlvr_single_answer"):
        if not valid_k(k) or not has_required_tags(content, k, False, fmt):  # type: ignore[arg-type]
            return False
        return answers_only(content, k) is not None  # type: ignore[arg-type]
    # The legacy single-answer patterns: presence of the tags, and a last <confidence> in [0, 1].
    ok = all(tag in content for tag in ("<think>", "</think>", "<answer>", "</answer>"))
    if fmt in ("tabc", "tbac"):
        ok = ok and "<analysis>" in content and "</analysis>" in content
    if ok and fmt != "ta":
        value = safe_float(last_between(content, "<confidence>", "</confidence>"))
        ok = value is not None and 0.0 <= value <= 1.0
    return ok


def candidates_for_accuracy(fmt: str, content: str, k: int) -> list[str]:
    """The candidates their accuracy reward judges: the K numbered answers (multi patterns), the RLVR reading,
    or the LAST `<answer>` of a single-answer completion."""
    if fmt in MULTI_CONFIDENCE_PATTERNS:
        parsed = flat_candidates(content, k)
        return parsed[0] if parsed else []
    if fmt == "multi_answer_rlvr":
        return answers_only(content, k) or []
    return [last_between(content, "<answer>", "</answer>")]


def rank_by_confidence(answers: list[str], confidences: list[str]) -> list[str]:
    """Answers by clipped confidence, highest first, ties in listed order; an unreadable confidence ranks as -1."""
    def key(pair: tuple[str, str]) -> float:
        value = safe_float(pair[1])
        return clip01(value) if value is not None else -1.0

    return [a for a, _ in sorted(zip(answers, confidences, strict=False), key=key, reverse=True)]


def ranked_candidates(fmt: str, content: str, k: int) -> list[str]:
    """The order their pass@i / num_correct@i rewards read: listed order (RLVR), by confidence (RLCR);
    the legacy single-answer patterns have none (their pass@i scores 0)."""
    if fmt == "multi_answer_rlvr":
        return answers_only(content, k) or []
    if fmt in MULTI_CONFIDENCE_PATTERNS:
        parsed = flat_candidates(content, k)
        return rank_by_confidence(*parsed) if parsed and parsed[0] and parsed[1] else []
    return []


LAST_CONFIDENCE = re.compile(r"<confidence>(.*?)</confidence>", re.DOTALL)


def last_unnumbered_confidence(content: str) -> float | None:
    """Their logging rewards' reading: the last unnumbered `<confidence>` (regex, non-greedy), clipped to [0, 1];
    numbered `<confidenceI>` tags are never read."""
    matches = LAST_CONFIDENCE.findall(content)
    value = safe_float(matches[-1]) if matches else None
    return clip01(value) if value is not None else None
