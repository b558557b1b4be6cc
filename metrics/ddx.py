"""DDXPlus differential-diagnosis metrics (Fansi Tchango et al. 2022; `mila-iqia/ddxplus`,
`code/aarlc/ddxplus_code/metrics.py`, `compute_metrics`), re-implemented for ranked candidate lists."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from mabench.text import normalize_answer
from mabench.types import DiagnosisEvidence

from .spec import PerQuestion, Skipped, metric
from .table import NormCache, SampleTable

Differential = Mapping[str, float | None] | Sequence[tuple[str, float | None]] | Sequence[Sequence[object]]
GTPA_KS = (1, 3, 5)
THRESHOLD = 0.01  # the reference's `tres`: in a differential when probability > 0.01


def _entries(
    diff: Differential, name: str, allow_none: bool, norm: Callable[[str], str]
) -> list[tuple[str, float | None]]:
    """Validated (normalised name, probability) pairs of a mapping or a list of pairs."""
    items = diff.items() if isinstance(diff, Mapping) else diff
    out: list[tuple[str, float | None]] = []
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str):
            raise ValueError(f"{name}: expected (pathology name, probability) pairs, got {item!r}")
        label, prob = item
        if prob is None and allow_none:
            out.append((norm(label), None))
        elif type(prob) is float and 0.0 <= prob <= 1.0:
            out.append((norm(label), prob))
        elif isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= float(prob) <= 1.0:
            raise ValueError(f"{name}: expected probabilities in [0, 1], got {prob!r} for {label!r}")
        else:
            out.append((norm(label), float(prob)))
    return out


def ddx_metrics(
    predicted: Differential,
    gold_differential: Differential,
    true_pathology: str,
    *,
    threshold: float = THRESHOLD,
    ks: Sequence[int] = GTPA_KS,
) -> dict[str, float]:
    """DDR, DDP, DDF1, GTPA and GTPA@k of one patient, as the DDXPlus authors define them.

    - A pathology is in a differential when its probability is strictly above `threshold` (0.01), with no
      renormalisation. G = gold differential, P = predicted one.
    - DDR = |G n P| / max(1, |G|), DDP = |G n P| / max(1, |P|), DDF1 = 2 DDP DDR / (DDP + DDR + 1e-10).
    - GTPA = the true pathology is in P; GTPA@k = it is among the k highest-ranked predictions and in P.
    Pathology names are compared after SQuAD normalisation. `predicted` lists (name, confidence) in the
    model's order; a None confidence (a model that states none) counts as listed, i.e. in P. Ranking is by
    confidence, highest first, ties (and lists with any None) in listed order; a name listed twice keeps its
    first position and its highest confidence. Average the values over patients, as the reference does.
    """
    if not isinstance(true_pathology, str):
        raise ValueError(f"true_pathology: expected a pathology name, got {true_pathology!r}")
    pred = _entries(predicted, "predicted", True, normalize_answer)
    gold = _entries(gold_differential, "gold_differential", False, normalize_answer)
    return _scores(pred, gold, normalize_answer(true_pathology), threshold, ks)  # type: ignore[arg-type]


def _scores(
    predicted: list[tuple[str, float | None]],
    gold_differential: list[tuple[str, float]],
    truth: str,
    threshold: float,
    ks: Sequence[int],
) -> dict[str, float]:
    """The metrics from normalised, validated (name, probability) lists."""
    merged: dict[str, float | None] = {}
    for label, prob in predicted:
        old = merged.get(label)
        merged[label] = prob if old is None else old if prob is None else max(old, prob)
    gold = {label for label, prob in gold_differential if prob > threshold}
    pred = {label for label, prob in merged.items() if prob is None or prob > threshold}
    order = list(merged)
    probs = list(merged.values())
    if None not in probs:
        order = [order[i] for i in sorted(range(len(order)), key=lambda i: -probs[i])]  # type: ignore[operator]
    hit = len(gold & pred)
    ddr = hit / max(1, len(gold))
    ddp = hit / max(1, len(pred))
    found = truth in pred
    out = {"DDR": ddr, "DDP": ddp, "DDF1": 2 * ddp * ddr / (ddp + ddr + 1e-10), "GTPA": float(found)}
    for k in ks:
        out[f"GTPA@{k}"] = float(found and truth in order[:k])
    return out


def _pathology_names(table: SampleTable) -> list[str]:
    """Per candidate, the pathology it names: the judge's detail, else the gold entry it matched (first
    alias), else its own text."""
    out = []
    rows = zip(table.q.tolist(), table.detail, table.gold_index.tolist(), table.text, strict=True)
    for qi, detail, gi, text in rows:
        if isinstance(detail, str) and detail:
            out.append(detail)
            continue
        gold = table.golds[qi]
        entry = gold[gi] if 0 <= gi < len(gold) else None
        if isinstance(entry, (list, tuple)) and entry:
            entry = entry[0]
        out.append(entry if isinstance(entry, str) else text)
    return out


def _per_question(table: SampleTable) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        names = ["DDR", "DDP", "DDF1", "GTPA", *(f"GTPA@{k}" for k in GTPA_KS)]
        out = {name: np.full(table.n_questions, np.nan) for name in names}
        norm = NormCache().__getitem__
        starts = table.starts.tolist()
        conf = [None if c != c else c for c in table.conf.tolist()]
        pathology = [norm(name) for name in _pathology_names(table)]
        for qi, evidence in enumerate(table.evidence):
            if not isinstance(evidence, DiagnosisEvidence):
                continue
            lo, hi = starts[qi], starts[qi + 1]
            has_diff = evidence.differential is not None  # without it only GTPA is defined
            gold = _entries(evidence.differential, "evidence.differential", False, norm) if has_diff else []
            truth = evidence.true_pathology
            scores = _scores(
                list(zip(pathology[lo:hi], conf[lo:hi], strict=True)), gold, norm(truth), THRESHOLD, GTPA_KS
            )  # type: ignore[arg-type]
            for name in names if has_diff else names[3:]:
                out[name][qi] = scores[name]
        return out

    return table.memo("ddx", build)


def _ddx(table: SampleTable, key: str) -> PerQuestion | Skipped:
    values = _per_question(table)[key]
    if np.all(np.isnan(values)):
        # The wording predates typed evidence (`DiagnosisEvidence`); recorded runs' metrics.json hold it.
        needs = "extra['true_pathology']" + ("" if key.startswith("GTPA") else " and extra['differential']")
        return Skipped(f"no record carries {needs} (DDXPlus only)")
    return PerQuestion(values)


@metric("ddx_ddr", "fraction", group="task")
def ddx_ddr(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus differential recall |G n P| / |G|, probabilities > 0.01 (Fansi Tchango et al. 2022)."""
    return _ddx(table, "DDR")


@metric("ddx_ddp", "fraction", group="task")
def ddx_ddp(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus differential precision |G n P| / |P|, probabilities > 0.01 (Fansi Tchango et al. 2022)."""
    return _ddx(table, "DDP")


@metric("ddx_ddf1", "fraction", group="task", summary=True)
def ddx_ddf1(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus differential F1, harmonic mean of DDR and DDP per patient (Fansi Tchango et al. 2022)."""
    return _ddx(table, "DDF1")


@metric("ddx_gtpa", "fraction", group="task", binary=True)
def ddx_gtpa(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus GTPA: the true pathology is in the predicted differential (Fansi Tchango et al. 2022)."""
    return _ddx(table, "GTPA")


@metric("ddx_gtpa_at_1", "fraction", group="task", summary=True, binary=True)
def ddx_gtpa_at_1(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus GTPA@1: the true pathology is ranked first (Fansi Tchango et al. 2022)."""
    return _ddx(table, "GTPA@1")


@metric("ddx_gtpa_at_3", "fraction", group="task", binary=True)
def ddx_gtpa_at_3(table: SampleTable) -> PerQuestion | Skipped:
    """DDXPlus GTPA@3: the true pathology is among the top 3 predictions (Fansi Tchango et al. 2022)."""
    return _ddx(table, "GTPA@3")
