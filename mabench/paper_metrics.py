"""`mabench run --eval-profile paper`: the authors' evaluation metrics (`mabench.metrics.paper_eval`) added to a
run's metrics.json beside mabench's own, each name prefixed `paper_`.

Multi mode is scored as their Multi-RLCR evaluation ("multi_answer": candidates ranked by confidence, set Brier as
a sum); bok mode as their single-answer RLCR evaluation ("rlcr_single_answer" over the k samples of a question:
pass@1 and pass@k by the unbiased estimator). Gold answers are every alias of every gold answer. The entries carry
no standard error or CI: their evaluation reports none, and docs/paper-profile.md says why mabench's own metric of
the same name is the one to trust.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .types import SampleRecord

PATTERN = {"multi": "multi_answer", "bok": "rlcr_single_answer"}
DOC = "the authors' evaluation (ishapuri/multi_answer_rl); see docs/paper-profile.md"
_LOWER_IS_BETTER = {"set_brier", "brier_score", "ece", "completion length"}
_UNITS = {"completion length": "chars", "set_brier": "score", "brier_score": "score", "ece": "score"}


def paper_metric_name(key: str) -> str:
    """Their key as a metric name: "pass@2" -> "paper_pass_at_2", "confidence level" -> "paper_confidence_level"."""
    return "paper_" + key.replace("@", "_at_").replace(" ", "_")


def _gold_strings(gold: Sequence[Any]) -> list[str]:
    out: list[str] = []
    for item in gold:
        out.extend([item] if isinstance(item, str) else [str(a) for a in item])
    return out


def paper_entries(records: Sequence[SampleRecord], mode: str) -> dict[str, dict[str, Any]]:
    """Their metrics over one task x mode's records (errors excluded), as metrics.json entries."""
    from mabench.metrics.paper_eval import paper_eval

    ok = [r for r in records if r.error is None and r.generations]
    if not ok:
        return {}
    golds = [_gold_strings(r.gold) for r in ok]
    if mode == "multi":
        completions: list[Any] = [r.generations[0].text for r in ok]
    else:
        completions = [[g.text for g in r.generations] for r in ok]
        if len({len(c) for c in completions}) != 1:  # a partly failed question: keep the full ones only
            k = max(len(c) for c in completions)
            keep = [i for i, c in enumerate(completions) if len(c) == k]
            completions, golds = [completions[i] for i in keep], [golds[i] for i in keep]
    values = paper_eval(completions, golds, format_pattern=PATTERN[mode])
    return {
        paper_metric_name(key): {
            "value": value if math.isfinite(value) else None, "stderr": None, "ci_low": None, "ci_high": None,
            "n": len(completions),
            "unit": _UNITS.get(key, "fraction"), "higher_is_better": key not in _LOWER_IS_BETTER,
            "aggregation": "paper", "group": "paper", "description": f"{key!r} of {DOC}",
        }
        for key, value in values.items()
    }


def add_paper_metrics(metrics: dict[str, dict[str, dict[str, Any]]], records: Sequence[SampleRecord]) -> None:
    """Add the `paper_` entries to each task x mode of `metrics` (in place)."""
    for task, modes in metrics.items():
        for mode, entries in modes.items():
            group = [r for r in records if r.task == task and r.mode == mode]
            entries.update(paper_entries(group, mode))
