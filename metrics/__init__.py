"""Metrics over per-sample records (`mabench.metrics`). Definitions and sources: METRICS.md beside this file.

Array-level functions: `pass_at_k`, `brier`, `ece`, `auroc`, `set_brier`, `ambigqa_f1`, `ddx_metrics`.
The authors' evaluation, quirks included: `paper_eval` (docs/paper-profile.md).
Records: `compute_metrics(records, metrics=DEFAULT_METRICS)` -> {name: entry} (`MetricEntry`), over a columnar
`SampleTable` built once; a whole run: `run_metrics` (metrics.json) and `compare_modes` (comparison.json).
Comparisons: `paired_compare`, `paired_difference`, `equal_budget`. Facts about a metric: `metric_spec(name)`.
Adding a metric is writing one function with the `@metric` decorator and listing it in `core.py`.
"""

from .ambigqa import ambigqa_f1, ambigqa_is_multi
from .budget import equal_budget
from .calibration import ReliabilityBin, auroc, bin_edges, bin_index, brier, ece, reliability_table, set_brier
from .compute import compute_metrics, format_failures
from .core import (
    CORE_METRICS,
    DEFAULT_METRICS,
    HEADLINE_METRICS,
    PAIRED_METRICS,
    SPECS,
    SUMMARY_METRICS,
    binary_outcomes,
    metric_by_name,
    metric_spec,
)
from .coverage import hit_at_top, pass_at, pass_at_set_top
from .ddx import ddx_metrics
from .diversity import Embedder, load_default_embedder, semantic_diversity_metric
from .entry import MetricEntry, errors_entry
from .paper_eval import paper_eval
from .passk import pass_at_k, pass_at_k_array
from .registry import Metric, MetricSpec, PerQuestion, Pooled, Skipped, metric, ratio
from .run_metrics import compare_modes, paired_difference, run_metrics
from .stats import mcnemar_exact, paired_compare
from .table import SampleTable

__all__ = [
    "CORE_METRICS",
    "DEFAULT_METRICS",
    "HEADLINE_METRICS",
    "PAIRED_METRICS",
    "SPECS",
    "SUMMARY_METRICS",
    "Embedder",
    "Metric",
    "MetricEntry",
    "MetricSpec",
    "PerQuestion",
    "Pooled",
    "ReliabilityBin",
    "SampleTable",
    "Skipped",
    "ambigqa_f1",
    "ambigqa_is_multi",
    "auroc",
    "bin_edges",
    "bin_index",
    "binary_outcomes",
    "compare_modes",
    "brier",
    "compute_metrics",
    "ddx_metrics",
    "ece",
    "equal_budget",
    "errors_entry",
    "format_failures",
    "hit_at_top",
    "load_default_embedder",
    "mcnemar_exact",
    "metric",
    "metric_by_name",
    "metric_spec",
    "paired_compare",
    "paired_difference",
    "paper_eval",
    "pass_at",
    "pass_at_k",
    "pass_at_k_array",
    "pass_at_set_top",
    "ratio",
    "reliability_table",
    "run_metrics",
    "semantic_diversity_metric",
    "set_brier",
]
