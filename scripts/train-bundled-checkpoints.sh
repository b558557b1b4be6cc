#!/usr/bin/env bash
# Retrain both bundled checkpoints (mabench/checkpoints/multi-rlcr and mabench/checkpoints/rlcr) from the embedded
# SmolLM2-135M-Instruct on 2 CPU cores: LoRA adapter, format warm-up, then GRPO (configs/bundled/*.yaml).
#
#   bash scripts/train-bundled-checkpoints.sh PATH/TO/ambigqa/dev_light.json [OUT_DIR]
#
# DEV is AmbigQA's official light dev split (2,002 questions); the training questions are the first `limit` of it
# once the bundled evaluation sample is left out (mabench/train/splits.py, docs/bundled-checkpoints.md). The two
# runs go one after the other into OUT_DIR (default: ckpt/bundled); torch uses `cpu_threads` of the configs (1:
# they were trained on a shared machine; 2 is faster on an idle 2-core one). With --install the shipped files
# are copied into mabench/checkpoints/<method>/.
# Needs the train extra and peft: pip install -c constraints.txt -e ".[hf,train]" (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || ! -f "$1" ]]; then
  echo "usage: bash scripts/train-bundled-checkpoints.sh PATH/TO/dev_light.json [OUT_DIR] [--install]" >&2
  exit 2
fi
DEV=$1
OUT=${2:-ckpt/bundled}
INSTALL=${3:-}
export TOKENIZERS_PARALLELISM=false
for method in multi-rlcr rlcr; do
  start=$(date +%s)
  mabench train --config "configs/bundled/$method.yaml" --data-path "$DEV" --out "$OUT/$method"
  echo "$method: $(( $(date +%s) - start )) s (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
  if [[ "$INSTALL" == "--install" ]]; then
    mkdir -p "mabench/checkpoints/$method"
    cp "$OUT/$method"/{adapter_config.json,adapter_model.safetensors,mabench_train.json,train_log.jsonl,warmup_log.jsonl} \
      "mabench/checkpoints/$method/"
  fi
done
