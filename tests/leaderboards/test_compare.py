"""`mabench compare`: two runs or two modes side by side, paired by question, plus multi against bok at equal
token budget. Differences are B - A."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.leaderboards.helpers import flat, invoke
from tests.leaderboards.runs import metrics_of, write_run


def per_question_mean_diff(a: dict, b: dict) -> float:
    shared = sorted(set(a) & set(b))
    return float(np.mean([b[q] - a[q] for q in shared]))


def test_two_runs_give_paired_differences_with_cis_and_p_values(checkpoints):
    result = invoke("compare", checkpoints.baseline, checkpoints.regressed, "--json")
    assert result.exit_code == 0, result.output
    cmp = json.loads(result.stdout)
    assert (cmp["a"]["model"], cmp["b"]["model"]) == ("ckpt-100", "ckpt-200")
    rows = {(r["mode_a"], r["metric"]): r for r in cmp["metrics"]}
    base, regressed = metrics_of(checkpoints.baseline), metrics_of(checkpoints.regressed)
    for mode in ("multi", "bok"):
        hit = rows[(mode, "hit_at_k")]
        pq_a = base["ambigqa"][mode]["hit_at_k"]["per_question"]
        pq_b = regressed["ambigqa"][mode]["hit_at_k"]["per_question"]
        assert hit["diff"] == pytest.approx(per_question_mean_diff(pq_a, pq_b))
        assert hit["diff"] == pytest.approx(10 / 30 - 24 / 30)
        assert hit["test"] == "mcnemar_exact" and hit["n_paired"] == 30
        assert hit["diff_ci_low"] < hit["diff"] < hit["diff_ci_high"] < 0 and hit["p_value"] < 0.01
        assert rows[(mode, "recall")]["test"] == "paired_permutation"
        brier = rows[(mode, "brier")]  # pooled: no per-question values, so no paired test
        assert brier["p_value"] is None and brier["diff"] == pytest.approx(brier["b"] - brier["a"])


def test_text_output_lists_each_metric_with_both_sides_the_difference_and_p(checkpoints):
    result = invoke("compare", checkpoints.baseline, checkpoints.regressed, "--metric", "hit_at_k,brier")
    assert result.exit_code == 0
    text = result.stdout
    assert f"A: {checkpoints.baseline}" in text and f"B: {checkpoints.regressed}" in text
    line = next(x for x in text.splitlines() if x.startswith("ambigqa/multi") and " hit_at_k " in x)
    assert "0.800 [" in line and "0.333 [" in line and "-0.467 [" in line and "mcnemar_exact" in line
    assert "brier: pooled metric" in flat(text)
    assert text.count("equal token budget, ambigqa (A)") == 1 and text.count("equal token budget, ambigqa (B)") == 1


def test_the_modes_of_one_run_compare_multi_against_bok_with_the_equal_budget_curve(checkpoints):
    result = invoke("compare", checkpoints.baseline, "--json")
    assert result.exit_code == 0, result.output
    cmp = json.loads(result.stdout)
    assert (cmp["a"]["mode"], cmp["b"]["mode"]) == ("bok", "multi")  # bok is the reference: B - A = multi - bok
    entries = metrics_of(checkpoints.baseline)["ambigqa"]
    unique = next(r for r in cmp["metrics"] if r["metric"] == "unique_answers")
    assert unique["diff"] == pytest.approx(per_question_mean_diff(entries["bok"]["unique_answers"]["per_question"],
                                                                  entries["multi"]["unique_answers"]["per_question"]))
    assert unique["diff"] > 0  # three distinct answers per multi set; bok samples repeat themselves
    (budget,) = cmp["budgets"]
    assert (budget["bok"], budget["multi"]) == ("A", "B")
    curve, multi = budget["result"]["bok"], budget["result"]["multi"]
    assert curve["k"] == [1, 2, 3] and curve["tokens"] == sorted(curve["tokens"])
    assert curve["tokens"][-1] == pytest.approx(entries["bok"]["completion_tokens"]["value"])
    assert multi["tokens"] == pytest.approx(entries["multi"]["completion_tokens"]["value"])
    assert multi["hit_at_k"] == pytest.approx(entries["multi"]["hit_at_k"]["value"])
    assert budget["result"]["position"] == "within"
    assert 1 < budget["result"]["bok_at_multi_cost"]["k_equivalent"] < 3

    same = invoke("compare", f"{checkpoints.baseline}:bok", f"{checkpoints.baseline}:multi", "--json")
    assert json.loads(same.stdout)["metrics"] == cmp["metrics"]
    text = invoke("compare", checkpoints.baseline).stdout
    assert "ambigqa bok vs multi" in text and "at multi's cost bok reaches hit@k" in text


def test_modes_of_two_runs_pair_by_task(checkpoints):
    result = invoke("compare", f"{checkpoints.improved}:multi", f"{checkpoints.baseline}:bok", "--json")
    assert result.exit_code == 0
    cmp = json.loads(result.stdout)
    hit = next(r for r in cmp["metrics"] if r["metric"] == "hit_at_k")
    assert (hit["mode_a"], hit["mode_b"]) == ("multi", "bok")
    assert hit["diff"] == pytest.approx(24 / 30 - 27 / 30)
    assert [(b["bok"], b["multi"]) for b in cmp["budgets"]] == [("B", "A")]


def test_runs_with_no_task_and_mode_in_common_exit_2_listing_what_each_has(checkpoints, tmp_path):
    only_multi = write_run(tmp_path, "m", lambda i: True, modes=("multi",), limit=5)
    only_bok = write_run(tmp_path, "b", lambda i: True, modes=("bok",), limit=5)
    result = invoke("compare", only_multi, only_bok)
    assert result.exit_code == 2
    message = flat(result.stderr)
    assert "have no task x mode in common: A has ambigqa/multi, B has ambigqa/bok" in message
    arith = write_run(tmp_path, "arith", lambda i: True, task="arith", limit=5)
    other_task = invoke("compare", checkpoints.baseline, arith)
    assert other_task.exit_code == 2 and "B has arith/multi, arith/bok" in flat(other_task.stderr)


def test_runs_of_different_configs_are_compared_with_a_note(checkpoints, tmp_path):
    fewer = write_run(tmp_path, "ckpt-100", lambda i: i % 5 != 0, limit=20, seed=3)
    result = invoke("compare", checkpoints.baseline, fewer, "--metric", "hit_at_k")
    assert result.exit_code == 0
    text = flat(result.stdout)
    assert "configs differ beyond the model: limit 30 (A) vs 20 (B); seed 0 (A) vs 3 (B)" in text
    assert "paired on 20 shared questions (10 only in A, 0 only in B)" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{run}:best"], "unknown mode 'best'; expected RUN or RUN:MODE"),
        (["{run}:multi"], "with one argument, give a run directory"),
        (["{run}:multi", "{run}"], "give a mode on both sides"),
        (["{parent}", "{run}"], "holds 3 run directories"),
        (["{run}:bok", "{run}:multi", "--mode", "multi"], "--mode: the sides already name their modes"),
        (["{run}", "{run}"], "A and B are the same"),
        (["{run}", "--metric", "nonsense"], "--metric nonsense: not reported by A or B"),
        (["{run}", "--task", "medqa"], "--task medqa: not in A or B; expected one of ambigqa"),
        (["{run}", "--budget", "dollars"], "--budget 'dollars': expected one of completion, total"),
    ],
)
def test_bad_arguments_exit_2_with_what_was_expected(checkpoints, args, message):
    result = invoke("compare", *[a.format(run=checkpoints.baseline, parent=checkpoints.out) for a in args])
    assert result.exit_code == 2 and message in flat(result.stderr)


def test_json_mode_reports_bad_input_as_json_too(tmp_path):
    result = invoke("compare", tmp_path / "missing", tmp_path / "other", "--json")
    assert result.exit_code == 2
    assert "no such directory" in json.loads(result.stdout)["error"]


def test_the_budget_table_shows_the_runs_K_not_the_mean_number_of_parsed_answers(checkpoints):
    text = invoke("compare", checkpoints.baseline).stdout
    multi_row = next(line for line in text.splitlines() if line.strip().startswith("multi") and "K=" in line)
    assert re.search(r"K=3(?![.\d])", multi_row), multi_row  # the run's K, never a mean such as "K=2.8"
    assert "answers/question" in text
