"""Benchmark: aggregate 100,000 per-sample records (K = 3) with every metric but the embedding one, plus a
1,000-resample bootstrap CI for each headline metric, against a naive per-record Python loop.

    python benchmarks/metrics_aggregate.py [--questions 100000] [--resamples 1000]

BLAS is pinned to one thread (one core). The synthetic records are bok-mode, judged by execution, with
AmbigQA annotations (even questions) or DDXPlus evidence (odd ones), so that every metric (pass@k, pass@set,
AmbigQA F1, DDXPlus) computes rather than skips. The naive baseline loops over the pydantic records once per
metric, calling the public per-item functions, and bootstraps each metric on its own with scipy.stats.bootstrap; its
pooled-metric bootstraps (a loop over resampled questions) are timed on a few resamples and scaled.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from mabench.metrics import (  # noqa: E402
    DEFAULT_METRICS,
    SampleTable,
    ambigqa_f1_score,
    ambigqa_is_multi,
    auroc_score,
    brier_score,
    compute_metrics,
    ddx_metrics,
    ece_score,
    pass_at_k,
    set_brier_score,
)
from mabench.text import normalize_answer  # noqa: E402
from mabench.types import (  # noqa: E402
    AmbigQAEvidence,
    AnswerSet,
    Candidate,
    DiagnosisEvidence,
    Generation,
    Judgement,
    SampleRecord,
    Usage,
)

METRICS = tuple(m for m in DEFAULT_METRICS if m.spec.name != "semantic_diversity")
PATHOLOGIES = [f"Pathology {i}" for i in range(49)]


def make_records(n: int, seed: int = 0) -> list[SampleRecord]:
    """Synthetic K = 3 records drawn from a 5,000-name vocabulary."""
    rnd = random.Random(seed)
    vocab = [rnd.choice(["", "The ", "a "]) + f"Name {i}" + rnd.choice(["", ".", ","]) for i in range(5000)]
    out = []
    for q in range(n):
        gold = [[rnd.choice(vocab), rnd.choice(vocab)] for _ in range(rnd.randint(1, 3))]
        texts = [rnd.choice(rnd.choice(gold)) if rnd.random() < 0.4 else rnd.choice(vocab) for _ in range(3)]
        conf = np.random.default_rng(q).dirichlet([1, 1, 1, 1])[:3].round(2).tolist()
        if rnd.random() < 0.05:
            conf[rnd.randrange(3)] = None
        norm = [{normalize_answer(a) for a in g} for g in gold]
        gidx = [next((i for i, g in enumerate(norm) if normalize_answer(t) in g), None) for t in texts]
        diff = rnd.sample(PATHOLOGIES, 5)
        probs = np.random.default_rng(n + q).dirichlet([1] * 5).round(3).tolist()
        out.append(
            SampleRecord(
                question_id=f"q{q:06d}",
                task="synthetic",
                mode="bok",
                gold=gold,
                generations=[
                    Generation(
                        text=t * 3,
                        prompt_tokens=80,
                        completion_tokens=rnd.randint(20, 200),
                        finish_reason="stop",
                        sample_index=i,
                    )  # fmt: skip
                    for i, t in enumerate(texts)
                ],
                answer_set=AnswerSet(
                    candidates=[
                        Candidate(text=t, confidence=c, rank=i + 1)
                        for i, (t, c) in enumerate(zip(texts, conf, strict=True))
                    ],
                    format_ok=None not in conf,
                    missing_confidence=None in conf,
                    duplicate_answers=len({t.strip().lower() for t in texts}) < 3,
                ),
                judgements=[
                    Judgement(rank=i + 1, correct=g is not None, gold_index=g, method="execution")
                    for i, g in enumerate(gidx)
                ],
                usage=Usage(prompt_tokens=80, completion_tokens=rnd.randint(60, 600)),
                evidence=(  # a record carries one kind of evidence: AmbigQA's or DDXPlus'
                    AmbigQAEvidence(annotations=[gold] if rnd.random() < 0.5 else [gold, gold[:1]])
                    if q % 2 == 0
                    else DiagnosisEvidence(true_pathology=diff[0], differential=list(zip(diff, probs, strict=True)))
                ),
            )
        )
    return out


# ----------------------------------------------------------------------------- the naive baseline
def _cands(r: SampleRecord) -> list[tuple[str, float | None, bool, int | None]]:
    by_rank = {j.rank: j for j in r.judgements}
    return [
        (c.text, c.confidence, by_rank[c.rank].correct, by_rank[c.rank].gold_index)
        for c in sorted(r.answer_set.candidates, key=lambda c: c.rank)
    ]


def _order(r: SampleRecord) -> list[bool]:
    cs = _cands(r)
    if cs and all(c[1] is not None for c in cs):
        cs = sorted(cs, key=lambda c: -c[1])  # stable: ties keep listed order
    return [c[2] for c in cs]


def _complete(r: SampleRecord) -> bool:
    return bool(r.answer_set.candidates) and all(c.confidence is not None for c in r.answer_set.candidates)


def _first_claims(r: SampleRecord) -> int:
    seen, n = set(), 0
    for _, _, ok, g in _cands(r):
        if ok and (g is None or g not in seen):
            n += 1
            seen.add(g) if g is not None else None
    return n


def _distinct(r: SampleRecord, n: int) -> float:
    grams = [
        tuple(w[i : i + n])
        for t, *_ in _cands(r)
        for w in [normalize_answer(t).split()]
        for i in range(len(w) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else float("nan")


def _reward(r: SampleRecord) -> float:
    if not r.answer_set.format_ok:
        return 0.0
    if not _complete(r):
        return float("nan")
    cs = _cands(r)
    if r.answer_set.duplicate_answers or sum(c[1] for c in cs) > 1 + 1e-9:
        return 0.0
    return 1 - set_brier_score([c[1] for c in cs], [c[2] for c in cs], reduce="mean")


def _ddx(r: SampleRecord, key: str) -> float:
    if not isinstance(r.evidence, DiagnosisEvidence) or r.evidence.differential is None:
        return NAN
    pred = [(t if g is None else r.gold[g][0], c) for t, c, _, g in _cands(r)]  # the matched gold entry
    return ddx_metrics(pred, r.evidence.differential, r.evidence.true_pathology)[key]


def _annotations(r: SampleRecord) -> list[list[list[str]]] | None:
    return r.evidence.annotations if isinstance(r.evidence, AmbigQAEvidence) else None


NAN = float("nan")
PER_QUESTION: dict[str, Callable[[SampleRecord], float]] = {
    "format_rate": lambda r: float(r.answer_set.format_ok),
    "n_candidates": lambda r: float(len(r.answer_set.candidates)),
    "hit_at_k": lambda r: float(any(c[2] for c in _cands(r))),
    "top1_accuracy": lambda r: float(any(_order(r)[:1])),
    "hit_at_top2": lambda r: float(any(_order(r)[:2])),
    "recall": lambda r: len({c[3] for c in _cands(r) if c[2] and c[3] is not None}) / len(r.gold),
    "precision": lambda r: _first_claims(r) / len(r.answer_set.candidates),
    "n_correct": lambda r: float(sum(c[2] for c in _cands(r))),
    "ambigqa_f1": lambda r: (
        NAN if (a := _annotations(r)) is None else ambigqa_f1_score([c[0] for c in _cands(r)], a)
    ),
    "ambigqa_f1_multi": lambda r: (
        ambigqa_f1_score([c[0] for c in _cands(r)], a)
        if (a := _annotations(r)) is not None and ambigqa_is_multi(a)
        else NAN
    ),
    "pass_at_set": lambda r: float(any(c[2] for c in _cands(r))),
    "pass_at_set_top1": lambda r: float(any(_order(r)[:1])),
    "pass_at_set_top2": lambda r: float(any(_order(r)[:2])),
    "pass_at_1": lambda r: pass_at_k(len(r.generations), sum(c[2] for c in _cands(r)), 1),
    "pass_at_3": lambda r: pass_at_k(len(r.generations), sum(c[2] for c in _cands(r)), 3),
    "unique_answers": lambda r: float(len({normalize_answer(c[0]) for c in _cands(r)})),
    "unique_ratio": lambda r: len({normalize_answer(c[0]) for c in _cands(r)}) / len(r.answer_set.candidates),
    "duplicate_rate": lambda r: float(
        len({normalize_answer(c[0]) for c in _cands(r)}) < len(r.answer_set.candidates)
    ),
    "distinct_1": lambda r: _distinct(r, 1),
    "distinct_2": lambda r: _distinct(r, 2),
    "set_brier": lambda r: (
        set_brier_score([c[1] for c in _cands(r)], [c[2] for c in _cands(r)], "sum") if _complete(r) else NAN
    ),
    "set_brier_reward": _reward,
    "sum_confidence": lambda r: sum(c[1] for c in _cands(r)) if _complete(r) else NAN,
    "count_calibration_gap": lambda r: sum(c[1] - c[2] for c in _cands(r)) if _complete(r) else NAN,
    "coverage_calibration_gap": lambda r: (
        sum(c[1] for c in _cands(r)) - any(c[2] for c in _cands(r)) if _complete(r) else NAN
    ),
    "prompt_tokens": lambda r: float(r.usage.prompt_tokens),
    "completion_tokens": lambda r: float(r.usage.completion_tokens),
    "total_tokens": lambda r: float(r.usage.prompt_tokens + r.usage.completion_tokens),
    "completion_chars": lambda r: float(sum(len(g.text) for g in r.generations)),
    **{
        f"ddx_{k.lower().replace('@', '_at_')}": (lambda key: lambda r: _ddx(r, key))(k)
        for k in ("DDR", "DDP", "DDF1", "GTPA", "GTPA@1", "GTPA@3")
    },  # fmt: skip
}


def _pairs(rs: Sequence[SampleRecord]) -> tuple[list[float], list[bool]]:
    items = [(c[1], c[2]) for r in rs for c in _cands(r) if c[1] is not None]
    return [c for c, _ in items], [y for _, y in items]


def _coverage(rs: Sequence[SampleRecord]) -> tuple[list[float], list[bool]]:
    done = [r for r in rs if _complete(r)]
    return [min(1.0, sum(c[1] for c in _cands(r))) for r in done], [
        any(c[2] for c in _cands(r)) for r in done
    ]


POOLED: dict[str, Callable[[Sequence[SampleRecord]], float]] = {
    "brier": lambda rs: brier_score(*_pairs(rs)),
    "ece": lambda rs: ece_score(*_pairs(rs)),
    "auroc": lambda rs: auroc_score(*_pairs(rs)),
    "coverage_ece": lambda rs: ece_score(*_coverage(rs)),
    "tokens_per_correct": lambda rs: (
        sum(r.usage.prompt_tokens + r.usage.completion_tokens for r in rs)
        / sum(any(c[2] for c in _cands(r)) for r in rs)
    ),
}


class Clock:
    """Wall-clock and CPU seconds of a block (CPU time is the fairer figure on a shared machine)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.cpu:.2f} s CPU ({self.wall:.2f} s wall)"


def naive(
    records: list[SampleRecord], resamples: int, pooled_timed: int
) -> tuple[dict[str, float], dict[str, float]]:
    """Headline values, and CPU seconds: the metric loops, the bootstraps of means, and the pooled-metric
    bootstraps (timed on `pooled_timed` resamples and scaled to `resamples`)."""
    values: dict[str, float] = {}
    seconds = {"loops": 0.0, "mean_bootstraps": 0.0}
    for name, fn in PER_QUESTION.items():
        with Clock() as loop:
            v = np.array([fn(r) for r in records], dtype=float)
            v = v[~np.isnan(v)]
            values[name] = float(v.mean())
        with Clock() as boot:
            stats.bootstrap((v,), np.mean, n_resamples=resamples, batch=50, method="percentile", rng=0)
        seconds["loops"] += loop.cpu
        seconds["mean_bootstraps"] += boot.cpu
    with Clock() as loop:
        for name, fn in POOLED.items():
            values[name] = fn(records)
    seconds["loops"] += loop.cpu
    rng = np.random.default_rng(0)
    with Clock() as boot:
        for fn in POOLED.values():
            for _ in range(pooled_timed):
                fn([records[i] for i in rng.integers(0, len(records), len(records))])
    seconds["pooled_bootstraps"] = boot.cpu * resamples / pooled_timed
    return values, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--pooled-timed", type=int, default=3, help="naive pooled bootstrap resamples timed")
    parser.add_argument("--repeat", type=int, default=3, help="compute_metrics runs; the fastest is reported")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} (on {os.cpu_count()} cores)")
    with Clock() as built:
        records = make_records(args.questions)
    print(f"built {len(records):,} records in {built} (not part of any figure below)")

    def best(**kwargs: object) -> tuple[Clock, dict]:
        """The fastest of --repeat runs (the least disturbed by other load), and its output."""
        runs = []
        for _ in range(args.repeat):
            with Clock() as clock:
                result = compute_metrics(records, METRICS, n_resamples=args.resamples, seed=0, **kwargs)
            runs.append(clock)
        print("    runs (CPU s): " + ", ".join(f"{c.cpu:.2f}" for c in runs))
        return min(runs, key=lambda c: c.cpu), result

    print(f"compute_metrics, default (per-question values kept), best of {args.repeat}:")
    full, fast = best()
    print(f"  {full}")
    print(f"compute_metrics, per_question=False, best of {args.repeat}:")
    lean, _ = best(per_question=False)
    print(f"  {lean}")
    skipped = [name for name, e in fast.items() if "skipped" in e]
    with_ci = sum(e["ci_low"] is not None for e in fast.values())
    print(f"{len(fast)} metrics, {with_ci} with a {args.resamples}-resample CI, skipped: {skipped}")
    with Clock() as table_clock:
        table = SampleTable.from_records(records)
    with Clock() as no_boot:
        compute_metrics(table, METRICS, n_resamples=0, per_question=False)
    print(f"  of which: table {table_clock.cpu:.2f} s, metrics {no_boot.cpu:.2f} s, "
          f"bootstrap ~{lean.cpu - table_clock.cpu - no_boot.cpu:.2f} s, "
          f"per-question dicts ~{full.cpu - lean.cpu:.2f} s (CPU)")  # fmt: skip

    slow, seconds = naive(records, args.resamples, args.pooled_timed)
    bad = [n for n, v in slow.items() if not np.isclose(v, fast[n]["value"], rtol=1e-9, atol=1e-12)]
    print(f"naive per-record loop: metrics {seconds['loops']:.1f} s CPU, bootstraps of means "
          f"{seconds['mean_bootstraps']:.1f} s, pooled bootstraps ~{seconds['pooled_bootstraps']:.0f} s "
          f"(scaled from {args.pooled_timed} resamples)")  # fmt: skip
    agree = f"{len(slow) - len(bad)}/{len(slow)}" + (f"; differ: {bad}" if bad else "")
    print(f"  headline values agree on {agree} metrics")
    fast_loops = table_clock.cpu + no_boot.cpu
    print(f"ratio, metrics alone (naive loops / table + metrics): {seconds['loops'] / fast_loops:.1f}x")
    print(f"ratio, with every bootstrap (naive / compute_metrics): {sum(seconds.values()) / full.cpu:.0f}x")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
