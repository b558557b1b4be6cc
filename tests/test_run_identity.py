"""The run id covers everything that changes results: checkpoint content, dtype, device class and the questions
actually asked. A repeated command whose model or data changed is refused, naming what changed, until --fresh."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mabench.backends.base import GenerationRequest, SamplingConfig
from mabench.backends.identity import ModelIdentity, model_identity
from mabench.cli import app
from mabench.config import RunConfig
from mabench.identity import run_identity
from mabench.runner import plan_run
from mabench.tasks import available_tasks, load_task
from tests.tiny_model import build_tiny_model

QUICK = ["--mode", "multi", "--k", "2", "--limit", "2", "--max-new-tokens", "4", "--batch-size", "2"]


def invoke(*args: str):
    return CliRunner().invoke(app, ["run", *args], catch_exceptions=False, env={"COLUMNS": "400"})


def flat(text: str) -> str:
    return " ".join(text.split())


def run_dirs(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.is_dir())


def test_a_checkpoint_retrained_in_place_is_not_resumed(tmp_path):
    """Same path, same file names and sizes, other weights: the old fingerprint (names and sizes) could not tell."""
    checkpoint = build_tiny_model(tmp_path / "ckpt", seed=0)
    out = tmp_path / "runs"
    assert invoke("--model", str(checkpoint), "--out", str(out), *QUICK).exit_code == 0
    sizes = {f.name: f.stat().st_size for f in checkpoint.iterdir()}
    build_tiny_model(checkpoint, seed=1)
    assert {f.name: f.stat().st_size for f in checkpoint.iterdir()} == sizes
    again = invoke("--model", str(checkpoint), "--out", str(out), *QUICK)
    assert again.exit_code == 2, again.output
    assert "model.weights" in flat(again.output) and "--fresh" in flat(again.output)
    resumed = invoke("--model", str(checkpoint), "--out", str(out), *QUICK, "--resume")
    assert resumed.exit_code == 2 and "model.weights" in flat(resumed.output)
    assert len(run_dirs(out)) == 1
    fresh = invoke("--model", str(checkpoint), "--out", str(out), *QUICK, "--fresh")
    assert fresh.exit_code == 0, fresh.output
    old, new = sorted(run_dirs(out), key=lambda p: (p / "manifest.json").stat().st_mtime)
    assert json.loads((old / "manifest.json").read_text())["identity"]["model"]["weights"] != json.loads(
        (new / "manifest.json").read_text())["identity"]["model"]["weights"]
    assert invoke("--model", str(checkpoint), "--out", str(out), *QUICK).exit_code == 0, "the new run resumes"


def test_the_checkpoint_hash_reads_contents_and_ignores_readmes(tiny_model, tmp_path):
    copy = Path(shutil.copytree(tiny_model, tmp_path / "copy"))
    before = model_identity(str(copy))
    (copy / "README.md").write_text("notes written after training")
    assert model_identity(str(copy)) == before
    weights = next(copy.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1  # one bit of one weight, same size
    weights.write_bytes(bytes(data))
    assert model_identity(str(copy)).weights != before.weights


def test_dtype_and_device_class_are_part_of_the_identity_and_match_what_the_backend_loads(tiny_model):
    import torch

    from mabench.backends.hf import HFBackend

    found = model_identity(str(tiny_model))
    expected_device = "cuda" if torch.cuda.is_available() else "cpu"
    assert (found.device, found.dtype) == (expected_device, "bfloat16" if expected_device == "cuda" else "float32")
    loaded = HFBackend(str(tiny_model))
    assert loaded.model.dtype == getattr(torch, found.dtype) and loaded.model.device.type == found.device
    config = RunConfig(model=str(tiny_model))
    questions = {"ambigqa": load_task("ambigqa").load()[:3]}
    base = run_identity(config, found, questions)
    for change in ({"device": "cuda"}, {"dtype": "bfloat16"}, {"device": "cpu", "dtype": "float16"}):
        other = run_identity(config, found.model_copy(update=change), questions)
        assert other.run_id != base.run_id and other.command_id == base.command_id
        assert all(line.split(":")[0].startswith("model.") for line in other.changes(base.model_dump()))


def test_a_new_version_of_mabench_s_own_sampling_loop_is_a_new_run_and_misses_the_cache(tiny_model, monkeypatch):
    """The HF backend's samples are the draws of mabench's own loop (`hf_sampling`): when a release changes them,
    an old run directory must not be resumed with them, nor old cached samples served as theirs."""
    from mabench.backends import hf
    from mabench.backends.cache import cache_key

    config = RunConfig(model=str(tiny_model))
    questions = {"ambigqa": load_task("ambigqa").load()[:3]}
    before = model_identity(str(tiny_model))
    monkeypatch.setattr(hf, "SAMPLER", "a later sampler")
    after = model_identity(str(tiny_model))
    assert run_identity(config, after, questions).run_id != run_identity(config, before, questions).run_id
    request = GenerationRequest(messages=[{"role": "user", "content": "Paris?"}], seed=1)
    assert cache_key(after.fingerprint(), request, SamplingConfig(), 0) != cache_key(before.fingerprint(), request,
                                                                                     SamplingConfig(), 0)


def test_a_rewritten_data_file_is_not_resumed_and_the_change_is_named(tiny_model, tmp_path):
    data = tmp_path / "ambig.json"
    source = json.loads(_bundled("ambigqa_sample.json"))
    data.write_text(json.dumps(source[:4]))
    out = tmp_path / "runs"
    args = ["--model", str(tiny_model), "--out", str(out), "--data-path", str(data), *QUICK]
    assert invoke(*args).exit_code == 0
    source[0]["question"] = "An edited question?"
    data.write_text(json.dumps(source[:4]))
    again = invoke(*args)
    assert again.exit_code == 2, again.output
    assert "data.ambigqa" in flat(again.output) and "--fresh" in flat(again.output)


def _bundled(name: str) -> str:
    from importlib.resources import files

    return files("mabench.tasks").joinpath(f"data/{name}").read_text()


@pytest.mark.parametrize("name", sorted(available_tasks()))
def test_every_tasks_run_id_follows_the_questions_loaded(name):
    questions = load_task(name).load()
    assert len(questions) >= 2
    config = RunConfig(tasks=[name], modes=list(load_task(name).spec.modes))
    model = ModelIdentity(backend="hf", model="default", weights="blake3:x", dtype="float32", device="cpu")
    base = run_identity(config, model, {name: questions})
    assert run_identity(config, model, {name: list(questions)}).run_id == base.run_id
    first = questions[0]
    edited = first.model_copy(update={"inputs": {**first.inputs, "extra": "changed"}})
    variants = {
        "one fewer": questions[:-1],
        "reordered": [questions[1], questions[0], *questions[2:]],
        "gold changed": [first.model_copy(update={"gold": [*first.gold, "another answer"]}), *questions[1:]],
        "input changed": [edited, *questions[1:]],
    }
    for what, changed in variants.items():
        other = run_identity(config, model, {name: changed})
        assert other.run_id != base.run_id, what
        assert other.changes(base.model_dump()) and all(
            line.startswith(f"data.{name}:") for line in other.changes(base.model_dump())), what


def test_humaneval_all_164_and_a_sample_in_the_same_file_do_not_share_a_run_id(tmp_path):
    """The same command (same --data-path) over different contents: the config alone cannot tell them apart."""
    task = load_task("humaneval")
    lines = gzip.decompress(_bundled_bytes("humaneval.jsonl.gz")).decode().splitlines()
    assert len(lines) == 164
    data = tmp_path / "HumanEval.jsonl"
    config = RunConfig(tasks=["humaneval"], data_path={"humaneval": str(data)})
    model = ModelIdentity(backend="hf", model="default", weights="blake3:x", dtype="float32", device="cpu")
    data.write_text("\n".join(lines) + "\n")
    full = plan_run(config, lambda: model, {"humaneval": task})
    data.write_text("\n".join(lines[:30]) + "\n")
    sample = plan_run(config, lambda: model, {"humaneval": task})
    assert len(full.questions["humaneval"]) == 164 and len(sample.questions["humaneval"]) == 30
    assert full.identity.run_id != sample.identity.run_id


def _bundled_bytes(name: str) -> bytes:
    from importlib.resources import files

    return files("mabench.tasks").joinpath(f"data/{name}").read_bytes()
