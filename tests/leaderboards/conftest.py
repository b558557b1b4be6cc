from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from mabench.config import RunConfig
from mabench.runner import run
from tests.leaderboards.runs import write_run


def _hf(model: str):
    from mabench.backends import load_backend

    return load_backend(model)


@pytest.fixture(scope="session")
def tiny_runs(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Two real runs of the tiny model that differ only in seed (so in config): seed 7 and seed 8."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    out = tmp_path_factory.mktemp("tiny-runs")
    dirs = [run(RunConfig(model=str(tiny_model), limit=4, k=2, max_new_tokens=12, batch_size=4, seed=seed), out,
                _hf).run_dir for seed in (7, 8)]
    return SimpleNamespace(out=out, seed7=dirs[0], seed8=dirs[1])


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Hand-written checkpoints on the same 30 ambigqa questions and config: a baseline right on 24, a
    regressed one right on 10, an improved one right on 27."""
    out = tmp_path_factory.mktemp("checkpoints")
    return SimpleNamespace(
        out=out,
        baseline=write_run(out, "ckpt-100", lambda i: i % 5 != 0),
        regressed=write_run(out, "ckpt-200", lambda i: i % 3 == 0),
        improved=write_run(out, "ckpt-300", lambda i: i % 10 != 0),
    )
