"""Metrics over per-sample records (`mabench.metrics`). Definitions and sources: METRICS.md beside this file.

Array-level functions: `pass_at_k`, `brier_score`, `ece_score`, `auroc_score`, `set_brier_score`, `ambigqa_f1_score`,
`ddx_metrics`. (Naming: a registered metric's function has its registered name; see `spec.py`.)
The authors' evaluation, quirks included: `paper_eval` (docs/paper-profile.md).
Records: `compute_metrics(records, metrics=DEFAULT_METRICS)` -> {name: entry} (`MetricEntry`), over a columnar
`SampleTable` built once; a whole run: `run_metrics` (metrics.json) and `compare_modes` (comparison.json).
Comparisons: `paired_compare`, `paired_difference`, `equal_budget`. Facts about a metric: `metric_spec(name)`.
Adding a metric is writing one function with the `@metric` decorator and listing it in `core.py`.
"""

from .ambigqa import ambigqa_f1_score, ambigqa_is_multi
from .budget import equal_budget
from .calibration import (
    ReliabilityBin,
    auroc_score,
    bin_edges,
    bin_index,
    brier_score,
    ece_score,
    reliability_table,
    set_brier_score,
)
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
from .run_metrics import compare_modes, paired_difference, run_metrics
from .spec import Metric, MetricSpec, PerQuestion, Pooled, Skipped, metric, ratio
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
    "ambigqa_f1_score",
    "ambigqa_is_multi",
    "auroc_score",
    "bin_edges",
    "bin_index",
    "binary_outcomes",
    "compare_modes",
    "brier_score",
    "compute_metrics",
    "ddx_metrics",
    "ece_score",
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
    "set_brier_score",
]
