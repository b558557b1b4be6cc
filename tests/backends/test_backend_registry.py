"""Backends are a registry by --model prefix: a package adds one through the `mabench.backends` entry points,
receives its own part of the options, and the runner closes every backend it opens."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from mabench.backends import BackendOptions, UnknownModelError, load_backend, resolve_model
from mabench.backends.options import OpenAIOptions
from mabench.backends.registry import backend_prefixes
from tests.backends.runs import mabench, only_run_dir

PLUGIN = '''
import os

from mabench.backends import BackendKind
from mabench.backends.base import Closing
from mabench.backends.options import OpenAIOptions
from mabench.types import Generation


class Echo(Closing):
    """Answers every request with its target, and logs what it was given and when it was closed."""

    name = "echo"
    fingerprint = "echo-v1"
    chat_template_hash = None

    def __init__(self, target, options, prompts):
        self.target, self.options = target, options
        self._log(f"opened {type(options).__name__} concurrency={options.concurrency}")

    def generate(self, requests, sampling):
        text = f"<answer>{self.target}</answer><confidence>0.5</confidence>"
        return [[Generation(text=text, prompt_tokens=1, completion_tokens=1, finish_reason="stop", sample_index=i)
                 for i in range(r.n)] for r in requests]

    def close(self):
        self._log("closed")

    @staticmethod
    def _log(line):
        with open(os.environ["ECHO_LOG"], "a") as f:
            f.write(line + "\\n")


KIND = BackendKind("echo", Echo, "echo:<answer>", options=OpenAIOptions)
WRONG = object()
'''


@pytest.fixture
def echo_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed package `echo-plugin` (a dist-info folder on sys.path) registering the prefix `echo:`."""
    site = tmp_path / "site"
    (site / "echo_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "echo_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\n"
                                                                  "Version: 0.1\n")
    (site / "echo_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[mabench.backends]\necho = echo_plugin:KIND\nbroken = echo_plugin:WRONG\n")
    (site / "echo_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(site))
    log = tmp_path / "echo.log"
    monkeypatch.setenv("ECHO_LOG", str(log))
    return log


def test_a_plugin_prefix_runs_with_its_own_options_and_is_closed_once(echo_plugin: Path, tmp_path: Path) -> None:
    assert "echo" in backend_prefixes() and resolve_model("echo:Paris") == ("echo", "Paris")
    result = mabench("--model", "echo:Paris", "--tasks", "ambigqa", "--mode", "bok", "--k", "2", "--limit", "3",
                     "--concurrency", "7", "--out", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    assert echo_plugin.read_text().splitlines() == ["opened OpenAIOptions concurrency=7", "closed"]
    records = [json.loads(x) for x in (only_run_dir(tmp_path / "runs") / "samples.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all(r["answer_set"]["candidates"][0]["text"] == "Paris" for r in records)


def test_load_backend_gives_a_context_manager_that_closes_the_backend_and_its_cache(echo_plugin: Path,
                                                                                   tmp_path: Path) -> None:
    options = BackendOptions(cache_path=tmp_path / "cache.sqlite")
    with load_backend("echo:Lyon", options) as backend:
        assert backend.inner.options == OpenAIOptions()  # its own part: not the whole BackendOptions
    assert echo_plugin.read_text().splitlines()[-1] == "closed"
    with pytest.raises(Exception, match="closed"):  # the response cache's database is closed too
        len(backend.cache)


def test_an_entry_point_that_is_not_a_backend_kind_is_named(echo_plugin: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"broken = 'echo_plugin:WRONG'.*expected a BackendKind"):
        resolve_model("broken:x")


def test_an_unknown_prefix_lists_the_plugin_forms(echo_plugin: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"unknown model 'nope:x'.*replay:<run directory.*echo:<target>"):
        resolve_model("nope:x")
