"""The reference trainer: Multi-RLVR / Multi-RLCR (and single-answer RLVR / RLCR) on TRL's GRPOTrainer.

`mabench train` writes a Hugging Face checkpoint that `mabench run --model CKPT_DIR` evaluates directly. Two
reward profiles (`profiles.py`): "paper" (the default), the authors' released reward functions
(`paper_rewards`, module `paper_reward_fns`); "mabench", the task's own parser and judge (`rewards.py`), so that
training and mabench's evaluation agree. Importing this package is cheap: TRL, datasets and torch load only
inside `trainer.train`, and `paper_rewards` on first use.
"""

from typing import Any

from .config import GRPOSettings, TrainConfig, TrainConfigError, load_train_config
from .methods import METHODS, Method, MethodSpec, method_spec
from .rewards import RewardBreakdown, RewardWeights, score

__all__ = [
    "GRPOSettings",
    "METHODS",
    "Method",
    "MethodSpec",
    "RewardBreakdown",
    "RewardWeights",
    "TrainConfig",
    "TrainConfigError",
    "load_train_config",
    "method_spec",
    "paper_rewards",
    "score",
]


def __getattr__(name: str) -> Any:
    """`mabench.train.paper_rewards` without importing numpy and math-verify glue at package import."""
    if name == "paper_rewards":
        from .paper_reward_fns import paper_rewards

        return paper_rewards
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
