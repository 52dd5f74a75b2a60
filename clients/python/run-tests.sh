#!/usr/bin/env bash
# Installs weightinit-client (editable, with its test extra: pytest, torch, mmengine-lite) into the project venv
# and runs its tests against the real server binary (WEIGHTINIT_BINARY, else .build/debug or .build/release).
# Extra arguments go to pytest.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="$(WITH_TORCH=1 "$here/../../scripts/python-env.sh")"
"$python" -c "import setuptools" 2>/dev/null || "$python" -m pip install -q "setuptools>=64"
if ! "$python" -c "import weightinit_client, pytest, mmengine, requests" 2>/dev/null \
   || [ "$here/pyproject.toml" -nt "$here/.installed" ]; then
  "$python" -m pip install -q --no-build-isolation -e "$here[test]"
  touch "$here/.installed"
fi
cd "$here"
# The reference torch takes Intel MKL's SSE4.2 code path, the only one the service reproduces for orthogonal_ (MKL's
# path on AMD CPUs; on Intel CPUs it would take its AVX2 or AVX-512 path: docs/spec.md "MKL"; test_mkl.py also runs
# torch on those, whose erfinv_ is reproduced too).
export MKL_ENABLE_INSTRUCTIONS=SSE4_2
exec "$python" -m pytest -q -p no:cacheprovider "$@"
