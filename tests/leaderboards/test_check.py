"""`mabench check RUN --baseline BASELINE`: exit 1 on a regression beyond the rule, 0 otherwise, 2 on bad input;
says which metrics, by how much and why, as text or JSON."""

from __future__ import annotations

import json

import pytest

from tests.leaderboards.helpers import flat, invoke
from tests.leaderboards.runs import metrics_of, write_run


@pytest.fixture(scope="module")
def board(checkpoints, tmp_path_factory):
    """A leaderboard CSV of the three checkpoints."""
    path = tmp_path_factory.mktemp("board") / "leaderboard.csv"
    assert invoke("leaderboard", checkpoints.out, "-o", path).exit_code == 0
    return path


@pytest.fixture(scope="module")
def slightly_worse(tmp_path_factory):
    """The baseline's answers but one question fewer right (23/30 instead of 24/30): within noise."""
    return write_run(tmp_path_factory.mktemp("slight"), "ckpt-150", lambda i: i % 5 != 0 and i != 1)


def checks_of(result) -> dict[tuple[str, str], dict]:
    return {(c["mode"], c["metric"]): c for c in json.loads(result.stdout)["checks"]}


def test_a_regressed_checkpoint_fails_with_exit_1_naming_the_metrics_the_change_and_why(checkpoints):
    result = invoke("check", checkpoints.regressed, "--baseline", checkpoints.baseline)
    assert result.exit_code == 1
    text = result.stdout
    assert text.startswith("mabench check: FAILED: 10 of 12 checks regressed")
    line = next(x for x in text.splitlines() if "ambigqa/multi" in x and " hit_at_k " in x)
    assert line.startswith("REGRESSED") and "0.800" in line and "0.333" in line and "-0.467" in line
    assert "worse by 0.467 (-58.3%), more than the tolerance 0.000" in line
    unchanged = next(x for x in text.splitlines() if "ambigqa/multi" in x and " format_rate " in x)
    assert unchanged.startswith("ok") and unchanged.endswith("unchanged")


def test_the_json_report_carries_the_same_verdicts_with_numbers_from_the_metrics(checkpoints):
    result = invoke("check", checkpoints.regressed, "--baseline", checkpoints.baseline, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False and report["n_regressed"] == 10 and report["rule"] == "tolerance"
    assert report["run"]["run_id"] == checkpoints.regressed.name
    assert report["baseline"]["run_id"] == checkpoints.baseline.name
    base, run = metrics_of(checkpoints.baseline), metrics_of(checkpoints.regressed)
    for (mode, metric), c in checks_of(result).items():
        assert c["baseline"] == pytest.approx(base["ambigqa"][mode][metric]["value"])
        assert c["run"] == pytest.approx(run["ambigqa"][mode][metric]["value"])
        worse = c["run"] < c["baseline"] if c["higher_is_better"] else c["run"] > c["baseline"]
        assert c["regressed"] is worse  # tolerance 0: any worsening regresses


def test_an_improved_checkpoint_passes_with_exit_0(checkpoints):
    result = invoke("check", checkpoints.improved, "--baseline", checkpoints.baseline)
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("mabench check: PASSED: 0 of 12 checks regressed")
    assert "REGRESSED" not in result.stdout and "better by 0.100 (+12.5%)" in result.stdout


def test_a_leaderboard_csv_row_set_is_a_baseline_too(checkpoints, board):
    regressed = invoke("check", checkpoints.regressed, "--baseline", board, "--baseline-model", "ckpt-100")
    assert regressed.exit_code == 1 and "REGRESSED" in regressed.stdout
    improved = invoke("check", checkpoints.improved, "--baseline", board, "--baseline-run-id",
                      checkpoints.baseline.name, "--json")
    assert improved.exit_code == 0
    report = json.loads(improved.stdout)
    assert report["baseline"]["kind"] == "csv" and report["passed"] is True
    assert checks_of(improved)[("multi", "hit_at_k")]["baseline"] == pytest.approx(0.8)


def test_a_csv_with_several_candidate_rows_asks_which_one(checkpoints, board):
    result = invoke("check", checkpoints.improved, "--baseline", board)
    assert result.exit_code == 2
    message = flat(result.stderr)
    assert f"{board}: 3 rows for ambigqa/multi" in message and "--baseline-run-id or --baseline-model" in message
    assert "ckpt-100 (run" in message and "ckpt-200 (run" in message


@pytest.mark.parametrize(("tolerance", "code"), [("0.5", 0), ("0.4", 1), ("60%", 0), ("50%", 1)])
def test_an_absolute_or_relative_tolerance_allows_that_much_worsening(checkpoints, tolerance, code):
    # hit_at_k drops from 0.8 to 0.333: 0.467 absolute, 58.3% relative.
    result = invoke("check", checkpoints.regressed, "--baseline", checkpoints.baseline, "--metric", "hit_at_k",
                    "--tolerance", tolerance)
    assert result.exit_code == code, result.stdout


@pytest.mark.parametrize("rule", ["ci", "paired"])
def test_ci_rules_fail_a_clear_regression_and_pass_a_drop_within_noise(checkpoints, slightly_worse, rule):
    clear = invoke("check", checkpoints.regressed, "--baseline", checkpoints.baseline, "--rule", rule,
                   "--metric", "hit_at_k", "--json")
    assert clear.exit_code == 1
    hit = checks_of(clear)[("multi", "hit_at_k")]
    assert hit["regressed"] and hit["rule"] == rule
    noise = invoke("check", slightly_worse, "--baseline", checkpoints.baseline, "--rule", rule, "--metric", "hit_at_k")
    assert noise.exit_code == 0, noise.stdout
    assert "worse by 0.033" in noise.stdout and ("CIs overlap" in noise.stdout or "includes 0" in noise.stdout)
    plain = invoke("check", slightly_worse, "--baseline", checkpoints.baseline, "--metric", "hit_at_k")
    assert plain.exit_code == 1  # the same drop fails the plain tolerance rule


def test_the_paired_rule_reports_the_paired_ci_and_p_value(checkpoints):
    result = invoke("check", checkpoints.regressed, "--baseline", checkpoints.baseline, "--rule", "paired", "--json")
    checks = checks_of(result)
    hit = checks[("multi", "hit_at_k")]
    assert hit["test"] == "mcnemar_exact" and hit["n_paired"] == 30 and hit["p_value"] < 0.01
    assert hit["change_ci_low"] < hit["change"] < hit["change_ci_high"] < 0
    assert checks[("multi", "ece")]["rule"] == "ci"  # pooled metric: no per-question values to pair
    assert "pooled metric, no per-question values, so the ci rule" in checks[("multi", "ece")]["why"]


def test_a_metric_the_run_no_longer_reports_is_a_regression(checkpoints, tmp_path):
    silent = write_run(tmp_path, "ckpt-400", lambda i: i % 5 != 0, confident=False)
    result = invoke("check", silent, "--baseline", checkpoints.baseline, "--metric", "brier,hit_at_k", "--json")
    assert result.exit_code == 1
    brier = checks_of(result)[("multi", "brier")]
    assert brier["regressed"] and brier["run"] is None
    assert "the run has no value (no candidate stated a confidence)" in brier["why"]
    assert not checks_of(result)[("multi", "hit_at_k")]["regressed"]


def test_a_folder_holding_one_run_stands_for_that_run(checkpoints, tmp_path):
    out = tmp_path / "candidate"
    write_run(out, "ckpt-300", lambda i: i % 10 != 0)  # what `mabench run --out candidate` leaves
    result = invoke("check", out, "--baseline", checkpoints.baseline)
    assert result.exit_code == 0 and result.stdout.startswith("mabench check: PASSED")


def test_a_run_missing_a_task_or_mode_of_the_baseline_exits_2(checkpoints, tmp_path):
    only_multi = write_run(tmp_path, "ckpt-500", lambda i: True, modes=("multi",))
    result = invoke("check", only_multi, "--baseline", checkpoints.baseline)
    assert result.exit_code == 2
    assert f"RUN {only_multi} has no results for ambigqa/bok, which BASELINE" in flat(result.stderr)
    narrowed = invoke("check", only_multi, "--baseline", checkpoints.baseline, "--mode", "multi")
    assert narrowed.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tolerance", "abc"], "--tolerance 'abc': expected a non-negative number such as 0.02"),
        (["--tolerance", "-1"], "--tolerance '-1': expected a non-negative number"),
        (["--rule", "vibes"], "--rule 'vibes': expected one of tolerance, ci, paired"),
        (["--metric", "nonsense"], "--metric nonsense: not reported for ambigqa/multi by RUN or BASELINE"),
        (["--metric", "n_candidates"], "--metric n_candidates: has no better direction"),
    ],
)
def test_bad_options_exit_2_with_what_was_expected(checkpoints, args, message):
    result = invoke("check", checkpoints.improved, "--baseline", checkpoints.baseline, *args)
    assert result.exit_code == 2 and message in flat(result.stderr)


def test_the_paired_rule_needs_a_baseline_run_not_a_csv(checkpoints, board):
    result = invoke("check", checkpoints.improved, "--baseline", board, "--baseline-model", "ckpt-100",
                    "--rule", "paired")
    assert result.exit_code == 2 and "--rule paired: needs per-question values" in flat(result.stderr)


def test_a_run_in_progress_is_not_checked_silently(checkpoints, tmp_path):
    running = write_run(tmp_path, "ckpt-600", lambda i: True, status="running")
    refused = invoke("check", running, "--baseline", checkpoints.baseline)
    assert refused.exit_code == 2 and "still in progress" in flat(refused.stderr)
    included = invoke("check", running, "--baseline", checkpoints.baseline, "--include-running", "--json")
    report = json.loads(included.stdout)
    assert report["run"]["status"] == "running"
    assert any("still in progress" in w for w in report["warnings"])
