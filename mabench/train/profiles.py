"""Reward profiles of `mabench train`: which reward functions train a model, with which weights, on which prompt.

- `paper` (the default): the authors' reward functions (`paper_rewards`), listed by name in `reward_funcs` with
  one weight each in `reward_weights`, both honoured exactly as given; the `format_pattern` their code reads;
  their system prompt for the task (`mabench.prompts`). Left out, each comes from the authors' released config
  for the method (`PAPER_DEFAULTS`).
- `mabench`: mabench's own rewards (format / accuracy / brier from the task's parser and judge, `rewards.py`),
  weighted by the `reward_weights` mapping, on the task's own prompt.

docs/paper-profile.md sets the two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .config import TrainConfig

RewardProfile = Literal["paper", "mabench"]


@dataclass(frozen=True)
class PaperDefault:
    format_pattern: str
    reward_funcs: tuple[str, ...]
    reward_weights: tuple[float, ...]
    source: str  # where the default comes from


PAPER_DEFAULTS: dict[str, PaperDefault] = {
    "multi-rlcr": PaperDefault(
        "multi_answer",
        ("combined_format_and_constraint", "accuracy", "brier", "mean_confidence", "confidence_one_or_zero",
         "pass_at_1", "pass_at_3"),
        (0.5, 0.5, 0.5, 1e-5, 1e-5, 1e-5, 1e-5),
        "configs/Qwen-3-8B/{ambigqa,medical}/qwen3_8b_*_rlcr_multiple.yaml"),
    "rlcr": PaperDefault(
        "tabc",
        ("format", "accuracy", "brier", "mean_confidence", "confidence_one_or_zero", "pass_at_1"),
        (0.5, 0.5, 0.5, 1e-6, 1e-6, 1e-6),
        "configs/Qwen-3-8B/{ambigqa,medical}/qwen3_8b_*_rlcr_single.yaml"),
    "multi-rlvr": PaperDefault(
        "multi_answer_rlvr", ("format", "accuracy"), (0.5, 0.5),
        "README: rlvr_multi.yaml = format + accuracy (the file itself is not released)"),
    "rlvr": PaperDefault(
        "ta", ("format", "accuracy"), (0.5, 0.5),
        "configs/Qwen-3-8B/medical/qwen3_8b_medical_rlvr_single.yaml"),
}


@dataclass(frozen=True)
class ResolvedRewards:
    """Everything the trainer needs to build its reward functions, and what `--dry-run` prints."""

    profile: RewardProfile
    names: tuple[str, ...]
    weights: tuple[float, ...]
    num_candidates: int
    format_pattern: str | None = None  # paper profile only
    source: str | None = None  # the authors' data-source name passed to their correctness check
    prompt: str | None = None  # the authors' prompt name; None: the task's own prompt
    prompt_sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reward_profile": self.profile, "reward_funcs": list(self.names),
            "reward_weights": dict(zip(self.names, self.weights, strict=True)),
            "format_pattern": self.format_pattern, "num_candidates": self.num_candidates,
            "source": self.source, "prompt": self.prompt, "prompt_sha256": self.prompt_sha256,
        }


def check_paper_fields(config: TrainConfig) -> None:
    """The consistency rules of the two profiles; a ValueError names the offending field."""
    from .paper_patterns import MULTI_PATTERNS, check_pattern
    from .paper_reward_fns import reward_names
    from .rewards import RewardWeights

    if config.prompt is not None:
        from mabench.prompts import resolve

        resolve(config.prompt, config.task, config.method)  # a PromptError (a ValueError) names the problem
    if config.reward_profile == "mabench":
        given = [f for f in ("format_pattern", "reward_funcs", "source") if getattr(config, f) is not None]
        if given:
            raise ValueError(f"{given[0]} belongs to reward_profile 'paper'; the 'mabench' profile trains "
                             "format / accuracy / brier weighted by a reward_weights mapping")
        if isinstance(config.reward_weights, list):
            raise ValueError("reward_weights: the 'mabench' profile takes a mapping {format, accuracy, brier}")
        return
    if isinstance(config.reward_weights, RewardWeights):
        raise ValueError("reward_weights: the 'paper' profile takes a list, one weight per reward_funcs entry "
                         "(a {format, accuracy, brier} mapping is reward_profile: mabench)")
    if config.accuracy != "any":
        raise ValueError("accuracy: 'distinct' is a 'mabench' profile option; the paper profile has the "
                         "reward accuracy_fraction instead")
    default = PAPER_DEFAULTS[config.method]
    pattern = check_pattern(config.format_pattern or default.format_pattern)
    multi = config.method.startswith("multi-")
    if multi != (pattern in MULTI_PATTERNS):
        raise ValueError(f"format_pattern {pattern!r} does not fit method {config.method!r} "
                         f"({'K candidates' if multi else 'one answer'})")
    names = config.reward_funcs if config.reward_funcs is not None else list(default.reward_funcs)
    unknown = [n for n in names if n not in reward_names(pattern)]
    if unknown:
        raise ValueError(f"reward_funcs: unknown reward {unknown[0]!r} for format_pattern {pattern!r}; "
                         f"valid rewards: {', '.join(reward_names(pattern))}")
    if not names:
        raise ValueError("reward_funcs: at least one reward function is needed")
    if config.reward_weights is not None and config.reward_funcs is None:
        raise ValueError("reward_weights: a weight list needs the reward_funcs list it weights")
    if isinstance(config.reward_weights, list) and len(config.reward_weights) != len(names):
        raise ValueError(f"reward_weights: {len(config.reward_weights)} weights for {len(names)} reward_funcs")


def resolve_rewards(config: TrainConfig) -> ResolvedRewards:
    """The reward functions, weights, pattern and prompt the config trains with (defaults filled in)."""
    from mabench.prompts import PAPER_TASKS, resolve, template_hash

    prompt = config.prompt
    if prompt is None and config.reward_profile == "paper" and config.task in PAPER_TASKS:
        prompt = "paper"  # the paper's rewards read the paper's format, which the paper's prompt asks for
    name = resolve(prompt, config.task, config.method) if prompt is not None else None
    sha = template_hash(name) if name is not None else None
    if config.reward_profile == "mabench":
        from .rewards import RewardWeights

        weights = config.reward_weights if isinstance(config.reward_weights, RewardWeights) else RewardWeights()
        components = config.spec.components
        return ResolvedRewards("mabench", tuple(components), tuple(weights.for_components(components)),
                               config.candidates, prompt=name, prompt_sha256=sha)
    from .paper_reward_fns import PAPER_SOURCES

    default = PAPER_DEFAULTS[config.method]
    names = tuple(config.reward_funcs) if config.reward_funcs is not None else default.reward_funcs
    if isinstance(config.reward_weights, list):
        weights: tuple[float, ...] = tuple(float(w) for w in config.reward_weights)
    elif config.reward_funcs is not None:
        weights = (1.0,) * len(names)  # TRL's default for reward_weights: None, as in the authors' trainer
    else:
        weights = default.reward_weights
    return ResolvedRewards(
        "paper", names, weights, config.candidates, format_pattern=config.format_pattern or default.format_pattern,
        source=config.source if config.source is not None else PAPER_SOURCES.get(config.task),
        prompt=name, prompt_sha256=sha,
    )
