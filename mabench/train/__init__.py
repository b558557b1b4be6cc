"""The reference trainer: Multi-RLVR / Multi-RLCR (and single-answer RLVR / RLCR) on TRL's GRPOTrainer.

`mabench train` writes a Hugging Face checkpoint that `mabench run --model CKPT_DIR` evaluates directly. The
rewards are computed with the task's own parser and judge (`rewards.py`), so training and evaluation agree.
Importing this package is cheap: TRL, datasets and torch load only inside `trainer.train`.
"""

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
    "score",
]
