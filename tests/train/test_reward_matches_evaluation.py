"""The trainer's reward agrees with what `mabench run` computes for the same output.

Each output goes once through the evaluation path (`judging.build_record`: the task's parser and judge, then the
metrics `format_rate`, `hit_at_k` and `set_brier`) and once through the TRL reward functions; the reward must
be METHOD.md's formula applied to the evaluation's numbers.
"""

from __future__ import annotations

import pytest

from mabench.answer_format import format_answer_set
from mabench.judging import build_record
from mabench.metrics import compute_metrics, metric_by_name, set_brier_score
from mabench.tasks.ambigqa import AmbigQA
from mabench.train.methods import METHODS, method_spec
from mabench.train.reward_funcs import build_reward_funcs
from mabench.train.rewards import RewardWeights
from mabench.types import Generation

from .test_rewards import QUESTION

MULTI_OUTPUTS = [
    format_answer_set(["Paris", "Lyon", "Nice"], [0.5, 0.3, 0.1]),
    format_answer_set(["Lyons", "Rome", "Nice"], [0.2, 0.2, 0.2]),
    format_answer_set(["Rome", "Berlin", "Madrid"], [0.9, 0.05, 0.05]),
    format_answer_set(["Paris", "PARIS", "Lyon"], [0.3, 0.3, 0.3]),  # duplicates
    format_answer_set(["Paris", "Lyon", "Nice"], [0.7, 0.6, 0.1]),  # sum above 1
    format_answer_set(["Paris", "Lyon", "Nice"], [70, 20, 10]),  # percentages
    format_answer_set(["Paris", "Lyon"], [0.5, 0.3]),  # a tag missing
    "<think>the capital</think>" + format_answer_set(["The Paris", "Lyon.", "Nice"], [0.4, 0.4, 0.1]),
    "Paris, Lyon and Nice",
    "",
]
SINGLE_OUTPUTS = [
    "<answer>Paris</answer><confidence>0.9</confidence>",
    "<answer>Rome</answer><confidence>0.9</confidence>",
    "<answer>Lyon</answer><confidence>90</confidence>",
    "<answer>Lyon</answer>",
    "<think>hmm</think><answer>paris</answer><confidence>0.25</confidence>",
    "Paris",
]


def evaluation(text: str, mode: str):
    generation = Generation(text=text, prompt_tokens=1, completion_tokens=1, finish_reason="stop")
    record = build_record(AmbigQA(), QUESTION, mode, 3, [generation])
    metrics = compute_metrics([record], [metric_by_name("format_rate"), metric_by_name("hit_at_k")], n_resamples=0)
    return record, metrics["format_rate"]["value"], metrics["hit_at_k"]["value"]


@pytest.mark.parametrize("method", METHODS)
def test_every_reward_component_is_the_formula_over_the_evaluations_numbers(method):
    spec = method_spec(method)
    funcs, _ = build_reward_funcs(AmbigQA(), spec, 3, RewardWeights())
    outputs = MULTI_OUTPUTS if spec.multi else SINGLE_OUTPUTS
    question = [QUESTION.model_dump_json()] * len(outputs)
    trained = {f.__name__: f(prompts=[[]] * len(outputs), completions=outputs, question=question) for f in funcs}
    for i, text in enumerate(outputs):
        record, format_rate, hit = evaluation(text, spec.mode)
        answers = record.answer_set
        if spec.confidence:
            assert trained["format"][i] == format_rate, text
        else:  # RLVR asks no confidences: the strict evaluation format implies its format, not the reverse
            assert trained["format"][i] >= format_rate, text
        fmt = trained["format"][i]
        zeroed = spec.duplicates_zero_accuracy and answers.duplicate_answers
        assert trained["accuracy"][i] == (0.0 if zeroed else fmt * hit), text
        if spec.confidence:
            expected = 0.0
            if fmt and not answers.duplicate_answers and not answers.sum_exceeds_one:
                correct = [j.correct for j in record.judgements]
                expected = 1.0 - set_brier_score([c.confidence for c in answers.candidates], correct, reduce="mean")
            assert trained["brier"][i] == pytest.approx(expected), text


def test_the_cases_cover_both_outcomes_of_every_rule():
    """Guard against a vacuous agreement: the outputs above exercise each branch of the reward."""
    funcs, _ = build_reward_funcs(AmbigQA(), method_spec("multi-rlcr"), 3, RewardWeights())
    question = [QUESTION.model_dump_json()] * len(MULTI_OUTPUTS)
    values = {f.__name__: f(prompts=[[]] * len(MULTI_OUTPUTS), completions=MULTI_OUTPUTS, question=question)
              for f in funcs}
    assert set(values["format"]) == {0.0, 1.0}
    assert set(values["accuracy"]) == {0.0, 1.0}
    assert 0.0 in values["brier"] and any(0.0 < b < 1.0 for b in values["brier"])
