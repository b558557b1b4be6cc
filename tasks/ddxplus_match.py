"""Mapping free-text diagnoses onto the 49 DDXPlus conditions, in tiers, recording the tier that decided:

1. ``exact`` / ``synonym`` / ``icd10``: the tier-1 key (SQuAD normalisation, accents folded, spaces dropped)
   equals a condition's English name or a known synonym, or the text is one of its ICD-10 codes (or a code
   in the WHO category of one).
2. ``fuzzy``: rapidfuzz's ``fuzz.ratio`` (normalised Indel similarity, 0-100) between the normalised text and
   every name and synonym of five characters or more is at least ``FUZZY_THRESHOLD`` (88), and beats the
   best score of every other condition by at least ``FUZZY_MARGIN`` (4). 88 admits one transposed pair in a
   nine-letter word ("pnuemonia"); the margin keeps near-twins ("stable" / "unstable angina") apart.
3. ``judge-model``: optional; a language model, through a `JudgeModel` (any backend, via
   `mabench.backends.judge_model`), picks the condition from the
   numbered list (or none). Its reply is read as a number, else mapped through tiers 1-2.

Anything left is ``none``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mabench.types import JudgeModel, Message, SamplingConfig

from .ddxplus_conditions import ConditionIndex, fuzzy_key

FUZZY_THRESHOLD = 88.0
FUZZY_MARGIN = 4.0
JUDGE_SYSTEM_PROMPT = (
    "You map a free-text diagnosis onto a fixed list of conditions. Answer with the number of the condition "
    "that names the same disease, or 0 if none of them does. Write the number only."
)
_INTEGER = re.compile(r"\b(\d{1,3})\b")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class ConditionMatch:
    condition: str | None  # canonical name, or None
    tier: str  # exact, synonym, icd10, fuzzy, judge-model, none
    score: float | None = None  # the fuzzy score, for the fuzzy tier


@dataclass(frozen=True)
class ModelConditionJudge:
    """Tier 3: a language model picks the condition. Greedy decoding by default, so that judging is
    deterministic for a deterministic backend. One `generate` call per batch of texts."""

    model: JudgeModel
    sampling: SamplingConfig = SamplingConfig(temperature=0.0, max_new_tokens=16)

    def prompt(self, text: str, names: Sequence[str]) -> list[Message]:
        listing = "\n".join(f"{i}. {name}" for i, name in enumerate(names, start=1))
        user = f"Conditions:\n{listing}\n\nDiagnosis: {text}\n\nNumber of the same condition (0 if none):"
        return [{"role": "system", "content": JUDGE_SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def replies(self, texts: Sequence[str], names: Sequence[str]) -> list[str]:
        if not texts:
            return []
        return self.model.replies([self.prompt(t, names) for t in texts], self.sampling)


def parse_judge_reply(reply: str, names: Sequence[str], matcher: ConditionMatcher) -> str | None:
    """The condition a judge reply names: its first number (1..N; 0 or out of range: none), else the reply
    text mapped through tiers 1-2 (a model that answers with a name)."""
    body = _THINK.sub(" ", reply).strip()
    number = _INTEGER.search(body)
    if number:
        value = int(number.group(1))
        return names[value - 1] if 1 <= value <= len(names) else None
    if not body or body.strip(" .").lower() in {"none", "no match", "n/a"}:
        return None
    return matcher.match_text(body.splitlines()[0]).condition


@dataclass(frozen=True)
class ConditionMatcher:
    index: ConditionIndex
    fuzzy_threshold: float = FUZZY_THRESHOLD
    fuzzy_margin: float = FUZZY_MARGIN
    judge_model: ModelConditionJudge | None = None

    def match_text(self, text: str) -> ConditionMatch:
        """Tiers 1 and 2 only."""
        hit = self.index.lookup(text)
        if hit:
            return ConditionMatch(hit[0], hit[1])
        return self._fuzzy(text)

    def match_many(self, texts: Sequence[str]) -> list[ConditionMatch]:
        """All tiers; texts that tiers 1-2 leave open go to the judge model together, in one call."""
        matches = [self.match_text(t) for t in texts]
        if self.judge_model is None:
            return matches
        open_ = [i for i, m in enumerate(matches) if m.condition is None and texts[i].strip()]
        names = self.index.names
        for i, reply in zip(open_, self.judge_model.replies([texts[i] for i in open_], names), strict=True):
            matches[i] = ConditionMatch(parse_judge_reply(reply, names, self), "judge-model")
        return matches

    def _fuzzy(self, text: str) -> ConditionMatch:
        from rapidfuzz import fuzz

        key = fuzzy_key(text)
        if len(key) < 5:
            return ConditionMatch(None, "none")
        best: dict[str, float] = {}
        for choice, condition in self.index.fuzzy_choices.items():
            score = fuzz.ratio(key, choice)
            if score > best.get(condition, -1.0):
                best[condition] = score
        ranked = sorted(best.items(), key=lambda item: -item[1])
        (top, score), runner_up = ranked[0], (ranked[1][1] if len(ranked) > 1 else 0.0)
        if score >= self.fuzzy_threshold and score - runner_up >= self.fuzzy_margin:
            return ConditionMatch(top, "fuzzy", round(score, 1))
        return ConditionMatch(None, "none", round(score, 1))
