"""Print the training curves of checkpoints written by `mabench train` with a warm-up (the bundled ones by default):
warm-up loss per step, then per GRPO step the mean format, accuracy and Brier rewards, completion length and
seconds, and the totals recorded in mabench_train.json.

    python benchmarks/bundled_curves.py [CKPT_DIR ...]      # default: mabench/checkpoints/{multi-rlcr,rlcr}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = [ROOT / "mabench" / "checkpoints" / name for name in ("multi-rlcr", "rlcr")]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def report(folder: Path) -> list[str]:
    record = json.loads((folder / "mabench_train.json").read_text())
    out = [f"== {folder.name}: {record['method']}, K={record.get('candidates_per_generation')}, "
           f"{record['train_questions']['n']} training questions"]
    warm = _lines(folder / "warmup_log.jsonl")
    if warm:
        out.append("warm-up: step loss seconds")
        out += [f"  {w['step']:3d} {w['loss']:.4f} {w['seconds']:.1f}" for w in warm]
    out.append("grpo: step format accuracy brier mean_length reward_std seconds")
    for entry in _lines(folder / "train_log.jsonl"):
        if "rewards/format/mean" not in entry:
            continue
        out.append(f"  {entry['step']:3d} {entry['rewards/format/mean']:.3f} {entry['rewards/accuracy/mean']:.3f} "
                   f"{entry.get('rewards/brier/mean', float('nan')):.3f} {entry['completions/mean_length']:.1f} "
                   f"{entry['reward_std']:.3f} {entry.get('step_time', float('nan')):.1f}")
    totals = {key: record.get(key) for key in ("trainer", "train_runtime_s", "warmup", "steps", "versions")}
    totals["cpu_threads"] = record.get("cpu_threads", record.get("config", {}).get("cpu_threads"))
    out.append(f"record: {json.dumps(totals)}")
    return out


def main(argv: list[str]) -> None:
    for folder in [Path(a) for a in argv] or DEFAULT:
        print("\n".join(report(folder)))


if __name__ == "__main__":
    main(sys.argv[1:])
