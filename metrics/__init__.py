"""Metrics over per-sample records (`mabench.metrics`). Definitions and sources: METRICS.md beside this file.

Array-level functions: `pass_at_k`, `brier`, `ece`, `auroc`, `set_brier`, `ambigqa_f1`, `ddx_metrics`.
Records: `compute_metrics(records, metrics=DEFAULT_METRICS)` -> {name: entry}, over a columnar
`SampleTable` built once. Comparisons: `paired_compare`, `equal_budget`.
Adding a metric is writing one function with the `@metric` decorator and listing it in `core.py`.
"""

from .aggregate import compute_metrics, format_failures
from .ambigqa import ambigqa_f1, ambigqa_is_multi
from .budget import equal_budget
from .calibration import ReliabilityBin, auroc, bin_edges, bin_index, brier, ece, reliability_table, set_brier
from .core import CORE_METRICS, DEFAULT_METRICS, metric_by_name
from .coverage import hit_at_top, pass_at, pass_at_set_top
from .ddx import ddx_metrics
from .diversity import Embedder, load_default_embedder, semantic_diversity_metric
from .passk import pass_at_k, pass_at_k_array
from .registry import Metric, MetricSpec, PerQuestion, Pooled, Skipped, metric, ratio
from .stats import mcnemar_exact, paired_compare
from .table import SampleTable

__all__ = [
    "CORE_METRICS",
    "DEFAULT_METRICS",
    "Embedder",
    "Metric",
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
    "brier",
    "compute_metrics",
    "ddx_metrics",
    "ece",
    "equal_budget",
    "format_failures",
    "hit_at_top",
    "load_default_embedder",
    "mcnemar_exact",
    "metric",
    "metric_by_name",
    "paired_compare",
    "pass_at",
    "pass_at_k",
    "pass_at_k_array",
    "pass_at_set_top",
    "ratio",
    "reliability_table",
    "semantic_diversity_metric",
    "set_brier",
]
