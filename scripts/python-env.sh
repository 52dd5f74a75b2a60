#!/usr/bin/env bash
# The test tools' virtual environment: numpy, torch, torchvision, timm, transformers, mmengine, mmpretrain
# (scripts/requirements-test.txt, pinned). It lives outside the clone, keyed by a hash of the requirements,
# so a fresh clone (CI) reuses it instead of downloading several GB of torch again:
# ${WEIGHTINIT_VENV:-${XDG_CACHE_HOME:-~/.cache}/weightinit/venv-HASH}. Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/scripts/requirements-test.txt"
hash="$(sha256sum "$req" | cut -c1-12)"
venv="${WEIGHTINIT_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/weightinit/venv-$hash}"
if ! [ -f "$venv/.complete" ]; then
  echo "setting up the test environment in $venv (pip install -r scripts/requirements-test.txt)" >&2
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
