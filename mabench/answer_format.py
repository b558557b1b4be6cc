"""The multi-answer output format of Multi-RLCR / Multi-RLVR: prompt builders and a parser that never raises.

Format (METHOD.md): an optional ``<think>…</think>``, then ``<answer1>…</answer1><confidence1>…</confidence1>``
through ``<answerK>…</answerK><confidenceK>…</confidenceK>``. Single-answer mode uses ``<answer>`` and an
optional ``<confidence>``. Code tasks use another answer tag (``<code1>`` …) through the ``tag`` argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .types import AnswerSet, Candidate

# Tags of the format itself. An unclosed tag ends at the next of these, never at other markup such as
# "<b>" inside a program or an HTML string.
_FORMAT_TAGS = r"(?:answer|confidence|code|analysis)"
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*(%?)")


def answer_key(text: str) -> str:
    """What makes two candidates the same answer for duplicate detection: equal after stripping surrounding
    whitespace and lowercasing. Used for the `duplicate_answers` flag (multi sets and bok samples alike, code
    included) and by training's distinctness rewards, so that evaluation and training count the same duplicates.
    Deliberately lighter than SQuAD normalisation (`mabench.text.normalize_answer`), which belongs to judging and
    to the diversity metrics: "The Beatles" and "Beatles" are different strings a model chose to write twice,
    but the same answer to a judge."""
    return text.strip().lower()


def has_duplicate_answers(texts: Iterable[str]) -> bool:
    """Two of `texts` share an `answer_key`."""
    keys = [answer_key(t) for t in texts]
    return len(set(keys)) < len(keys)


def tag_skeleton(k: int, tag: str = "answer", confidence: bool = True) -> str:
    """The empty numbered tags a multi prompt shows: <tag1>...</tag1><confidence1>...</confidence1>..."""
    return "".join(
        f"<{tag}{i}>...</{tag}{i}>" + (f"<confidence{i}>...</confidence{i}>" if confidence else "")
        for i in range(1, k + 1)
    )


def multi_instructions(k: int, tag: str = "answer", confidence: bool = True) -> str:
    pairs = tag_skeleton(k, tag, confidence)
    conf = (
        " After each answer give your confidence that it is correct, a number between 0 and 1;"
        " the confidences must sum to at most 1."
        if confidence
        else ""
    )
    return (
        f"Give EXACTLY {k} DISTINCT candidate answers, most likely first.{conf}"
        f" Put only the answer itself inside each {tag} tag, no sentence."
        f" You may think first inside <think>...</think>. Then write exactly:\n{pairs}"
    )


def single_instructions(tag: str = "answer", confidence: bool = True) -> str:
    conf = (
        " Then give your confidence that it is correct, a number between 0 and 1, as"
        " <confidence>...</confidence>."
        if confidence
        else ""
    )
    return (
        f"Give ONE answer. Put only the answer itself inside <{tag}>...</{tag}>, no sentence.{conf}"
        " You may think first inside <think>...</think>."
    )


def format_answer_set(answers: list[str], confidences: list[float | None], tag: str = "answer") -> str:
    """Render candidates in the canonical interleaved layout (the inverse of `parse_answer_set`)."""
    out = []
    for i, (text, conf) in enumerate(zip(answers, confidences, strict=True), start=1):
        out.append(f"<{tag}{i}>{text}</{tag}{i}>")
        if conf is not None:
            out.append(f"<confidence{i}>{conf!r}</confidence{i}>")
    return "\n".join(out)


def parse_confidence(raw: str | None) -> tuple[float | None, bool, bool]:
    """Read one confidence. Returns (value in [0, 1] or None, read as a percentage, out of range).

    Values in (1, 100], or written with '%', are percentages (METHOD.md, evaluation convention);
    anything else outside [0, 1], or text that is not a number, is missing.
    """
    if raw is None:
        return None, False, False
    m = _NUMBER.search(raw)
    if m is None:
        return None, False, False
    try:
        value = float(m.group(0).rstrip("% \t\n"))
    except ValueError:
        return None, False, False
    if value != value:  # NaN
        return None, False, True
    if m.group(1) == "%" or 1.0 < value <= 100.0:
        if 0.0 <= value <= 100.0:
            return value / 100.0, True, False
        return None, True, True
    if 0.0 <= value <= 1.0:
        return value, False, False
    return None, False, True


def _spans(text: str, name: str, numbered: bool) -> tuple[dict[int, list[str]], bool]:
    """Contents of every <nameN> (or <name>) tag, keyed by N (0 when unnumbered).

    An unclosed tag ends at the next opening tag or the end of the text. Returns also whether every
    tag was properly closed.
    """
    num = r"(\d+)" if numbered else r"()"
    opener = re.compile(rf"<{name}{num}>", re.IGNORECASE)
    found: dict[int, list[str]] = {}
    all_closed = True
    for m in opener.finditer(text):
        idx = int(m.group(1)) if m.group(1) else 0
        rest = text[m.end():]
        close = re.search(rf"</{name}{m.group(1)}>", rest, re.IGNORECASE)
        nxt = re.search(rf"<(?:{_FORMAT_TAGS}|{re.escape(name)}|think)\d*>", rest, re.IGNORECASE)
        if close and (nxt is None or close.start() <= nxt.start()):
            body = rest[: close.start()]
        else:
            all_closed = False
            body = rest[: nxt.start()] if nxt else rest
        found.setdefault(idx, []).append(body.strip())
    return found, all_closed


def _strip_think(text: str) -> tuple[str, bool]:
    """Remove think blocks. An unclosed <think> swallows text up to the first answer-like tag."""
    ok = True
    text, n_open = re.subn(r"<think>.*?</think>", " ", text, flags=re.DOTALL | re.IGNORECASE)
    if re.search(r"</?think>", text, re.IGNORECASE):
        ok = False
        m = re.search(r"<think>", text, re.IGNORECASE)
        if m:
            nxt = re.search(rf"<{_FORMAT_TAGS}\d*>", text[m.end():], re.IGNORECASE)
            text = text[: m.start()] + (text[m.end() + nxt.start():] if nxt else "")
        text = re.sub(r"</?think>", " ", text, flags=re.IGNORECASE)
    return text, ok


def parse_answer_set(
    text: str, k: int | None = None, tag: str = "answer", require_confidence: bool = True
) -> AnswerSet:
    """Parse a generation into candidates plus format flags. Never raises.

    ``k=None`` parses the single-answer form (``<answer>``); otherwise numbered tags 1..k, in either the
    interleaved or the split layout. Candidates beyond k, repeated indices and unclosed tags are kept
    out of or into the set as documented, and each clears ``format_ok``.
    """
    try:
        return _parse(text if isinstance(text, str) else "", k, tag, require_confidence)
    except Exception:  # the contract is "never raises"; a parser bug must not lose a sample
        return AnswerSet(candidates=[], format_ok=False, missing_confidence=True)


def _parse(text: str, k: int | None, tag: str, require_confidence: bool) -> AnswerSet:
    body, ok = _strip_think(text)
    numbered = k is not None
    answers, closed_a = _spans(body, tag, numbered)
    confs, closed_c = _spans(body, "confidence", numbered)
    ok = ok and closed_a and closed_c
    if numbered and not answers:  # a multi prompt answered in the single form still counts, in order
        plain, _ = _spans(body, tag, numbered=False)
        plain_conf, _ = _spans(body, "confidence", numbered=False)
        answers = {i: [a] for i, a in enumerate(plain.get(0, []), start=1)}
        confs = {i: [c] for i, c in enumerate(plain_conf.get(0, []), start=1)}
        ok = False
    if not numbered and not answers:
        first, _ = _spans(body, tag, numbered=True)
        if first:
            answers = {0: first[min(first)]}
            confs = {0: confs.get(0) or _spans(body, "confidence", True)[0].get(min(first), [])}
            ok = False

    wanted = list(range(1, k + 1)) if numbered else [0]
    if any(len(v) > 1 for v in answers.values()) or any(len(v) > 1 for v in confs.values()):
        ok = False
    if set(answers) - set(wanted) or set(confs) - set(wanted):
        ok = False  # extra or stray indices are ignored

    candidates: list[Candidate] = []
    missing = percent = out_of_range = False
    for rank, idx in enumerate(sorted(i for i in answers if i in wanted), start=1):
        raw_conf = confs.get(idx, [None])[0]
        value, pct, oor = parse_confidence(raw_conf)
        missing |= value is None
        percent |= pct
        out_of_range |= oor
        candidates.append(Candidate(text=answers[idx][0], confidence=value, rank=rank))

    if len(candidates) != len(wanted) or any(not c.text for c in candidates):
        ok = False
    if require_confidence and (missing or percent or out_of_range):
        ok = False
    duplicates = has_duplicate_answers(c.text for c in candidates)
    total = sum(c.confidence or 0.0 for c in candidates)
    return AnswerSet(
        candidates=candidates,
        format_ok=ok,
        missing_confidence=missing or not candidates,
        confidence_out_of_range=out_of_range,
        confidence_percent_scale=percent,
        sum_exceeds_one=total > 1.0 + 1e-9,
        duplicate_answers=duplicates,
    )
