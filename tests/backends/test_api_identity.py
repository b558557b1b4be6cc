"""API models: the run identity and cache key include the base URL (credentials removed) and what the server says
about the model; the key is required unless waived, and never written anywhere. Against the real loopback server."""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.backends import BackendOptions
from mabench.backends.credentials import redact_url
from mabench.backends.identity import model_identity
from mabench.cli import app
from tests.backends.runs import FAST, flat, manifest, openai_run


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_another_checkpoint_behind_the_same_served_name_is_neither_resumed_nor_answered_from_the_cache(server,
                                                                                                         tmp_path):
    shared = tmp_path / "shared.sqlite"
    out = tmp_path / "runs"
    first = openai_run(server.base_url, out, "--cache", str(shared))
    assert first.exit_code == 0, first.output
    (old,) = run_dirs(out)

    server.models["tiny"] = {"root": "/checkpoints/tiny-v2", "max_model_len": 1024}
    sent = len(server.requests())
    refused = openai_run(server.base_url, out, "--cache", str(shared))
    assert refused.exit_code == 2, refused.output
    assert "model.server.root" in flat(refused.output) and "tiny-v2" in flat(refused.output)
    assert "--fresh" in flat(refused.output) and len(server.requests()) == sent
    assert manifest(old)["identity"]["model"]["server"]["root"] == "/checkpoints/tiny-v1"
    fresh = openai_run(server.base_url, out, "--cache", str(shared), "--fresh")
    assert fresh.exit_code == 0, fresh.output
    assert "cache hits: 0/24 samples (0%)" in flat(fresh.output), "the v1 answers must not serve v2"
    assert len(server.requests()) > sent and len(run_dirs(out)) == 2

    server.models["tiny"] = {"root": "/checkpoints/tiny-v2", "max_model_len": 4096}
    longer = openai_run(server.base_url, out, "--cache", str(shared))
    assert longer.exit_code == 2 and "model.server.max_model_len: 1024 -> 4096" in flat(longer.output)


def test_the_volatile_fields_of_the_model_list_do_not_change_the_identity(server):
    options = BackendOptions(base_url=server.base_url, api_key_env="none")
    assert model_identity("openai:tiny", options) == model_identity("openai:tiny", options)
    assert model_identity("openai:tiny", options).server == {
        "id": "tiny", "root": "/checkpoints/tiny-v1", "parent": None, "max_model_len": 1024, "owned_by": "vllm"}


def test_the_base_url_is_part_of_the_identity_without_its_credentials():
    assert redact_url("https://user:s3cret-pass@api.example.com:8443/v1?api-version=2024-02-01&api_key=sk-abc123"
                      ) == "https://api.example.com:8443/v1?api-version=2024-02-01&api_key=REDACTED"
    assert redact_url("http://10.0.0.5:8000/v1") == "http://10.0.0.5:8000/v1"
    assert "sk-live-999" not in redact_url("http://h/v1/sk-live-999/x", key="sk-live-999")


def test_a_server_that_does_not_list_the_model_is_an_error_naming_what_it_serves(server, tmp_path):
    result = CliRunner().invoke(app, ["run", "--model", "openai:other", "--base-url", server.base_url,
                                      "--api-key-env", "none", "--out", str(tmp_path)], env={"COLUMNS": "400"})
    assert result.exit_code == 2 and "does not list the model 'other'" in flat(result.output)
    assert "['tiny']" in flat(result.output)


def test_a_missing_key_exits_2_naming_the_variable_unless_the_server_needs_none(server, tmp_path, monkeypatch):
    variable = f"MABENCH_TEST_KEY_{secrets.token_hex(4).upper()}"
    monkeypatch.delenv(variable, raising=False)
    missing = openai_run(server.base_url, tmp_path / "a", "--api-key-env", variable)
    assert missing.exit_code == 2, missing.output
    assert variable in flat(missing.output) and "--api-key-env none" in flat(missing.output)
    assert server.requests() == [] and server.authorizations == []
    monkeypatch.setenv(variable, "   ")
    assert openai_run(server.base_url, tmp_path / "b", "--api-key-env", variable).exit_code == 2
    keyless = openai_run(server.base_url, tmp_path / "c", "--api-key-env", "none")
    assert keyless.exit_code == 0, keyless.output
    assert server.authorizations and set(server.authorizations) == {None}


def test_the_key_is_in_no_file_of_the_run_nor_in_any_output(server, tmp_path, monkeypatch):
    key = f"sk-test-{secrets.token_hex(16)}"
    monkeypatch.setenv("MABENCH_TEST_KEY", key)
    base_url = f"{server.base_url}?api_key={key}"  # some gateways take the key in the query string
    out = tmp_path / "runs"
    server.faults.push("401")  # echoes the key, as real APIs quote a wrong one: the sample's error must not
    # A real process, so that the command line recorded in the manifest is the real one, key included.
    result = subprocess.run([sys.executable, "-m", "mabench", "run", "--model", "openai:tiny", "--base-url", base_url,
                             "--out", str(out), "--api-key-env", "MABENCH_TEST_KEY", *FAST],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    (run_dir,) = run_dirs(out)
    outputs = [result.stdout, result.stderr]
    runner = CliRunner()
    for args in (["leaderboard", str(out), "-o", str(tmp_path / "lb.csv")],
                 ["leaderboard", str(out), "-o", str(tmp_path / "lb.md")],
                 ["report", str(out), "-o", str(tmp_path / "report.html")],
                 ["compare", str(run_dir)], ["compare", str(run_dir), "--json"],
                 ["check", str(run_dir), "--baseline", str(run_dir), "--json"]):
        shown = runner.invoke(app, args, env={"COLUMNS": "400"})
        assert shown.exit_code in (0, 1, 2), (args, shown.output)  # the output is what is checked
        outputs.append(shown.output)
    written = [p for p in [*run_dir.rglob("*"), *tmp_path.glob("lb.*"), tmp_path / "report.html"] if p.is_file()]
    reported = {"report.html"} if importlib.util.find_spec("matplotlib") else set()  # the [report] extra
    assert {p.name for p in written} >= {"manifest.json", "samples.jsonl", "cache.sqlite", "metrics.json",
                                         "lb.csv", *reported}
    for path in written:
        assert key.encode() not in path.read_bytes(), f"{path} holds the API key"
    for text in outputs:
        assert key not in text
    assert set(server.authorizations) == {f"Bearer {key}"}, "the key is sent"
    assert any("Incorrect API key provided: Bearer REDACTED" in line
               for line in (run_dir / "samples.jsonl").read_text().splitlines()), "the echoing error is recorded"


@pytest.mark.parametrize("waiver", ["none", "NONE"])
def test_the_waiver_is_case_insensitive(waiver, server):
    options = BackendOptions(base_url=server.base_url, api_key_env=waiver)
    assert model_identity("openai:tiny", options).backend == "openai"
