#!/usr/bin/env bash
# The test tools' virtual environment: numpy, torch, torchvision, timm, transformers, mmengine, mmpretrain,
# schemathesis (scripts/requirements-test.txt, pinned). It lives outside the clone, so a fresh clone (CI)
# reuses it instead of downloading several GB of torch again: ${WEIGHTINIT_VENV:-${XDG_CACHE_HOME:-~/.cache}/weightinit/venv}.
# The venv is brought up to date whenever the requirements file changes (a stamp per hash of the file), with
# `pip install -r`, which only adds what is missing: appending a tool does not rebuild the 6 GB of torch.
# Concurrent callers (several clones on one machine) serialize on a lock file. Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
req="$root/scripts/requirements-test.txt"
hash="$(sha256sum "$req" | cut -c1-12)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/weightinit"
venv="${WEIGHTINIT_VENV:-$cache/venv}"
if ! [ -f "$venv/.complete-$hash" ]; then
  mkdir -p "$cache" "$(dirname "$venv")"
  (
    flock 9
    if ! [ -f "$venv/.complete-$hash" ]; then
      echo "bringing the test environment in $venv up to date (pip install -r scripts/requirements-test.txt)" >&2
      [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
      "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" >&2
      touch "$venv/.complete-$hash"
    fi
  ) 9>"$cache/.lock"
fi
echo "$venv/bin/python"
