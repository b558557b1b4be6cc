"""TRL reward functions: one callable per reward component, so that TRL logs each under its own name
(`rewards/format/mean`, `rewards/accuracy/mean`, `rewards/brier/mean`).

All components of one completion come from a single parse and a single judge call (the task's own `parse` and
`judge`, exactly as `mabench run` scores an evaluation), shared through a `Scorer` with a small bounded cache.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from mabench.types import JudgeUnavailable, Question

from .data import question_from_json
from .methods import AccuracyMode, MethodSpec
from .rewards import RewardBreakdown, RewardWeights, method_format_ok, score

log = logging.getLogger(__name__)


def completion_text(completion: Any) -> str:
    """The text of a TRL completion: a plain string, or a conversational list of messages (assistant turn)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Sequence) and completion:
        last = completion[-1]
        if isinstance(last, dict):
            content = last.get("content", "")
            if isinstance(content, list):  # content parts
                return "".join(part.get("text", "") for part in content if isinstance(part, dict))
            return str(content)
    return ""


def answer_tag(task: Any) -> str:
    """The tag the task's parser reads candidates from, as its spec declares it (`TaskSpec.answer_tag`): the RLVR
    format re-reads the completion with that tag, confidences not required."""
    return str(task.spec.answer_tag)


class Scorer:
    """Parse, judge and score completions for one task and method; remembers the latest few thousand results so
    that the components of one batch share one judge call per completion."""

    def __init__(self, task: Any, spec: MethodSpec, k: int, accuracy: AccuracyMode = "any", cache_size: int = 4096):
        self.task, self.spec, self.k, self.accuracy = task, spec, k, accuracy
        self.tag = answer_tag(task)
        self._cache: OrderedDict[tuple[str, str, str], RewardBreakdown] = OrderedDict()
        self._cache_size = cache_size

    def score_text(self, question: Question, text: str) -> RewardBreakdown | None:
        """The completion's rewards; None when the judge could not reach a verdict (the code sandbox failed):
        TRL then leaves the completion out of the update instead of training on a failure as a wrong answer."""
        key = (question.task, question.id, text)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        answers = self.task.parse(text, self.spec.mode, self.k)
        try:
            judgements, _ = self.task.judge(question, answers)
        except JudgeUnavailable as failure:
            log.warning("no reward for one completion of %s/%s: %s", question.task, question.id, failure)
            return None  # not cached: the next step tries the sandbox again
        fmt = method_format_ok(text, answers, self.spec, self.k, self.tag)
        result = score(answers, judgements, self.spec, self.k, self.accuracy, format_ok=fmt)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def score_batch(self, questions: Sequence[str | Question], completions: Sequence[Any]
                    ) -> list[RewardBreakdown | None]:
        return [
            self.score_text(q if isinstance(q, Question) else question_from_json(q), completion_text(c))
            for q, c in zip(questions, completions, strict=True)
        ]


class RewardComponent:
    """One reward component as a TRL reward function: `f(prompts, completions, question=..., **kwargs)`.

    TRL passes the dataset's other columns as keyword lists; the `question` column holds each row's `Question`
    as JSON. TRL names the function after `__name__`, which is the component's name.
    """

    def __init__(self, name: str, scorer: Scorer, log_flags: bool = False):
        self.__name__ = name
        self.name, self.scorer, self.log_flags = name, scorer, log_flags

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], question: Sequence[str],
                 log_metric: Callable[[str, float], None] | None = None, **kwargs: Any) -> list[float | None]:
        results = self.scorer.score_batch(question, completions)
        scored = [r for r in results if r is not None]
        if self.log_flags and log_metric is not None and results:
            log_metric("flags/judge_unavailable", (len(results) - len(scored)) / len(results))
        if self.log_flags and log_metric is not None and scored:
            log_metric("flags/duplicate_answers", sum(r.duplicate_answers for r in scored) / len(scored))
            if self.scorer.spec.confidence:
                log_metric("flags/sum_exceeds_one", sum(r.sum_exceeds_one for r in scored) / len(scored))
        return [None if r is None else r.component(self.name) for r in results]


def flat_gold(question: Question) -> list[str]:
    """The gold strings of a question, aliases included, as the authors' reward takes them (a flat list)."""
    out: list[str] = []
    for item in question.gold:
        out.extend([item] if isinstance(item, str) else [str(a) for a in item])
    return out


class PaperRewardFunction:
    """One of the authors' reward functions (`paper_rewards`) as a TRL reward function, named after it; it reads
    each row's `Question` JSON for the gold answers and passes the config's pattern, K and source."""

    def __init__(self, name: str, format_pattern: str, num_candidates: int, source: str | None):
        self.__name__ = name
        self.name, self.format_pattern, self.num_candidates, self.source = name, format_pattern, num_candidates, source

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], question: Sequence[str],
                 **kwargs: Any) -> list[float]:
        from .paper_reward_fns import paper_reward

        return [
            paper_reward(self.name, completion_text(c), flat_gold(question_from_json(q)),
                         format_pattern=self.format_pattern, num_candidates=self.num_candidates, source=self.source)
            for q, c in zip(question, completions, strict=True)
        ]


def build_profile_reward_funcs(task: Any, spec: MethodSpec, k: int, resolved: Any,
                               accuracy: AccuracyMode = "any") -> tuple[list[Any], list[float]]:
    """The reward functions and weights of a resolved profile (`profiles.resolve_rewards`)."""
    if resolved.profile == "mabench":
        weights = RewardWeights(**dict(zip(resolved.names, resolved.weights, strict=True)))
        return build_reward_funcs(task, spec, k, weights, accuracy)
    funcs = [PaperRewardFunction(name, resolved.format_pattern, resolved.num_candidates, resolved.source)
             for name in resolved.names]
    return funcs, list(resolved.weights)


def build_reward_funcs(task: Any, spec: MethodSpec, k: int, weights: RewardWeights,
                       accuracy: AccuracyMode = "any") -> tuple[list[RewardComponent], list[float]]:
    """The method's reward functions, in order, and their weights for `GRPOConfig.reward_weights`."""
    scorer = Scorer(task, spec, k, accuracy)
    funcs = [RewardComponent(name, scorer, log_flags=(name == "format")) for name in spec.components]
    return funcs, weights.for_components(spec.components)
