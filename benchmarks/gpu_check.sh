#!/usr/bin/env bash
# The backends' GPU check: one bounded script for a fresh x86-64 box with an H100/H200, Python 3.12 with torch,
# CUDA drivers and no internet. Run from the repository root:
#
#   bash benchmarks/gpu_check.sh --fetch-wheels   # HERE, with internet: missing pure-Python deps into .whl/
#   bash benchmarks/gpu_check.sh                  # THERE: everything below, outputs under $OUT (default /tmp/mabench-gpu-out)
#
# There it (1) installs wheels carried in .whl/ into /tmp/site, and mabench itself (editable, offline), (2) runs
# tests/backends (the vLLM tests need vllm importable; without it they skip and the log says so), (3) runs the
# vLLM n=k vs k-requests benchmark on the tiny test model and on a ~150M-parameter config-built model, and
# (4) the API throughput benchmark (CPU only; an uncontended figure from the box's 16 cores). Each step has its own
# `timeout`; the total stays under about 4.5 minutes even when every step runs to its limit. Files written to
# $OUT: env.txt, pytest.log, n_vs_k_tiny.json, n_vs_k_small.json, api_throughput.txt, gpu_check.log.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=(pydantic pydantic-core annotated-types typing-inspection typing-extensions platformdirs rapidfuzz)

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  # .whl/ is ignored by git and shared with benchmarks/gpu_train_check.sh: add, never delete, and keep one
  # version of each package there (pip refuses two).
  mkdir -p .whl
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl "${WHEELS[@]}"
  ls -la .whl
  exit 0
fi

OUT=${OUT:-/tmp/mabench-gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu_check.log") 2>&1
started=$(date +%s)
step() { echo "== $(( $(date +%s) - started )) s: $*"; }

step "setup"
if [[ -z "${SKIP_WHEELS:-}" ]] && compgen -G ".whl/*.whl" > /dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
timeout 60 "$PY" -m pip install -q --no-index --no-deps --no-build-isolation -e . > /dev/null \
  || echo "mabench install FAILED"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  "$PY" - <<'EOF'
import importlib
for name in ("torch", "transformers", "tokenizers", "vllm", "pydantic", "aiohttp", "typer", "rich", "scipy", "pytest"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {getattr(module, '__version__', '?')}")
    except Exception as err:  # noqa: BLE001
        print(f"{name} MISSING ({type(err).__name__}: {err})")
import torch
print("cuda available:", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
EOF
} | tee "$OUT/env.txt"
HAS_VLLM=$("$PY" -c "import vllm" 2>/dev/null && echo 1 || echo 0)
[[ $HAS_VLLM == 1 ]] || echo "vllm is not importable: the vLLM tests skip and the n=k benchmark is not run"

export TOKENIZERS_PARALLELISM=false VLLM_ENABLE_V1_MULTIPROCESSING=0
step "tests/backends (limit 110 s)"
timeout -k 5 110 "$PY" -m pytest tests/backends -q -p no:cacheprovider -rs --durations=10 > "$OUT/pytest.log" 2>&1
echo "pytest exit $?"; tail -25 "$OUT/pytest.log"

if [[ $HAS_VLLM == 1 ]]; then
  step "n=k vs k requests, tiny model (limit 40 s)"
  timeout -k 5 40 "$PY" benchmarks/vllm_n_vs_k.py --size tiny --prompts 64 --k 8 --prompt-words 200 \
    --max-new-tokens 32 --rounds 3 --enforce-eager --json "$OUT/n_vs_k_tiny.json"
  echo "exit $?"
  step "n=k vs k requests, small model (limit 65 s)"
  timeout -k 5 65 "$PY" benchmarks/vllm_n_vs_k.py --size small --prompts 128 --k 8 --prompt-words 600 \
    --max-new-tokens 64 --rounds 3 --enforce-eager --json "$OUT/n_vs_k_small.json"
  echo "exit $?"
fi

step "API throughput, fixed 100 ms latency (limit 30 s)"
timeout -k 5 30 "$PY" benchmarks/api_throughput.py --requests 1000 --requests-at-1 50 2>&1 | tee "$OUT/api_throughput.txt"
step "done"
