"""The metric sets the runner reports, and what readers know about each metric by name.

Adding a metric: write one `@metric` function (its spec says whether it is a headline, a summary row, paired in
comparison.json, binary), list it in DEFAULT_METRICS. The order here is the order of summary rows and columns.
"""

from __future__ import annotations

from .ambigqa import ambigqa_f1, ambigqa_f1_multi
from .calibration import (
    auroc,
    brier,
    count_calibration_gap,
    coverage_calibration_gap,
    coverage_ece,
    ece,
    set_brier,
    set_brier_reward,
    sum_confidence,
)
from .coverage import (
    hit_at_k,
    hit_at_top2,
    n_correct,
    pass_at_1,
    pass_at_3,
    pass_at_set,
    pass_at_set_top1,
    pass_at_set_top2,
    precision,
    recall,
    top1_accuracy,
)
from .ddx import ddx_ddf1, ddx_ddp, ddx_ddr, ddx_gtpa, ddx_gtpa_at_1, ddx_gtpa_at_3
from .diversity import (
    distinct_1,
    distinct_2,
    duplicate_rate,
    semantic_diversity,
    unique_answers,
    unique_ratio,
)
from .format_metrics import format_rate, n_candidates
from .spec import Metric, MetricSpec
from .tokens import completion_chars, completion_tokens, prompt_tokens, tokens_per_correct, total_tokens

# The foundation's ten metrics, names and meanings unchanged.
CORE_METRICS: tuple[Metric, ...] = (
    format_rate,
    n_candidates,
    hit_at_k,
    top1_accuracy,
    recall,
    unique_answers,
    brier,
    ece,
    prompt_tokens,
    completion_tokens,
)

# Everything mabench reports for a task x mode; task-specific metrics skip themselves elsewhere.
DEFAULT_METRICS: tuple[Metric, ...] = (
    # format
    format_rate,
    n_candidates,
    # coverage
    hit_at_k,
    top1_accuracy,
    hit_at_top2,
    recall,
    precision,
    n_correct,
    ambigqa_f1,
    ambigqa_f1_multi,
    pass_at_set,
    pass_at_set_top1,
    pass_at_set_top2,
    pass_at_1,
    pass_at_3,
    # task-specific coverage (skipped on other tasks)
    ddx_ddr,
    ddx_ddp,
    ddx_ddf1,
    ddx_gtpa,
    ddx_gtpa_at_1,
    ddx_gtpa_at_3,
    # diversity
    unique_answers,
    unique_ratio,
    duplicate_rate,
    distinct_1,
    distinct_2,
    semantic_diversity,
    # calibration
    brier,
    ece,
    auroc,
    set_brier,
    set_brier_reward,
    sum_confidence,
    count_calibration_gap,
    coverage_calibration_gap,
    coverage_ece,
    # tokens
    prompt_tokens,
    completion_tokens,
    total_tokens,
    completion_chars,
    tokens_per_correct,
)


def metric_by_name(name: str, metrics: tuple[Metric, ...] = DEFAULT_METRICS) -> Metric:
    """Look a metric up by its reported name."""
    for fn in metrics:
        if fn.spec.name == name:
            return fn
    raise ValueError(f"name: expected one of {[fn.spec.name for fn in metrics]}, got {name!r}")


# What readers of metrics.json know about a metric by its name: nobody keeps a list of names of their own.
SPECS: dict[str, MetricSpec] = {fn.spec.name: fn.spec for fn in DEFAULT_METRICS}
HEADLINE_METRICS: tuple[str, ...] = tuple(name for name, spec in SPECS.items() if spec.headline)
SUMMARY_METRICS: tuple[str, ...] = tuple(name for name, spec in SPECS.items() if spec.summary)
PAIRED_METRICS: tuple[str, ...] = tuple(name for name, spec in SPECS.items() if spec.paired)
CHECKED_METRICS: tuple[str, ...] = tuple(name for name, spec in SPECS.items() if spec.checked)


def metric_spec(name: str) -> MetricSpec | None:
    """The registered spec of a metric name; None for names mabench does not define (lm-eval's, paper_*)."""
    return SPECS.get(name)


def binary_outcomes(name: str) -> bool:
    """Whether paired tests of `name` treat its per-question values as 0/1 outcomes (exact McNemar) rather than
    numbers (paired permutation test). The one rule used by comparison.json, `compare` and `check`: the
    metric's spec decides; a metric without a spec gets the permutation test, which holds for any values."""
    spec = SPECS.get(name)
    return spec is not None and spec.binary
