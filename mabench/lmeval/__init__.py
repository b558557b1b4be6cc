"""lm-evaluation-harness interop, both ways.

- mabench tasks inside lm-eval: `tasks.write_include_dir` writes task YAMLs (`mabench_<task>_<mode>`) over the
  task's data for `lm_eval --include_path`; `scoring` is what those YAMLs call to parse and judge with mabench.
- lm-eval tasks inside mabench runs: `--tasks lm-eval:NAME` runs NAME through lm-eval's evaluator with the run's
  model (`bridge`), and its metrics are stored under the pseudo-mode `LMEVAL_MODE`.

This module stays light (no lm_eval import): the leaderboard readers use its names.
"""

from __future__ import annotations

LMEVAL_PREFIX = "lm-eval:"
LMEVAL_MODE = "lm-eval"  # the mode under which an lm-eval task's metrics sit in metrics.json
INSTALL = "pip install 'mabench[lmeval]'"


def is_lmeval_task(name: str) -> bool:
    """`lm-eval:NAME` runs NAME through lm-eval instead of a mabench task plugin."""
    return name.startswith(LMEVAL_PREFIX)


def lmeval_name(name: str) -> str:
    """The lm-eval task (or group) name of a `lm-eval:NAME` task."""
    return name[len(LMEVAL_PREFIX):]


def modes_of(task: str, modes: list[str]) -> list[str]:
    """The modes a run has results for in `task`: lm-eval tasks have one, whatever the run's --mode."""
    return [LMEVAL_MODE] if is_lmeval_task(task) else list(modes)
