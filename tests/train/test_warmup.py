"""The format warm-up, the LoRA adapter and the disjoint training split (mabench.train.warmup / lora / splits).

Real parts throughout: the bundled AmbigQA sample's questions, the task's own parser, the tiny config-built
model of tests/conftest.py, peft. Nothing reads ../shared.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mabench.tasks import load_task
from mabench.text import normalize_answer
from mabench.train.lora import ADAPTER_CONFIG, ADAPTER_WEIGHTS, LoraSettings, apply_lora, save_adapter
from mabench.train.methods import method_spec
from mabench.train.splits import SplitError, bundled_eval_ids, disjoint_split, ids_sha256, training_record
from mabench.train.warmup import (
    WarmupSettings,
    demonstration,
    demonstration_rows,
    distractor_pool,
    encode,
    gold_answers,
    run_warmup,
)
from mabench.types import Question

pytest.importorskip("peft")

TASK = load_task("ambigqa")
QUESTIONS = TASK.load()
TINY_LORA = LoraSettings(r=8, alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "up_proj",
                                                        "down_proj", "gate_proj"])


@pytest.mark.parametrize("method", ["multi-rlcr", "multi-rlvr", "rlcr", "rlvr"])
def test_every_demonstration_is_what_the_evaluation_parser_calls_well_formed(method):
    spec = method_spec(method)
    settings = WarmupSettings()
    pool = distractor_pool(QUESTIONS)
    for q in QUESTIONS:
        text = demonstration(q, spec, 3, pool, settings)
        answers = TASK.parse(text, spec.mode, 3)
        if spec.confidence:
            assert answers.format_ok, (q.id, text)
        assert len(answers.candidates) == spec.candidates(3)


def test_multi_demonstrations_put_gold_first_with_distinct_answers_and_confidences_at_most_one():
    spec = method_spec("multi-rlcr")
    pool = distractor_pool(QUESTIONS)
    for q in QUESTIONS:
        answers = TASK.parse(demonstration(q, spec, 3, pool, WarmupSettings()), "multi", 3)
        judgements, _ = TASK.judge(q, answers)
        n_gold = min(len({normalize_answer(a) for a in gold_answers(q)}), 3)
        assert [j.correct for j in judgements][:n_gold] == [True] * n_gold, q.id
        assert len({c.text.lower() for c in answers.candidates}) == 3
        assert sum(c.confidence for c in answers.candidates) <= 1.0 + 1e-9


def test_demonstration_answers_are_the_shortest_alias():
    q = Question(id="x", task="ambigqa", inputs={"question": "q?"},
                 gold=[["The United States of America", "USA"], ["France"]])
    text = demonstration(q, method_spec("rlcr"), 1, [], WarmupSettings(single_confidence=0.4))
    assert text == "<answer>USA</answer><confidence>0.4</confidence>"


def test_encode_trains_on_the_completion_and_its_end_of_turn_only(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    row = demonstration_rows(TASK, QUESTIONS[:1], method_spec("multi-rlcr"), 3, WarmupSettings())[0]
    ids, n_prompt = encode(tokenizer, row["prompt"], row["completion"])
    prompt_ids = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    assert tokenizer.decode(ids[:n_prompt]) == prompt_ids
    assert tokenizer.decode(ids[n_prompt:]) == row["completion"] + tokenizer.eos_token


def _greedy_format_ok(model, tokenizer, row, spec) -> bool:
    import torch

    text = tokenizer.apply_chat_template(row["prompt"], add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=80, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    completion = tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    return TASK.parse(completion, spec.mode, 3).format_ok


@pytest.mark.parametrize("method", ["multi-rlcr", "rlcr"])
def test_the_warmup_teaches_a_model_that_never_writes_the_tags_to_write_them(tiny_model, tmp_path, method):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    spec = method_spec(method)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)  # 2 layers x 64 wide: full weights, not an adapter
    settings = WarmupSettings(max_steps=150, batch_size=1, learning_rate=1e-2, max_length=1024)
    pool = distractor_pool(QUESTIONS)
    shortest = min(QUESTIONS, key=lambda q: len(demonstration(q, spec, 3, pool, settings)))
    rows = demonstration_rows(TASK, [shortest], spec, 3, settings)
    assert not _greedy_format_ok(model, tokenizer, rows[0], spec)  # random weights: no tags
    log = run_warmup(model, tokenizer, rows, settings, tmp_path / "warmup.jsonl")
    assert _greedy_format_ok(model, tokenizer, rows[0], spec)
    assert log[-1]["loss"] < log[0]["loss"] / 4
    lines = [json.loads(line) for line in (tmp_path / "warmup.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in lines] == list(range(1, 151))


def test_a_demonstration_longer_than_max_length_is_an_error_naming_the_question(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    settings = WarmupSettings(max_steps=1, max_length=16)
    rows = demonstration_rows(TASK, QUESTIONS[:1], method_spec("rlcr"), 3, settings)
    with pytest.raises(ValueError, match=f"warmup.max_length: question '{QUESTIONS[0].id}'"):
        run_warmup(model, tokenizer, rows, settings)


def test_the_saved_adapter_is_small_and_names_the_portable_base(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model), TINY_LORA)
    out = save_adapter(model, tmp_path / "adapter", base_model="default")
    config = json.loads((out / ADAPTER_CONFIG).read_text())
    assert config["base_model_name_or_path"] == "default" and config["r"] == 8
    assert (out / ADAPTER_WEIGHTS).stat().st_size < 10 * 2**20
    assert sorted(p.name for p in out.iterdir()) == [ADAPTER_CONFIG, ADAPTER_WEIGHTS]


def _dev_like_pool() -> list[Question]:
    """The bundled questions plus as many again under new ids: what a dev file holds, for the split's sake."""
    extra = [q.model_copy(update={"id": f"new-{q.id}"}) for q in QUESTIONS]
    return [*QUESTIONS, *extra]


def test_the_training_split_leaves_out_every_bundled_evaluation_question_whatever_the_file_order():
    pool = _dev_like_pool()
    excluded = bundled_eval_ids("ambigqa")
    assert excluded == {q.id for q in QUESTIONS}
    split = disjoint_split(pool, excluded)
    assert not {q.id for q in split} & excluded and len(split) == len(pool) - len(QUESTIONS)
    shuffled = pool[:]
    random.Random(1).shuffle(shuffled)
    assert [q.id for q in disjoint_split(shuffled, excluded, 10)] == [q.id for q in split[:10]]


def test_a_split_larger_than_what_is_left_is_an_error():
    with pytest.raises(SplitError, match="only 100 are disjoint"):
        disjoint_split(_dev_like_pool(), bundled_eval_ids("ambigqa"), 101)
    with pytest.raises(SplitError, match="no training questions left"):
        disjoint_split(QUESTIONS, bundled_eval_ids("ambigqa"))


def test_the_training_record_lists_every_id_and_a_hash_of_the_set():
    questions = disjoint_split(_dev_like_pool(), bundled_eval_ids("ambigqa"), 5)
    record = training_record("ambigqa", questions, "bundled-disjoint")
    assert record["ids"] == [q.id for q in questions] and record["n"] == 5
    assert record["ids_sha256"] == ids_sha256(reversed(record["ids"]))


@pytest.mark.parametrize("name", ["multi-rlcr", "rlcr"])
def test_a_shipped_checkpoint_is_a_small_adapter_trained_on_no_bundled_question(name):
    folder = Path(__file__).resolve().parents[2] / "mabench" / "checkpoints" / name
    if not folder.is_dir():
        pytest.skip(f"no bundled checkpoint {name} in this tree")
    assert (folder / ADAPTER_WEIGHTS).stat().st_size <= 10 * 2**20
    record = json.loads((folder / "mabench_train.json").read_text())
    ids = record["train_questions"]["ids"]
    assert ids and not set(ids) & bundled_eval_ids("ambigqa")
    assert record["train_questions"]["ids_sha256"] == ids_sha256(ids)


REPO = Path(__file__).resolve().parents[2]


def _bundled_config_for_tiny_model(tmp_path: Path, method: str, **changes: object) -> Path:
    """configs/bundled/<method>.yaml shrunk to a few seconds on the tiny model (same sections, fewer steps)."""
    import yaml

    data = yaml.safe_load((REPO / "configs" / "bundled" / f"{method}.yaml").read_text())
    data.update({"limit": 2, "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]}})
    data["warmup"].update({"max_steps": 2, "max_length": 1024})
    data["grpo"].update({"num_generations": 2, "per_device_train_batch_size": 2, "max_completion_length": 12,
                         "max_steps": 1})
    data.update(changes)
    path = tmp_path / f"{method}-tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _train(*args: str):
    from typer.testing import CliRunner

    from mabench.cli import app

    return CliRunner().invoke(app, ["train", *args], catch_exceptions=False)


def _dev_like_file(tmp_path: Path) -> Path:
    """A light-format file holding the bundled sample plus 100 more records under new ids."""
    records = json.loads((REPO / "tasks" / "data" / "ambigqa_sample.json").read_text())
    path = tmp_path / "dev_like.json"
    path.write_text(json.dumps([*records, *({**r, "id": f"new-{r['id']}"} for r in records)]))
    return path


def test_mabench_train_warms_up_an_adapter_and_records_its_disjoint_training_questions(tiny_model, tmp_path):
    out = tmp_path / "ckpt"
    result = _train("--model", str(tiny_model), "--config", str(_bundled_config_for_tiny_model(tmp_path, "multi-rlcr")),
                    "--data-path", str(_dev_like_file(tmp_path)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / ADAPTER_WEIGHTS).is_file() and not (out / "model.safetensors").exists()
    assert json.loads((out / ADAPTER_CONFIG).read_text())["base_model_name_or_path"] == str(tiny_model)
    record = json.loads((out / "mabench_train.json").read_text())
    expected = disjoint_split(_dev_like_pool(), bundled_eval_ids("ambigqa"), 2)
    assert record["train_questions"]["ids"] == [q.id for q in expected]
    assert record["train_questions"]["split"] == "bundled-disjoint"
    assert record["warmup"]["steps"] == 2 and record["adapter"] == "peft-lora"
    warm = [json.loads(line) for line in (out / "warmup_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in warm] == [1, 2]


def test_every_mabench_train_checkpoint_lists_its_training_question_ids(tiny_model, tmp_path):
    config = _bundled_config_for_tiny_model(tmp_path, "rlcr", split="file", lora=None, warmup=None)
    out = tmp_path / "plain"
    result = _train("--model", str(tiny_model), "--config", str(config), "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads((out / "mabench_train.json").read_text())
    assert record["train_questions"]["ids"] == [q.id for q in QUESTIONS[:2]]
    assert record["train_questions"]["ids_sha256"] == ids_sha256(q.id for q in QUESTIONS[:2])


def test_a_disjoint_split_without_a_data_file_is_a_one_line_error(tiny_model, tmp_path):
    result = _train("--model", str(tiny_model), "--config", str(_bundled_config_for_tiny_model(tmp_path, "rlcr")),
                    "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "split 'bundled-disjoint' needs --data-path" in result.output and "Traceback" not in result.output


def test_the_peft_free_merge_gives_the_same_model_as_peft(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from mabench.train.lora import load_with_adapter, merge_adapter_weights

    torch.manual_seed(0)
    model = apply_lora(AutoModelForCausalLM.from_pretrained(tiny_model), TINY_LORA)
    for name, param in model.named_parameters():
        if "lora_B" in name:  # peft starts B at zero: make the adapter do something
            param.data.normal_(0, 0.5)
    save_adapter(model, tmp_path / "adapter", base_model="default")
    ids = torch.tensor([[5, 9, 30, 7, 11]])
    with torch.no_grad():
        expected = load_with_adapter(str(tiny_model), tmp_path / "adapter").merge_and_unload()(ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_model)
        before = plain(ids).logits
        got = merge_adapter_weights(plain, tmp_path / "adapter")(ids).logits
    assert not torch.allclose(before, expected, atol=1e-3)
    assert torch.allclose(got, expected, atol=1e-5)
