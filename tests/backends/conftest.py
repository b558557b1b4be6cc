from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.openai_server import LoopbackServer, TinyModelGenerator


@pytest.fixture(scope="session")
def tiny_generator(tiny_model: Path) -> TinyModelGenerator:
    return TinyModelGenerator(tiny_model)


@pytest.fixture
def server(tiny_generator: TinyModelGenerator) -> Iterator[LoopbackServer]:
    """The tiny model behind a fresh OpenAI-compatible loopback server: honours n, reports usage, no faults."""
    with LoopbackServer(tiny_generator, hang_s=5) as running:
        yield running
