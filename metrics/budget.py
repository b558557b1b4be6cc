"""Equal-budget comparison: multi mode at its own token cost against bok's accuracy-vs-tokens curve."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from mabench.types import SampleRecord

from .passk import pass_at_k_array

Budget = Literal["completion", "total"]


def _sample_matrix(records: Sequence[SampleRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(correct[q, i], tokens[q, i], n[q]) for bok samples in sample order (padded with 0 beyond n[q]).
    A sample's tokens are its generation's completion tokens; when generations and samples do not pair
    up one to one, the question's completion tokens are split evenly over its samples."""
    ns = [max(len(r.generations), len(r.answer_set.candidates)) for r in records]
    width = max(ns, default=0)
    correct = np.zeros((len(records), width), dtype=bool)
    tokens = np.zeros((len(records), width))
    for qi, (r, n) in enumerate(zip(records, ns, strict=True)):
        judged = {j.rank: j.correct for j in r.judgements}
        for c in r.answer_set.candidates:
            if 1 <= c.rank <= n:
                correct[qi, c.rank - 1] = judged.get(c.rank, False)
        gens = sorted(r.generations, key=lambda g: g.sample_index)
        if len(gens) == n and n:
            tokens[qi, :n] = [g.completion_tokens for g in gens]
        elif n:
            tokens[qi, :n] = r.usage.completion_tokens / n
    return correct, tokens, np.array(ns, dtype=np.int64)


def equal_budget(
    bok_records: Sequence[SampleRecord], multi_records: Sequence[SampleRecord], budget: Budget = "completion"
) -> dict[str, Any]:
    """Accuracy against token cost for bok with n samples, and the multi mode read off that curve.

    On the questions both runs share, for k = 1..n (n = the fewest samples any question has):
    - bok `hit_at_k[k]`: one of the first k samples (in sample order) is correct;
    - bok `pass_at_k[k]`: the unbiased pass@k from all n samples (Chen et al. 2021);
    - bok `tokens[k]`: mean cumulative completion tokens of the first k samples (plus the prompt, counted
      once, when budget="total"), the cost of drawing k samples.
    The multi mode's mean cost (same budget) is placed on that curve by linear interpolation in tokens:
    `bok_at_multi_cost` gives the bok hit@k and pass@k at that cost and the fractional k it equals, or None
    with `position` "below" / "above" when the cost falls outside the curve. `advantage` = multi minus bok
    at equal cost (hit@K against both bok curves). Puri et al. (2026) compare the two at equal k = K.
    """
    if budget not in ("completion", "total"):
        raise ValueError(f"budget: expected 'completion' or 'total', got {budget!r}")
    bok_by_id = {r.question_id: r for r in bok_records}
    multi_by_id = {r.question_id: r for r in multi_records}
    for name, recs, by_id in (
        ("bok_records", bok_records, bok_by_id),
        ("multi_records", multi_records, multi_by_id),
    ):
        if len(by_id) != len(recs):
            raise ValueError(f"{name}: expected one record per question id")
    ids = sorted(set(bok_by_id) & set(multi_by_id))
    if not ids:
        raise ValueError("bok_records and multi_records: expected at least one shared question id")
    bok = [bok_by_id[i] for i in ids]
    multi = [multi_by_id[i] for i in ids]
    correct, tokens, n = _sample_matrix(bok)
    n_max = int(n.min())
    if n_max < 1:
        raise ValueError("bok_records: expected at least one sample for every shared question")
    prompt = np.array([r.usage.prompt_tokens for r in bok], dtype=float)
    ks = np.arange(1, n_max + 1)
    cum = np.cumsum(tokens, axis=1)[:, :n_max] + (prompt[:, None] if budget == "total" else 0.0)
    hit_curve = np.logical_or.accumulate(correct[:, :n_max], axis=1).mean(axis=0)
    c = correct.sum(axis=1)
    pass_curve = np.array([pass_at_k_array(n, c, int(k)).mean() for k in ks])
    cost_curve = cum.mean(axis=0)

    multi_cost = np.array([r.usage.completion_tokens for r in multi], dtype=float)
    if budget == "total":
        multi_cost += [r.usage.prompt_tokens for r in multi]
    multi_hit = float(np.mean([any(j.correct for j in r.judgements) for r in multi]))
    cost = float(multi_cost.mean())
    position = "below" if cost < cost_curve[0] else "above" if cost > cost_curve[-1] else "within"
    at_cost: dict[str, float | None] = {"k_equivalent": None, "hit_at_k": None, "pass_at_k": None}
    advantage: dict[str, float | None] = {"hit_at_k": None, "pass_at_k": None}
    if position == "within":
        at_cost = {
            "k_equivalent": float(np.interp(cost, cost_curve, ks)),
            "hit_at_k": float(np.interp(cost, cost_curve, hit_curve)),
            "pass_at_k": float(np.interp(cost, cost_curve, pass_curve)),
        }
        advantage = {key: multi_hit - at_cost[key] for key in ("hit_at_k", "pass_at_k")}  # type: ignore[operator]
    return {
        "budget": budget,
        "n_questions": len(ids),
        "bok": {
            "k": ks.tolist(),
            "tokens": cost_curve.tolist(),
            "hit_at_k": hit_curve.tolist(),
            "pass_at_k": pass_curve.tolist(),
        },
        "multi": {
            "tokens": cost,
            "hit_at_k": multi_hit,
            "n_candidates": float(np.mean([len(r.answer_set.candidates) for r in multi])),
        },
        "position": position,
        "bok_at_multi_cost": at_cost,
        "advantage": advantage,
    }
