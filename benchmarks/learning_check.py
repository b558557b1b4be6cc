"""Learning check (a benchmark, not CI): does `mabench train` with Multi-RLVR make a small model better at
naming K distinct valid answers?

The synthetic task "members": each question asks for members of a small, well-known set (days of the week,
planets, ...); every member is a valid answer. The model is evaluated with `mabench.runner.run` (the same
code path as `mabench run`) before and after a short GRPO run, on the training phrasing and on a held-out
phrasing, and the script prints and saves hit@K, unique-answer rate, format rate and recall.

    python benchmarks/learning_check.py --out /tmp/learning-check        # about 15 minutes on 2 idle cores

Results are recorded in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from mabench.answer_format import format_answer_set, parse_answer_set
from mabench.tasks.registry import task
from mabench.text import normalize_answer
from mabench.types import AnswerSet, Judgement, Message, Mode, Question

SETS: dict[str, tuple[str, list[str]]] = {
    # name: (what the question asks for, the members)
    "days": ("a day of the week", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
    "rainbow": ("a colour of the rainbow", ["red", "orange", "yellow", "green", "blue", "indigo", "violet"]),
    "planets": ("a planet of the solar system",
                ["Mercury", "Venus", "Earth", "Mars", "Jupiter", "Saturn", "Uranus", "Neptune"]),
    "continents": ("a continent",
                   ["Africa", "Antarctica", "Asia", "Australia", "Europe", "North America", "South America"]),
    "months": ("a month of the year", ["January", "February", "March", "April", "May", "June", "July", "August",
                                       "September", "October", "November", "December"]),
    "seasons": ("a season of the year", ["spring", "summer", "autumn", "winter", "fall"]),
    "primary": ("a primary colour", ["red", "blue", "yellow", "green"]),
    "suits": ("a suit in a deck of playing cards", ["hearts", "diamonds", "clubs", "spades"]),
    "oceans": ("an ocean", ["Pacific", "Atlantic", "Indian", "Arctic", "Southern", "Antarctic"]),
    "vowels": ("a vowel of the English alphabet", ["a", "e", "i", "o", "u"]),
    "chess": ("a chess piece", ["king", "queen", "rook", "bishop", "knight", "pawn"]),
    "fruits": ("a fruit", ["apple", "banana", "orange", "pear", "grape", "mango", "cherry", "strawberry", "peach",
                           "lemon", "pineapple", "watermelon", "kiwi", "plum", "apricot", "lime", "melon"]),
    "pets": ("a common pet animal", ["dog", "cat", "rabbit", "hamster", "fish", "bird", "parrot", "guinea pig",
                                     "turtle", "goldfish", "mouse", "snake", "horse", "ferret"]),
    "shapes": ("a two-dimensional shape", ["circle", "square", "triangle", "rectangle", "pentagon", "hexagon",
                                           "octagon", "oval", "rhombus", "trapezoid", "star", "diamond"]),
}
TRAIN_TEMPLATE = "Name {what}."
HELD_OUT_TEMPLATE = "Which {what} can you think of?"
SYSTEM = "Answer with short names only."
# A one-shot example of the format, from a set that is not asked about.
EXAMPLE_QUESTION, EXAMPLE = "Name a farm animal.", ["cow", "sheep", "pig", "goat", "horse"]


def _aliases(member: str) -> list[str]:
    return [member, member.rstrip("s")] if member.endswith("s") and len(member) > 3 else [member]


def questions(template: str, split: str) -> list[Question]:
    return [
        Question(id=f"{split}-{name}", task=f"members-{split}", inputs={"question": template.format(what=what)},
                 gold=[_aliases(m) for m in members])
        for name, (what, members) in SETS.items()
    ]


@task("members", description="Name K distinct members of a small well-known set",
      source="synthetic (benchmarks/learning_check.py)")
class Members:
    """Every member of the set is a valid answer; a candidate is correct when it names one (SQuAD-normalised)."""

    def __init__(self, template: str, split: str):
        self.template, self.split = template, split

    def load(self, data_path: Path | None = None) -> list[Question]:
        return questions(self.template, self.split)

    def messages(self, question: Question, mode: Mode, k: int) -> list[Message]:
        """A compact prompt (CPU time grows with every token): the question, then a one-shot example of the
        exact format from a set that is never asked about."""
        if mode == "multi":
            how = f"Give {k} different answers, one per tag"
            example = format_answer_set(EXAMPLE[:k], [None] * min(k, len(EXAMPLE)))
        else:
            how, example = "Give one answer in a tag", f"<answer>{EXAMPLE[0]}</answer>"
        return [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": f"{question.inputs['question']} {how}, as in this example for "
                                            f"\"{EXAMPLE_QUESTION}\":\n{example}"}]

    def parse(self, text: str, mode: Mode, k: int) -> AnswerSet:
        return parse_answer_set(text, k if mode == "multi" else None, require_confidence=False)

    def judge(self, question: Question, answers: AnswerSet) -> tuple[list[Judgement], dict[str, Any]]:
        judgements = []
        for c in answers.candidates:
            key = normalize_answer(c.text)
            hit = next((i for i, aliases in enumerate(question.gold)
                        if key and key in {normalize_answer(a) for a in aliases}), None)
            judgements.append(Judgement(rank=c.rank, correct=hit is not None, gold_index=hit,
                                        method="exact" if hit is not None else "none"))
        return judgements, {}


METRICS = ("hit_at_k", "unique_answers", "unique_ratio", "format_rate", "n_candidates", "recall", "n_correct",
           "completion_tokens")


def evaluate(model: str, out: Path, k: int, seeds: list[int], max_new_tokens: int) -> dict[str, dict[str, float]]:
    """`mabench.runner.run` on both phrasings, several sampling seeds; the mean of each metric over seeds."""
    from rich.console import Console

    from mabench.backends import load_backend
    from mabench.config import RunConfig
    from mabench.runner import run

    tasks = {"members-train": Members(TRAIN_TEMPLATE, "train"), "members-heldout": Members(HELD_OUT_TEMPLATE,
                                                                                           "heldout")}
    backend_cache: dict[str, Any] = {}

    def factory(name: str) -> Any:
        if name not in backend_cache:
            backend_cache[name] = load_backend(name)
        return backend_cache[name]

    sums: dict[str, dict[str, list[float]]] = {name: {m: [] for m in METRICS} for name in tasks}
    for seed in seeds:
        config = RunConfig(model=model, tasks=list(tasks), modes=["multi"], k=k, seed=seed, temperature=0.7,
                           max_new_tokens=max_new_tokens, batch_size=16)
        result = run(config, out, factory, tasks=tasks, console=Console(stderr=True, quiet=True))
        for name in tasks:
            metrics = result.metrics[name]["multi"]
            for m in METRICS:
                value = metrics.get(m, {}).get("value")
                if value is not None:
                    sums[name][m].append(float(value))
    return {name: {m: sum(v) / len(v) for m, v in per.items() if v} for name, per in sums.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/mabench-learning-check"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--prompts-per-step", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--max-completion-length", type=int, default=40)
    parser.add_argument("--accuracy", choices=["any", "distinct"], default="distinct")
    parser.add_argument("--eval-seeds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 helps on a busy machine)")
    args = parser.parse_args()

    import torch

    from mabench.train.config import TrainConfig
    from mabench.train.trainer import train

    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = list(range(args.eval_seeds))
    timings: dict[str, float] = {}

    start = time.perf_counter()
    before = evaluate(args.model, args.out / "runs-before", args.k, seeds, args.max_completion_length)
    timings["eval_before_s"] = time.perf_counter() - start
    print(json.dumps({"before": before}, indent=2), flush=True)

    config = TrainConfig(
        model=args.model, task="members", method="multi-rlvr", k=args.k, accuracy=args.accuracy, seed=0,
        grpo={"learning_rate": args.lr, "warmup_ratio": 0.0, "num_generations": args.generations,
              "temperature": 0.7, "max_completion_length": args.max_completion_length, "max_steps": args.steps,
              "per_device_train_batch_size": args.generations * args.prompts_per_step,
              "gradient_accumulation_steps": 1, "logging_steps": 1, "num_train_epochs": 1000},
    )
    start = time.perf_counter()
    result = train(config, args.out / "checkpoint", task=Members(TRAIN_TEMPLATE, "train"))
    timings["train_s"] = time.perf_counter() - start

    start = time.perf_counter()
    after = evaluate(str(result.checkpoint), args.out / "runs-after", args.k, seeds, args.max_completion_length)
    timings["eval_after_s"] = time.perf_counter() - start
    curve = [{key: entry[key] for key in ("step", "reward", "rewards/format/mean", "rewards/accuracy/mean",
                                          "flags/duplicate_answers", "completions/mean_length") if key in entry}
             for entry in result.log if "reward" in entry]
    report = {"settings": vars(args) | {"out": str(args.out)}, "before": before, "after": after,
              "timings": timings, "steps": result.steps, "train_curve": curve}
    (args.out / "learning_check.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: report[k] for k in ("before", "after", "timings", "steps")}, indent=2))


if __name__ == "__main__":
    main()
