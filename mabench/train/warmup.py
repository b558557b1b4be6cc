"""Optional supervised warm-up before GRPO: format demonstrations built from gold answers (a deviation from the
paper, which starts RL from instruction-tuned 7-8B models that already follow the tag format).

Why: GRPO learns only from differences in reward within a group. SmolLM2-135M-Instruct never writes the answer
tags, so every completion of a group scores 0 on format and the policy gradient is zero: RL cannot start. A few
hundred supervised steps on demonstrations of the exact format fix that, then GRPO trains as usual.

A demonstration is the completion the evaluation parser reads as `format_ok`, written from the question's gold:
- multi methods: K distinct answers, the question's gold answers first (the shortest alias of each gold group,
  at most K), then distractors (gold answers of other training questions, picked by a hash of the question id) when
  the question has fewer than K; the gold answers share `gold_confidence`, each distractor gets
  `distractor_confidence`, so the confidences sum to at most 1;
- single-answer methods: the first gold answer with `single_confidence`.
No think block: the bundled checkpoints must answer in a few dozen tokens.
The confidences are fixed numbers, not calibrated ones; calibration is GRPO's job (the Brier reward).

The loop is a plain PyTorch one (AdamW, linear decay, loss on the completion tokens only), small enough to read
in full; `lora.py` makes only an adapter trainable.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mabench.answer_format import format_answer_set
from mabench.text import normalize_answer
from mabench.types import Question

from .methods import MethodSpec

WARMUP_LOG = "warmup_log.jsonl"


class WarmupError(ValueError):
    """Demonstrations that cannot be built or do not fit `max_length`; the message names the question."""


class WarmupSettings(BaseModel):
    """The `warmup:` section of a training config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: float = Field(1.0, gt=0.0, description="passes over the demonstrations (max_steps wins if set)")
    max_steps: int | None = Field(None, ge=1)
    learning_rate: float = Field(2e-4, gt=0.0)
    batch_size: int = Field(8, ge=1, description="demonstrations per optimizer step")
    max_length: int = Field(384, ge=16, description="tokens per demonstration (prompt + completion); longer "
                            "ones are an error, not truncated")
    gold_confidence: float = Field(0.6, gt=0.0, le=1.0, description="multi: shared by the gold answers")
    distractor_confidence: float = Field(0.1, ge=0.0, le=1.0, description="multi: each distractor's")
    single_confidence: float = Field(0.5, ge=0.0, le=1.0, description="single-answer methods: the answer's")
    seed: int = 0


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def gold_answers(question: Question) -> list[str]:
    """The shortest alias of each gold group (the first of equally short ones), in gold order: one per distinct
    gold answer, as short as the judge accepts, so that short answers are what the model learns."""
    return [item if isinstance(item, str) else min((str(a) for a in item), key=len) for item in question.gold
            if item]


def distractor_pool(questions: Sequence[Question]) -> list[str]:
    """Every training question's gold answers, distinct after normalisation, in a fixed (hash) order."""
    seen: dict[str, str] = {}
    for q in questions:
        for answer in gold_answers(q):
            seen.setdefault(normalize_answer(answer), answer)
    return [seen[key] for key in sorted(seen, key=_hash) if key]


def demonstration(question: Question, spec: MethodSpec, k: int, pool: Sequence[str],
                  settings: WarmupSettings) -> str:
    """The completion taught for `question`: see the module docstring."""
    golds = gold_answers(question)
    if not golds:
        raise WarmupError(f"question {question.id!r} has no gold answer to build a demonstration from")
    if not spec.multi:
        return format_single(golds[0], settings.single_confidence if spec.confidence else None)
    answers: list[str] = []
    keys: set[str] = set()
    for answer in golds:
        key = normalize_answer(answer)
        if key and key not in keys and len(answers) < k:
            answers.append(answer)
            keys.add(key)
    n_gold = len(answers)
    start = int(_hash(question.id), 16) % max(len(pool), 1)
    for offset in range(len(pool)):
        if len(answers) == k:
            break
        candidate = pool[(start + offset) % len(pool)]
        key = normalize_answer(candidate)
        if key not in keys:
            answers.append(candidate)
            keys.add(key)
    if len(answers) < k:
        raise WarmupError(f"question {question.id!r}: not enough distinct distractors for K={k}")
    confidences: list[float | None] = (
        [round(settings.gold_confidence / n_gold, 2)] * n_gold + [settings.distractor_confidence] * (k - n_gold)
        if spec.confidence else [None] * k)
    return format_answer_set(answers, confidences)


def format_single(answer: str, confidence: float | None) -> str:
    text = f"<answer>{answer}</answer>"
    return text if confidence is None else f"{text}<confidence>{confidence!r}</confidence>"


def demonstration_rows(task: Any, questions: list[Question], spec: MethodSpec, k: int, settings: WarmupSettings,
                       prompt: str | None = None) -> list[dict[str, Any]]:
    """The GRPO rows (`data.training_rows`: the same prompts) with each row's demonstration as `completion`."""
    from .data import training_rows

    pool = distractor_pool(questions)
    rows = training_rows(task, questions, spec, k, prompt)
    for row, q in zip(rows, questions, strict=True):
        row["completion"] = demonstration(q, spec, k, pool, settings)
    return rows


def encode(tokenizer: Any, prompt: list[dict[str, str]], completion: str) -> tuple[list[int], int]:
    """Token ids of the chat with the assistant turn, and how many of them are the prompt (not trained on).
    The completion's ids come from the chat template itself, so the end-of-turn token is taught too."""
    prompt_text = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    full_text = tokenizer.apply_chat_template([*prompt, {"role": "assistant", "content": completion}],
                                              tokenize=False)
    if not full_text.startswith(prompt_text):
        raise WarmupError("the chat template renders the prompt differently once an assistant turn follows")
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    completion_ids = tokenizer(full_text[len(prompt_text):].rstrip("\n"), add_special_tokens=False)["input_ids"]
    return list(prompt_ids) + list(completion_ids), len(prompt_ids)


def run_warmup(model: Any, tokenizer: Any, rows: list[dict[str, Any]], settings: WarmupSettings,
               log_path: Path | None = None) -> list[dict[str, Any]]:
    """Train `model` in place on the rows' demonstrations; returns (and appends to `log_path`) one log entry
    per optimizer step: loss, learning rate, seconds."""
    import torch

    encoded = [encode(tokenizer, row["prompt"], row["completion"]) for row in rows]
    too_long = [(row["question_id"], len(ids)) for row, (ids, _) in zip(rows, encoded, strict=True)
                if len(ids) > settings.max_length]
    if too_long:
        qid, n = too_long[0]
        raise WarmupError(f"warmup.max_length: question {qid!r} needs {n} tokens, more than {settings.max_length}")
    per_epoch = -(-len(encoded) // settings.batch_size)
    steps = settings.max_steps or max(1, round(settings.epochs * per_epoch))
    generator = torch.Generator().manual_seed(settings.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.learning_rate, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / steps)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model.train()
    log: list[dict[str, Any]] = []
    order: list[int] = []
    for step in range(1, steps + 1):
        start = time.perf_counter()
        if len(order) < settings.batch_size:
            order += torch.randperm(len(encoded), generator=generator).tolist()
        batch, order = [encoded[i] for i in order[:settings.batch_size]], order[settings.batch_size:]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (ids, n_prompt) in enumerate(batch):
            input_ids[i, :len(ids)] = torch.tensor(ids)
            labels[i, n_prompt:len(ids)] = torch.tensor(ids[n_prompt:])
            mask[i, :len(ids)] = 1
        loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        entry = {"stage": "warmup", "step": step, "loss": round(loss.item(), 5),
                 "learning_rate": scheduler.get_last_lr()[0], "seconds": round(time.perf_counter() - start, 3)}
        log.append(entry)
        if log_path is not None:
            with log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
    model.eval()
    return log
