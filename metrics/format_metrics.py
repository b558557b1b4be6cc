"""Format adherence: the gate every other number depends on."""

from __future__ import annotations

import numpy as np

from .spec import metric
from .table import SampleTable


@metric("format_rate", "fraction", group="format", summary=True, binary=True, checked=True)
def format_rate(table: SampleTable) -> np.ndarray:
    """Questions in the exact requested format: every tag, confidences in [0, 1] (Puri et al. 2026)."""
    return table.format_ok.astype(float)


@metric("n_candidates", "count", higher_is_better=None, group="format", summary=True)
def n_candidates(table: SampleTable) -> np.ndarray:
    """Mean number of parsed candidates per question (report beside hit@K: a longer list hits more often)."""
    return table.n_cand.astype(float)
