"""Wall time of the README quickstart: embedded model, ambigqa sample, modes multi and bok, K = k = 3.

Starts from an empty model cache, so the one-time GGUF conversion is included. Prints the per-stage
breakdown the runner records and the ratio to the 5-minute budget.

    python benchmarks/quickstart.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 300.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "MABENCH_CACHE_DIR": str(Path(tmp) / "cache")}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mabench", "run", "--out", str(Path(tmp) / "runs")],
                       check=True, env=env)
        wall = time.perf_counter() - start
        (run_dir,) = (Path(tmp) / "runs").iterdir()
        manifest = json.loads((run_dir / "manifest.json").read_text())
    stages = manifest["timings_s"]
    print(f"\nquickstart wall time: {wall:.1f} s (budget {BUDGET_S:.0f} s; ratio to budget {wall / BUDGET_S:.2f})")
    for stage in ("load", "generate", "judge", "metrics"):
        print(f"  {stage:9s} {stages[stage]:8.2f} s")
    print(f"  {'other':9s} {wall - sum(stages.values()):8.2f} s  (interpreter start, imports, task loading)")


if __name__ == "__main__":
    main()
