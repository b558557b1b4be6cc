"""The columnar per-sample table that every metric reads: built once from the records, then numpy only.

Questions are sorted by id, so every result (bootstrap intervals included) is independent of record order.
Candidates are stored flat in listed order (rank), with `starts` marking where each question's run begins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from mabench.text import normalize_answer
from mabench.types import Evidence, SampleRecord

T = TypeVar("T")

FLAG_NAMES = (
    "missing_confidence",
    "confidence_out_of_range",
    "confidence_percent_scale",
    "sum_exceeds_one",
    "duplicate_answers",
)


class NormCache(dict[str, str]):
    """text -> normalize_answer(text), computed on first lookup (`cache[text]`); one per computation."""

    def __missing__(self, text: str) -> str:
        value = self[text] = normalize_answer(text)
        return value


@dataclass(frozen=True, eq=False)
class SampleTable:
    """Per-question columns (length Q) and per-candidate columns (length N), as numpy arrays."""

    # per question
    question_id: np.ndarray  # str objects, sorted
    task: np.ndarray
    mode: np.ndarray
    format_ok: np.ndarray  # bool
    flags: dict[str, np.ndarray]  # FLAG_NAMES -> bool
    n_gold: np.ndarray  # int
    n_samples: np.ndarray  # int: generations drawn for the question
    prompt_tokens: np.ndarray  # float
    completion_tokens: np.ndarray  # float
    completion_chars: np.ndarray  # float
    executed: np.ndarray  # bool: some judgement was made by execution (code tasks)
    starts: np.ndarray  # int, length Q + 1
    golds: tuple[list[Any], ...]
    evidence: tuple[Evidence | None, ...]  # what each question's judge found (typed by kind; task metrics read it)
    # per candidate, in listed order within each question
    q: np.ndarray  # int: the candidate's question index
    rank: np.ndarray  # int
    conf: np.ndarray  # float, NaN where the candidate stated none
    correct: np.ndarray  # bool
    gold_index: np.ndarray  # int, -1 where none
    norm_id: np.ndarray  # int: id of the SQuAD-normalised text in `vocab`
    text: tuple[str, ...]
    detail: tuple[str | None, ...]
    vocab: tuple[str, ...]
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_records(cls, records: Iterable[SampleRecord]) -> SampleTable:
        """Build the table in one pass over the records; normalisation is cached per distinct text."""
        recs = sorted(records, key=lambda r: r.question_id)
        ids = [r.question_id for r in recs]
        for a, b in zip(ids, ids[1:], strict=False):
            if a == b:
                raise ValueError(
                    f"records: question_id {a!r} appears twice; expected one record per question "
                    "(compute metrics for one task x mode at a time)"
                )
        text_to_id: dict[str, int] = {}
        norm_to_id: dict[str, int] = {}
        nan = float("nan")
        rows: list[tuple[Any, ...]] = []  # one per question
        cands: list[tuple[Any, ...]] = []  # one per candidate
        for qi, r in enumerate(recs):
            judged = {j.rank: j for j in r.judgements}
            s, usage = r.answer_set, r.usage
            rows.append((
                r.task, r.mode, s.format_ok, s.missing_confidence, s.confidence_out_of_range,
                s.confidence_percent_scale, s.sum_exceeds_one, s.duplicate_answers, len(r.gold),
                len(r.generations), usage.prompt_tokens, usage.completion_tokens,
                sum(len(g.text) for g in r.generations), any(j.method == "execution" for j in r.judgements),
                len(s.candidates),
            ))  # fmt: skip
            listed = s.candidates
            if any(a.rank > b.rank for a, b in zip(listed, listed[1:], strict=False)):
                listed = sorted(listed, key=lambda c: c.rank)
            for c in listed:
                j = judged.get(c.rank)
                tid = text_to_id.get(c.text)
                if tid is None:
                    tid = text_to_id[c.text] = norm_to_id.setdefault(
                        normalize_answer(c.text), len(norm_to_id)
                    )
                p = nan if c.confidence is None else c.confidence
                if j is None:  # an unjudged candidate counts as incorrect
                    cands.append((qi, c.rank, p, False, -1, None, c.text, tid))
                else:
                    gi = -1 if j.gold_index is None else j.gold_index
                    cands.append((qi, c.rank, p, j.correct, gi, j.detail, c.text, tid))
        per_q = list(zip(*rows, strict=True)) if rows else [()] * 15
        per_c = list(zip(*cands, strict=True)) if cands else [()] * 8
        n_cand = np.array(per_q[14], dtype=np.int64)
        conf = np.array(per_c[2], dtype=float)
        bad = np.flatnonzero((conf < 0.0) | (conf > 1.0))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"records: question {ids[per_c[0][i]]!r} candidate rank {per_c[1][i]} has confidence "
                f"{float(conf[i])!r}; expected None or a value in [0, 1]"
            )
        return cls(
            question_id=np.array(ids, dtype=object),
            task=np.array(per_q[0], dtype=object),
            mode=np.array(per_q[1], dtype=object),
            format_ok=np.array(per_q[2], dtype=bool),
            flags={name: np.array(per_q[3 + i], dtype=bool) for i, name in enumerate(FLAG_NAMES)},
            n_gold=np.array(per_q[8], dtype=np.int64),
            n_samples=np.array(per_q[9], dtype=np.int64),
            prompt_tokens=np.array(per_q[10], dtype=float),
            completion_tokens=np.array(per_q[11], dtype=float),
            completion_chars=np.array(per_q[12], dtype=float),
            executed=np.array(per_q[13], dtype=bool),
            starts=np.concatenate([[0], np.cumsum(n_cand)]).astype(np.int64),
            golds=tuple(r.gold for r in recs),
            evidence=tuple(r.evidence for r in recs),
            q=np.array(per_c[0], dtype=np.int64),
            rank=np.array(per_c[1], dtype=np.int64),
            conf=conf,
            correct=np.array(per_c[3], dtype=bool),
            gold_index=np.array(per_c[4], dtype=np.int64),
            detail=tuple(per_c[5]),
            text=tuple(per_c[6]),
            norm_id=np.array(per_c[7], dtype=np.int64),
            vocab=tuple(norm_to_id),
        )

    # ----------------------------------------------------------------- sizes and reductions
    @property
    def n_questions(self) -> int:
        return int(self.question_id.size)

    @property
    def n_cand(self) -> np.ndarray:
        """Candidates per question (int array)."""
        return np.diff(self.starts)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Compute a derived column once per table (metrics that share work call this with one key)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[no-any-return]

    def q_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-question sum of a per-candidate column (float array of length Q; 0 for no candidates)."""
        return np.bincount(self.q, weights=np.asarray(values, dtype=float), minlength=self.n_questions)

    def q_distinct(self, q: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Per question: how many distinct `ids` occur among the rows whose question index is `q`.
        (Sort-based: numpy's hash-based `np.unique` is several times slower on this kind of key.)"""
        if not q.size:
            return np.zeros(self.n_questions)
        width = int(ids.max()) + 1
        keys = np.sort(q * width + ids)
        first = np.ones(keys.size, dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        return np.bincount(keys[first] // width, minlength=self.n_questions).astype(float)

    def q_any(self, mask: np.ndarray) -> np.ndarray:
        """Per-question logical OR of a per-candidate mask."""
        return self.q_sum(mask) > 0

    # ----------------------------------------------------------------- shared derived columns
    @property
    def has_conf(self) -> np.ndarray:
        """Per candidate: a confidence was stated."""
        return ~np.isnan(self.conf)

    @property
    def conf_complete(self) -> np.ndarray:
        """Per question: at least one candidate, and every candidate stated a confidence."""
        return self.memo("conf_complete", lambda: (self.n_cand > 0) & (self.q_sum(~self.has_conf) == 0))

    @property
    def conf_order(self) -> np.ndarray:
        """Per candidate: 0-based position when the question's candidates are sorted by confidence,
        highest first, ties by listed rank; questions with a missing confidence keep listed order."""

        def build() -> np.ndarray:
            use = self.conf_complete[self.q]
            key = np.where(use, -np.nan_to_num(self.conf, nan=0.0), 0.0)
            order = np.lexsort((self.rank, key, self.q))
            pos = np.empty_like(order)
            pos[order] = np.arange(order.size) - self.starts[self.q[order]]
            return pos

        return self.memo("conf_order", build)

    @property
    def n_unique(self) -> np.ndarray:
        """Per question: distinct candidates after SQuAD normalisation."""

        def build() -> np.ndarray:
            return self.q_distinct(self.q, self.norm_id)

        return self.memo("n_unique", build)

    @property
    def first_gold_claim(self) -> np.ndarray:
        """Per candidate: correct, and the first candidate (listed order) to claim its gold answer.
        Correct candidates with no gold index (e.g. judged by execution) each count on their own."""

        def build() -> np.ndarray:
            out = self.correct & (self.gold_index < 0)
            claim = self.correct & (self.gold_index >= 0)
            idx = np.flatnonzero(claim)
            if idx.size:
                keys = self.q[idx] * (int(self.gold_index.max()) + 1) + self.gold_index[idx]
                _, first = np.unique(keys, return_index=True)
                out[idx[first]] = True
            return out

        return self.memo("first_gold_claim", build)
