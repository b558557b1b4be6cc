"""The two reward profiles side by side: each documented difference (docs/paper-profile.md) is a completion on
which mabench's rewards and the authors' disagree, in the direction the table says."""

from __future__ import annotations

import pytest

from mabench.tasks.ambigqa import AmbigQA
from mabench.train.methods import method_spec
from mabench.train.paper_reward_fns import paper_rewards
from mabench.train.reward_funcs import build_reward_funcs
from mabench.train.rewards import RewardWeights
from mabench.types import Question

QUESTION = Question(id="q1", task="ambigqa", inputs={"question": "Which French city?",
                                                      "annotations": [[["Paris"], ["Lyon"]]]},
                    gold=[["Paris"], ["Lyon", "Lyons"]])
T, A = "<think>t</think>", "<analysis>a</analysis>"


def pairs(answers, confidences):
    return "".join(f"<answer{i}>{a}</answer{i}><confidence{i}>{c}</confidence{i}>"
                   for i, (a, c) in enumerate(zip(answers, confidences, strict=True), start=1))


CLEAN = pairs(["Paris", "Nice", "Metz"], ["0.5", "0.3", "0.1"])
# case: (completion, the reward that differs, mabench's value, the paper's value)
CASES = {
    "no think block": (A + CLEAN, "format", 1.0, 0.0),
    "no analysis block": (T + CLEAN, "format", 1.0, 0.0),
    "confidence with words": (T + A + pairs(["Paris", "Nice", "Metz"], ["0.5", "0.3 (sure)", "0.1"]), "format", 1, 0),
    "empty answer slot": (T + A + pairs(["Paris", "", "Metz"], ["0.5", "0.3", "0.1"]), "accuracy", 0.0, 1.0),
    "tag emitted twice": (T + A + "<answer1>Nice</answer1>" + pairs(["Paris", "Lille", "Metz"], ["0.5", "0.3", "0.1"]),
                          "format", 0.0, 1.0),
    "more than K": (T + A + pairs(["Paris", "Nice", "Metz", "Lille"], ["0.5", "0.3", "0.1", "0.05"]),
                    "accuracy", 0.0, 1.0),
    "tags inside think": ("<think><answer1>Paris</answer1><confidence1>0.9</confidence1></think>" + A
                          + pairs(["Nice", "Metz", "Lille"], ["0.3", "0.3", "0.3"]), "accuracy", 0.0, 1.0),
}


def mabench_rewards(text: str) -> dict[str, float]:
    funcs, _ = build_reward_funcs(AmbigQA(), method_spec("multi-rlcr"), 3, RewardWeights())
    return {f.__name__: f(prompts=[[]], completions=[[{"role": "assistant", "content": text}]],
                          question=[QUESTION.model_dump_json()])[0] for f in funcs}


def authors_rewards(text: str) -> dict[str, float]:
    return paper_rewards(text, ["Paris", "Lyon", "Lyons"], format_pattern="multi_answer", num_candidates=3)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_documented_difference_is_a_disagreement(case):
    text, reward, ours, theirs = CASES[case]
    assert (mabench_rewards(text)[reward], authors_rewards(text)[reward]) == (ours, theirs)


def test_the_profiles_agree_on_a_clean_set():
    ours, theirs = mabench_rewards(T + A + CLEAN), authors_rewards(T + A + CLEAN)
    assert all(ours[name] == pytest.approx(theirs[name]) for name in ("format", "accuracy", "brier"))
