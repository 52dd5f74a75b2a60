#!/usr/bin/env bash
# A project-local virtual environment (.venv, git-ignored) for the test tools: numpy for compare.py,
# and, with WITH_TORCH=1, torch + safetensors for torch.load checks of our .pth output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import numpy" 2>/dev/null || "$venv/bin/pip" install -q numpy
if [ "${WITH_TORCH:-0}" = "1" ]; then
  "$venv/bin/python" -c "import torch, safetensors" 2>/dev/null || "$venv/bin/pip" install -q torch safetensors
fi
echo "$venv/bin/python"
