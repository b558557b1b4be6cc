"""What the generated lm-eval task YAMLs call to score a document: mabench's parser, judge and metrics.

`process_results(doc, results)` turns lm-eval's filtered output for one question (one generation in multi
mode, the list of k samples in bok mode) into the record `mabench run` would write for it
(`mabench.judging.build_record`), then computes the table's metrics on that one record with mabench's metric
functions, so an lm-eval score and a mabench score of the same generations agree by construction.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

from mabench.types import Generation, Question, SampleRecord

from .tasks import TABLE_METRICS


@functools.cache
def _task(name: str) -> Any:
    """Task objects are loaded once per lm_eval process: scoring runs once per document."""
    from mabench.tasks import load_task

    return load_task(name)


def _texts(results: Sequence[Any]) -> list[str]:
    """lm-eval passes one entry per request; a bok document's entry is the list its filter kept."""
    first = results[0] if results else ""
    return [str(t) for t in first] if isinstance(first, (list, tuple)) else [str(first)]


def record_for(doc: dict[str, Any], texts: Sequence[str]) -> SampleRecord:
    """The mabench record of one lm-eval document and its generations (token counts unknown to lm-eval: 0)."""
    from mabench.judging import build_record

    question = Question.model_validate_json(doc["question"])
    mode, k = doc["mode"], int(doc["k"])
    texts = list(texts[:1]) if mode == "multi" else list(texts[:k])
    generations = [Generation(text=t, prompt_tokens=0, completion_tokens=0, finish_reason="stop", sample_index=i)
                   for i, t in enumerate(texts)]
    return build_record(_task(doc["task"]), question, mode, k, generations)


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """lm-eval's per-document hook: {metric: value}, NaN where mabench leaves a metric undefined."""
    from mabench.metrics import compute_metrics
    from mabench.metrics.core import DEFAULT_METRICS

    wanted = {name for name, *_ in TABLE_METRICS}
    metrics = [m for m in DEFAULT_METRICS if m.spec.name in wanted]
    entries = compute_metrics([record_for(doc, _texts(results))], metrics, n_resamples=0, per_question=False)
    out = {}
    for name in wanted:
        value = entries.get(name, {}).get("value")
        out[name] = float(value) if isinstance(value, (int, float)) else math.nan
    return out


def nanmean(values: Sequence[float]) -> float:
    """lm-eval aggregation for metrics mabench leaves undefined on some questions (set Brier without
    confidences): the mean over the questions where it is defined, as mabench reports it."""
    defined = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(defined) / len(defined) if defined else math.nan
