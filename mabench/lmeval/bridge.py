"""lm-eval tasks inside a mabench run: `mabench run --tasks ambigqa,lm-eval:gsm8k`.

The `lm-eval:NAME` tasks of a run go through lm-eval's own evaluator (`lm_eval.simple_evaluate`), with the run's
model mapped to lm-eval's model type and arguments (`lmeval_model`), the run's --limit, --batch-size and --seed.
A task lm-eval does not ship is found through `--data-path lm-eval:NAME=PATH`: PATH is a task YAML or a folder
of them (lm-eval's include path). lm-eval's results and per-sample logs are stored in the run directory under
`lm-eval/` (`results.json`, `samples_<task>.jsonl`); a resumed run reuses them instead of evaluating again.

Each task's metrics go into metrics.json under the pseudo-mode `lm-eval`, one entry per lm-eval metric
(`acc`, or `exact_match/strict-match` for a metric under a non-default filter): lm-eval's value and standard
error, a normal 95% CI from it, n, direction, and `per_question` (by lm-eval doc id) where lm-eval's value is
the mean of its per-sample values, so that `mabench compare` pairs two runs question by question.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mabench.backends.base import UnknownModelError
from mabench.backends.options import BackendOptions

from . import INSTALL, LMEVAL_MODE, lmeval_name

FOLDER = "lm-eval"
_Z95 = 1.959963984540054


class LMEvalError(UnknownModelError):
    """An lm-eval task that cannot run (missing package, unknown task, a model lm-eval cannot drive)."""


class LMEvalModel(BaseModel):
    """How lm-eval loads the run's model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(description="lm-eval model type: hf, vllm or local-chat-completions")
    model_args: dict[str, Any]
    apply_chat_template: bool = Field(description="chat APIs take messages; local models get lm-eval's default "
                                                  "(no template), comparable with published lm-eval numbers")
    api_key_env: str | None = None
    device: str | None = None


def require_lmeval() -> None:
    import importlib.util

    if importlib.util.find_spec("lm_eval") is None:
        raise LMEvalError(f"lm-eval tasks need the package lm-eval, which is not installed: {INSTALL}")


def lmeval_model(model: str, options: BackendOptions) -> LMEvalModel:
    """The lm-eval model for a mabench --model value and backend options."""
    from mabench.backends import DEFAULT_MODEL, resolve_model

    kind, target = resolve_model(model)
    if kind == "replay":
        raise LMEvalError(f"--model {model!r}: lm-eval tasks need a model to evaluate, and replay has none; run "
                          "them with the model the replayed generations came from")
    if kind == "hf":
        if target == DEFAULT_MODEL:
            from mabench.backends.default_model import ensure_default_model

            target = str(ensure_default_model())
        import torch

        return LMEvalModel(model="hf", model_args={"pretrained": target}, apply_chat_template=False,
                           device="cuda" if torch.cuda.is_available() else "cpu")
    if kind == "vllm":
        args = {"pretrained": target, "tensor_parallel_size": options.tensor_parallel_size,
                "data_parallel_size": options.data_parallel_size,
                "gpu_memory_utilization": options.gpu_memory_utilization, "enforce_eager": options.enforce_eager,
                **({"max_model_len": options.max_model_len} if options.max_model_len else {}), **options.engine_args}
        return LMEvalModel(model="vllm", model_args=args, apply_chat_template=False)
    if not options.base_url:
        raise LMEvalError(f"--model {model!r}: lm-eval tasks need --base-url for an openai: model")
    args = {"model": target, "base_url": f"{options.base_url}/chat/completions", "num_concurrent":
            options.concurrency, "max_retries": options.max_retries, "timeout": options.request_timeout,
            "tokenized_requests": False, **({"tokenizer": options.tokenizer} if options.tokenizer else {})}
    return LMEvalModel(model="local-chat-completions", model_args=args, apply_chat_template=True,
                       api_key_env=options.api_key_env)


def include_paths(names: Sequence[str], data_path: dict[str, str]) -> list[str]:
    """lm-eval include paths for the tasks' --data-path entries (a YAML file stands for its folder)."""
    paths = []
    for name in names:
        if name in data_path:
            path = Path(data_path[name])
            if not path.exists():
                raise LMEvalError(f"--data-path {name}={path}: no such file or folder; expected an lm-eval task "
                                  "YAML or a folder of them")
            paths.append(str((path.parent if path.is_file() else path).resolve()))
    return list(dict.fromkeys(paths))


def check_tasks(names: Sequence[str], data_path: dict[str, str]) -> None:
    """Fail early, before any model loads, on an lm-eval task lm-eval does not know."""
    require_lmeval()
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include_paths(names, data_path) or None)
    unknown = [n for n in names if lmeval_name(n) not in manager.all_tasks]
    if unknown:
        raise LMEvalError(f"unknown lm-eval task {lmeval_name(unknown[0])!r} ({unknown[0]}); expected a task or "
                          "group lm-eval lists (`lm_eval ls tasks`), or give its YAML with "
                          f"--data-path {unknown[0]}=PATH")


def check_run(names: Sequence[str], model: str, data_path: dict[str, str]) -> None:
    """Everything `mabench run` can check about its lm-eval tasks before loading a model."""
    from mabench.backends import resolve_model

    if resolve_model(model)[0] == "replay":
        raise LMEvalError(f"--model {model!r}: lm-eval tasks ({', '.join(names)}) need a model to evaluate, and "
                          "replay has none; leave them out or give the model the generations came from")
    check_tasks(names, data_path)


def run_lmeval_tasks(names: Sequence[str], config: Any, run_dir: Path, options: BackendOptions | None
                     ) -> dict[str, dict[str, dict[str, Any]]]:
    """Evaluate `names` (`lm-eval:NAME` tasks) unless the run directory holds their results already, store
    lm-eval's results and samples there, and return their metrics.json entries."""
    folder = Path(run_dir) / FOLDER
    stored = _stored(folder)
    if stored is None or any(lmeval_name(n) not in stored["results"] for n in names):
        stored = _evaluate(names, config, folder, options or BackendOptions())
    return {n: {LMEVAL_MODE: task_entries(stored, lmeval_name(n), _samples(folder, lmeval_name(n)))} for n in names}


def _evaluate(names: Sequence[str], config: Any, folder: Path, options: BackendOptions) -> dict[str, Any]:
    require_lmeval()
    import lm_eval
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import handle_non_serializable

    spec = lmeval_model(config.model, options)
    model: Any = spec.model
    if spec.api_key_env is not None:
        model = _chat_api(spec)
    results = lm_eval.simple_evaluate(
        model=model, model_args=spec.model_args, tasks=[lmeval_name(n) for n in names],
        task_manager=TaskManager(include_path=include_paths(names, config.data_path) or None),
        limit=config.limit, batch_size=config.batch_size, device=spec.device, log_samples=True,
        apply_chat_template=spec.apply_chat_template, random_seed=config.seed, numpy_random_seed=config.seed,
        torch_random_seed=config.seed, fewshot_random_seed=config.seed, bootstrap_iters=1000)
    if results is None:  # lm-eval returns None on ranks other than 0
        raise LMEvalError("lm-eval returned no results (not the main process)")
    samples = results.pop("samples", {}) or {}
    folder.mkdir(parents=True, exist_ok=True)
    for task, logged in samples.items():
        text = "".join(json.dumps(s, default=handle_non_serializable, ensure_ascii=False) + "\n" for s in logged)
        _replace(folder / f"samples_{task}.jsonl", text)
    results["lmeval_model"] = spec.model_dump()
    _replace(folder / "results.json", json.dumps(results, default=handle_non_serializable, indent=1))
    return json.loads((folder / "results.json").read_text())


def _chat_api(spec: LMEvalModel) -> Any:
    """lm-eval's chat-completions client, with the key from the run's --api-key-env (lm-eval reads only
    OPENAI_API_KEY; 'none' sends no key)."""
    from lm_eval.models.openai_completions import LocalChatCompletion

    env = spec.api_key_env or "OPENAI_API_KEY"

    class ChatCompletion(LocalChatCompletion):  # type: ignore[misc]
        @property
        def api_key(self) -> str:
            return "" if env.lower() == "none" else os.environ.get(env, "")

    return ChatCompletion(**spec.model_args)


def _replace(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _stored(folder: Path) -> dict[str, Any] | None:
    path = folder / "results.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:  # cut off mid-write by a kill: evaluate again
        return None


def _samples(folder: Path, task: str) -> list[dict[str, Any]]:
    path = folder / f"samples_{task}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def metric_name(key: str) -> tuple[str, str, str]:
    """(mabench metric name, lm-eval metric, filter) of a results key such as 'exact_match,strict-match'."""
    metric, _, filt = key.partition(",")
    return (metric if filt in ("", "none") else f"{metric}/{filt}"), metric, filt


def task_entries(results: dict[str, Any], task: str, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """metrics.json entries of one lm-eval task (or group), in lm-eval's order, plus `errors` (always 0: lm-eval
    has no failed questions) so the leaderboard counts its questions."""
    res = results["results"][task]
    n = (results.get("n-samples", {}).get(task) or {}).get("effective")
    higher = results.get("higher_is_better", {}).get(task, {})
    out: dict[str, Any] = {}
    for key, value in res.items():
        if "," not in key or "_stderr," in key:
            continue
        name, metric, filt = metric_name(key)
        stderr = _finite(res.get(f"{metric}_stderr,{filt}"))
        value = _finite(value)
        entry: dict[str, Any] = {
            "value": value, "stderr": stderr,
            "ci_low": value - _Z95 * stderr if value is not None and stderr is not None else None,
            "ci_high": value + _Z95 * stderr if value is not None and stderr is not None else None,
            "n": n, "unit": "score", "higher_is_better": higher.get(metric), "aggregation": "pooled",
            "group": "lm-eval", "description": f"lm-eval {task}: {metric} (filter {filt})",
            "ci_method": "normal, from lm-eval's standard error"}
        per_question = _per_question(samples, metric, filt)
        if per_question and value is not None and math.isclose(sum(per_question.values()) / len(per_question),
                                                               value, rel_tol=1e-9, abs_tol=1e-9):
            entry["per_question"], entry["aggregation"] = per_question, "mean"
            entry["ci_low"], entry["ci_high"] = _bootstrap(list(per_question.values()))
            entry["ci_method"] = "percentile bootstrap over questions, as mabench's metrics"
        out[name] = entry
    out["errors"] = {"value": 0.0, "unit": "count", "n": n, "stderr": None, "higher_is_better": False}
    return out


def _per_question(samples: Sequence[dict[str, Any]], metric: str, filt: str) -> dict[str, float]:
    values = {}
    for sample in samples:
        if sample.get("filter", "none") == filt and _finite(sample.get(metric)) is not None:
            values[str(sample["doc_id"])] = float(sample[metric])
    return values if len(values) == len([s for s in samples if s.get("filter", "none") == filt]) else {}


def _bootstrap(values: list[float]) -> tuple[float | None, float | None]:
    """The 95% CI of a mean of per-question values, by mabench's bootstrap (same resampling and seed)."""
    import numpy as np

    from mabench.metrics.spec import ratio_combine
    from mabench.metrics.stats import Head, bootstrap_heads

    stats = np.column_stack([np.asarray(values, dtype=float), np.ones(len(values))])
    interval = bootstrap_heads([Head(stats, ratio_combine)], len(values))[0]
    return interval.low, interval.high


def _finite(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
