"""The rewards of METHOD.md, checked against hand-computed cases on the AmbigQA judge.

Gold for every case: two distinct answers, "Paris" and "Lyon" (with the alias "Lyons").
"""

from __future__ import annotations

import pytest

from mabench.answer_format import format_answer_set
from mabench.tasks.ambigqa import AmbigQA
from mabench.train.methods import method_spec
from mabench.train.reward_funcs import RewardComponent, Scorer, build_reward_funcs
from mabench.train.rewards import RewardWeights
from mabench.types import Question

QUESTION = Question(
    id="q1", task="ambigqa", inputs={"question": "Which French city?", "annotations": [[["Paris"], ["Lyon"]]]},
    gold=[["Paris"], ["Lyon", "Lyons"]],
)


def rewards(text: str, method: str = "multi-rlcr", accuracy: str = "any", k: int = 3) -> dict[str, float]:
    """Every trained component of one completion, computed through the TRL reward functions."""
    funcs, _ = build_reward_funcs(AmbigQA(), method_spec(method), k, RewardWeights(), accuracy)
    completion = [{"role": "assistant", "content": text}]
    return {f.__name__: f(prompts=[[]], completions=[completion], question=[QUESTION.model_dump_json()])[0]
            for f in funcs}


def multi(answers: list[str], confidences: list[float | str | None]) -> str:
    parts = []
    for i, (a, c) in enumerate(zip(answers, confidences, strict=True), start=1):
        parts.append(f"<answer{i}>{a}</answer{i}>")
        if c is not None:
            parts.append(f"<confidence{i}>{c}</confidence{i}>")
    return "<think>two cities come to mind</think>\n" + "\n".join(parts)


def test_a_well_formed_set_earns_format_any_correct_and_the_mean_set_brier():
    # y = (1, 1, 0), p = (0.5, 0.3, 0.1): B = 1 - (0.25 + 0.49 + 0.01) / 3 = 0.75
    r = rewards(multi(["Paris", "Lyons", "Nice"], [0.5, 0.3, 0.1]))
    assert r == pytest.approx({"format": 1.0, "accuracy": 1.0, "brier": 0.75})


def test_the_distinct_accuracy_option_counts_distinct_correct_answers_over_k():
    assert rewards(multi(["Paris", "Lyons", "Nice"], [0.5, 0.3, 0.1]), accuracy="distinct")["accuracy"] == (
        pytest.approx(2 / 3))
    # two aliases of one gold answer are one distinct correct answer
    assert rewards(multi(["Lyon", "Lyons", "Nice"], [0.3, 0.3, 0.1]), accuracy="distinct")["accuracy"] == (
        pytest.approx(1 / 3))


def test_all_wrong_answers_keep_format_and_a_brier_for_low_confidence():
    # y = (0, 0, 0), p = (0.2, 0.1, 0.1): B = 1 - (0.04 + 0.01 + 0.01) / 3 = 0.98
    r = rewards(multi(["Rome", "Berlin", "Madrid"], [0.2, 0.1, 0.1]))
    assert r == pytest.approx({"format": 1.0, "accuracy": 0.0, "brier": 0.98})


def test_duplicate_answers_zero_accuracy_and_brier_in_multi_rlcr_but_not_multi_rlvr_accuracy():
    text = multi(["Paris", " paris ", "Lyon"], [0.3, 0.3, 0.3])  # equal after strip + lowercase
    assert rewards(text) == pytest.approx({"format": 1.0, "accuracy": 0.0, "brier": 0.0})
    assert rewards(text, method="multi-rlvr") == pytest.approx({"format": 1.0, "accuracy": 1.0})
    # with the distinct option, the duplicate counts once: Paris and Lyon of K = 3
    assert rewards(text, method="multi-rlvr", accuracy="distinct")["accuracy"] == pytest.approx(2 / 3)


def test_confidences_summing_above_one_zero_only_the_brier():
    r = rewards(multi(["Paris", "Lyon", "Nice"], [0.6, 0.5, 0.1]))  # sum 1.2
    assert r == pytest.approx({"format": 1.0, "accuracy": 1.0, "brier": 0.0})


def test_a_missing_answer_tag_zeroes_every_component():
    r = rewards(multi(["Paris", "Lyon"], [0.5, 0.3]))  # K = 3 asked, two given
    assert r == pytest.approx({"format": 0.0, "accuracy": 0.0, "brier": 0.0})
    assert rewards(multi(["Paris", "Lyon"], [None, None]), method="multi-rlvr") == pytest.approx(
        {"format": 0.0, "accuracy": 0.0})


def test_a_missing_confidence_tag_fails_rlcr_format_but_not_rlvr_format():
    text = multi(["Paris", "Lyon", "Nice"], [0.5, 0.3, None])
    assert rewards(text) == pytest.approx({"format": 0.0, "accuracy": 0.0, "brier": 0.0})
    assert rewards(text, method="multi-rlvr") == pytest.approx({"format": 1.0, "accuracy": 1.0})


def test_confidences_on_the_0_to_100_scale_fail_the_format_as_in_the_paper():
    # Evaluation reads 50 as 0.5 (a percentage); the training format demands a float in [0, 1].
    text = multi(["Paris", "Lyon", "Nice"], [50, 30, 10])
    assert rewards(text) == pytest.approx({"format": 0.0, "accuracy": 0.0, "brier": 0.0})
    assert rewards(text, method="multi-rlvr") == pytest.approx({"format": 1.0, "accuracy": 1.0})


def test_an_unclosed_think_block_fails_the_format():
    text = "<think>hmm " + format_answer_set(["Paris", "Lyon", "Nice"], [0.5, 0.3, 0.1])
    assert rewards(text) == pytest.approx({"format": 0.0, "accuracy": 0.0, "brier": 0.0})


def test_a_confidence_that_is_not_a_number_fails_rlcr_format():
    text = multi(["Paris", "Lyon", "Nice"], ["high", 0.3, 0.1])
    assert rewards(text)["format"] == 0.0


def test_single_answer_methods_are_the_k_equals_1_cases():
    # RLCR: B = 1 - (1 - 0.8)^2 = 0.96 when right, 1 - 0.8^2 = 0.36 when wrong
    assert rewards("<answer>Paris</answer><confidence>0.8</confidence>", method="rlcr") == pytest.approx(
        {"format": 1.0, "accuracy": 1.0, "brier": 0.96})
    assert rewards("<answer>Rome</answer><confidence>0.8</confidence>", method="rlcr") == pytest.approx(
        {"format": 1.0, "accuracy": 0.0, "brier": 0.36})
    assert rewards("<answer>Lyon</answer>", method="rlvr") == pytest.approx({"format": 1.0, "accuracy": 1.0})
    assert rewards("Lyon", method="rlvr") == pytest.approx({"format": 0.0, "accuracy": 0.0})


def test_the_reward_functions_are_named_after_their_components_in_the_methods_order():
    for method, names in [("multi-rlcr", ["format", "accuracy", "brier"]), ("rlcr", ["format", "accuracy", "brier"]),
                          ("multi-rlvr", ["format", "accuracy"]), ("rlvr", ["format", "accuracy"])]:
        funcs, weights = build_reward_funcs(AmbigQA(), method_spec(method), 3, RewardWeights())
        assert [f.__name__ for f in funcs] == names
        assert weights == [0.5] * len(names)


def test_the_weights_are_configurable_and_the_paper_default_is_one_half_each():
    assert RewardWeights() == RewardWeights(format=0.5, accuracy=0.5, brier=0.5)
    _, weights = build_reward_funcs(AmbigQA(), method_spec("multi-rlcr"), 3,
                                    RewardWeights(format=0.1, accuracy=1.0, brier=2.0))
    assert weights == [0.1, 1.0, 2.0]


def test_the_components_of_one_completion_share_one_parse_and_judge():
    class CountingAmbigQA(AmbigQA):
        judged = 0

        def judge(self, question, answers):
            CountingAmbigQA.judged += 1
            return super().judge(question, answers)

    scorer = Scorer(CountingAmbigQA(), method_spec("multi-rlcr"), 3)
    components = [RewardComponent(name, scorer) for name in ("format", "accuracy", "brier")]
    text = multi(["Paris", "Lyon", "Nice"], [0.5, 0.3, 0.1])
    for component in components:
        component(prompts=["p"], completions=[text], question=[QUESTION.model_dump_json()])
    assert CountingAmbigQA.judged == 1


def test_the_rlvr_format_reads_the_tasks_own_answer_tag():
    from mabench.tasks import load_task

    code_task = load_task("mbpp")
    scorer = Scorer(code_task, method_spec("multi-rlvr"), 3)
    assert scorer.tag == "code"
    assert Scorer(AmbigQA(), method_spec("rlvr"), 3).tag == "answer"


def test_a_sandbox_failure_gives_no_reward_rather_than_a_wrong_answers_reward():
    # The same real failure as in evaluation (the sandbox worker is killed mid-program): TRL leaves a completion
    # whose rewards are all None out of the update, instead of teaching the policy that a correct program is wrong.
    import secrets
    import threading

    from mabench.tasks import load_task
    from tests.tasks.test_code_tasks import SOLUTION, kill_the_worker_running

    task = load_task("humaneval")
    (question,) = [q for q in task.load() if q.id == "HumanEval/0"]
    scorer = Scorer(task, method_spec("rlvr"), 1)
    name = "mbx" + secrets.token_hex(5)
    program = f"import ctypes, time\nctypes.CDLL(None).prctl(15, b'{name}', 0, 0, 0)\ntime.sleep(1)\n" + SOLUTION
    component = RewardComponent("accuracy", scorer)
    stop = threading.Event()
    killer = threading.Thread(target=kill_the_worker_running, args=(name, stop), daemon=True)
    killer.start()
    try:
        rewards = component(prompts=["p"], completions=[f"<code>{program}</code>"],
                            question=[question.model_dump_json()])
    finally:
        stop.set()
    assert rewards == [None]
    assert component(prompts=["p"], completions=[f"<code>{SOLUTION}</code>"],
                     question=[question.model_dump_json()]) == [1.0]  # the same program, once the sandbox works
