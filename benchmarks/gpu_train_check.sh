#!/usr/bin/env bash
# GPU check of `mabench train`: a short multi-rlcr GRPO run of SmolLM2-135M-Instruct on the ddxplus sample
# (ambigqa when ddxplus is not installed), with TRL's vLLM generation (use_vllm, vllm_mode colocate) when vLLM
# is importable; writes the log and steps per second to $OUT. Bounded by `timeout` to about 4 minutes.
#
#   bash benchmarks/gpu_train_check.sh MODEL_DIR [STEPS]
#
# Run from the repo root on a fresh x86-64 box with one H100/H200, Python 3.12, no internet.
#   MODEL_DIR  the SmolLM2-135M-Instruct Hugging Face folder (here: `python -c "from
#              mabench.backends.default_model import ensure_default_model as e; print(e())"`). A folder with
#              only config.json and the tokenizer files (no weights) also works: the script then builds the
#              same architecture with random weights and says so (steps/s are comparable; completions then
#              always run to the length limit).
#   STEPS      optimizer steps (default 4).
# Wheels for what the box lacks (trl, datasets, pydantic, ...) go in .whl/ (see benchmarks/RESULTS.md);
# they are installed into /tmp/site. Outputs: $OUT/{gpu_train_check.log, summary.json, train_log.jsonl,
# mabench_train.json, grpo_config.json, train-gpu-check.yaml}.
set -uo pipefail

MODEL_DIR=${1:?usage: bash benchmarks/gpu_train_check.sh MODEL_DIR [STEPS]}
STEPS=${2:-4}
OUT=${OUT:-/tmp/gpu-train-check}
TRAIN_TIMEOUT=${TRAIN_TIMEOUT:-170}
PY=${PYTHON:-python3}
CKPT=/tmp/gpu-train-check-ckpt
mkdir -p "$OUT"
LOG="$OUT/gpu_train_check.log"
: >"$LOG"
say() { echo "[gpu_train_check $(date +%H:%M:%S)] $*" | tee -a "$LOG"; }
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

say "model dir: $MODEL_DIR; steps: $STEPS; out: $OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee -a "$LOG"

# 1. Carried wheels, then mabench itself (editable: no build of a wheel, entry points registered).
# SKIP_INSTALL=1 uses the environment as it is (a smoke test where everything is installed).
if [ -z "${SKIP_INSTALL:-}" ] && compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >>"$LOG" 2>&1 || { say "FAILED: installing .whl/*.whl"; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "${SKIP_INSTALL:-}" ]; then
  $PY -m pip install -q --no-index --no-deps --no-build-isolation -e . >>"$LOG" 2>&1 \
    || { say "FAILED: pip install -e . (needs setuptools>=68 and wheel)"; exit 1; }
fi

# 2. What is there: versions, vLLM, the task, the model.
$PY - "$MODEL_DIR" "$OUT" >>"$LOG" 2>&1 <<'EOF'
import json, sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
versions = {}
for name in ("torch", "transformers", "trl", "accelerate", "datasets", "pyarrow", "huggingface_hub", "vllm", "pydantic",
             "mabench"):
    try:
        versions[name] = version(name)
    except PackageNotFoundError:
        versions[name] = None
try:
    import vllm  # noqa: F401
    use_vllm = True
except Exception as err:  # missing, or built for another torch
    use_vllm, versions["vllm_import_error"] = False, f"{type(err).__name__}: {err}"[:300]
from mabench.tasks import available_tasks
task = "ddxplus" if "ddxplus" in available_tasks() else "ambigqa"
weights = any(model_dir.glob("*.safetensors")) or any(model_dir.glob("*.bin"))
model = str(model_dir)
if not weights:  # a config-and-tokenizer skeleton: same architecture, random weights
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    torch.manual_seed(0)
    built = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir), dtype=torch.bfloat16)
    model = "/tmp/gpu-train-check-model"
    built.save_pretrained(model)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(model)
plan = {"task": task, "use_vllm": use_vllm, "model": model, "weights": "real" if weights else "random",
        "versions": versions}
(out / "plan.json").write_text(json.dumps(plan, indent=2))
print(json.dumps(plan, indent=2))
EOF
[ -f "$OUT/plan.json" ] || { say "FAILED: environment check (see log)"; exit 1; }
read -r TASK USE_VLLM MODEL < <($PY -c "import json; p=json.load(open('$OUT/plan.json')); \
print(p['task'], str(p['use_vllm']).lower(), p['model'])")
[ "$TASK" = ddxplus ] || say "NOTE: the ddxplus task is not installed; falling back to ambigqa"
[ "$USE_VLLM" = true ] || say "NOTE: vLLM is not importable here; generation falls back to transformers (see log)"

# 3. A short multi-rlcr run: the paper's loss and rewards, fewer and shorter rollouts to fit the time box.
# SMOKE=1 shrinks it to a CPU smoke test of this script (no bf16, 2 generations of 16 tokens).
GENS=16 BATCH=16 ACCUM=4 LENGTH=256 BF16=true
[ -n "${SMOKE:-}" ] && GENS=2 BATCH=2 ACCUM=1 LENGTH=16 BF16=false
cat >"$OUT/train-gpu-check.yaml" <<EOF
model: $MODEL
task: $TASK
method: multi-rlcr
k: 3
limit: 64
seed: 43
dtype: bfloat16
grpo:
  learning_rate: 1.0e-6
  warmup_ratio: 0.05
  num_generations: $GENS
  temperature: 0.7
  beta: 0.0
  loss_type: dapo
  scale_rewards: none
  max_completion_length: $LENGTH
  max_steps: $STEPS
  per_device_train_batch_size: $BATCH
  gradient_accumulation_steps: $ACCUM
  use_vllm: $USE_VLLM
  vllm_mode: colocate
  vllm_gpu_memory_utilization: 0.3
  bf16: $BF16
  gradient_checkpointing: false
  logging_steps: 1
  save_strategy: "no"
EOF
say "training: $TASK, multi-rlcr, vLLM=$USE_VLLM, $STEPS steps of $((BATCH * ACCUM / GENS)) prompts x $GENS generations (timeout ${TRAIN_TIMEOUT}s)"
rm -rf "$CKPT"
START=$(date +%s.%N)
timeout --signal=INT --kill-after=15 "$TRAIN_TIMEOUT" \
  $PY -m mabench train --config "$OUT/train-gpu-check.yaml" --out "$CKPT" >>"$LOG" 2>&1
RC=$?
END=$(date +%s.%N)
say "mabench train exited with $RC"
for f in train_log.jsonl mabench_train.json grpo_config.json; do [ -f "$CKPT/$f" ] && cp "$CKPT/$f" "$OUT/"; done

# 4. Steps per second: from the training record (whole run) and from the per-step times in the log.
$PY - "$OUT" "$RC" "$START" "$END" <<'EOF' | tee -a "$LOG"
import json, sys
from pathlib import Path

out, rc, start, end = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
plan = json.loads((out / "plan.json").read_text())
log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()] \
    if (out / "train_log.jsonl").is_file() else []
steps = [e for e in log if "reward" in e]
record = json.loads((out / "mabench_train.json").read_text()) if (out / "mabench_train.json").is_file() else {}
step_times = [e["step_time"] for e in steps if "step_time" in e]
later = step_times[1:] or step_times
summary = {
    **plan, "exit_code": rc, "steps_done": len(steps), "wall_s_including_load": round(end - start, 1),
    "train_runtime_s": record.get("train_runtime_s"), "steps_per_second": record.get("steps_per_second"),
    "steps_per_second_after_first_step": round(len(later) / sum(later), 4) if later else None,
    "step_times_s": [round(t, 2) for t in step_times],
    "completion_mean_length": [e.get("completions/mean_length") for e in steps],
    "rewards": [{k.split("/")[1]: e[k] for k in e if k.startswith("rewards/") and k.endswith("/mean")} for e in steps],
}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
EOF
rm -f "$OUT/plan.json"
exit "$RC"
