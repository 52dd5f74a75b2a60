#!/usr/bin/env bash
# One command from a fresh clone to a full test run: prerequisites, build, the XCTest suites
# (unit, golden cases through the engine, real-socket HTTP tests), every golden case through the CLI judged
# by the golden compare.py (safetensors and .pth), the Python client against the real server, and the lints.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
# torch is needed to judge .pth output (torch.load) and for the Python client's round-trip tests.
python="$(WITH_TORCH=1 scripts/python-env.sh)"
export WEIGHTINIT_TEST_PYTHON="$python"
swift build --build-tests
swift test --skip-build
scripts/golden-cli.sh "$python"
WEIGHTINIT_BINARY="$PWD/.build/debug/weightinit" clients/python/run-tests.sh
# Dockerfile, manifests, OpenAPI document (checked against the running server), runtime libraries.
WEIGHTINIT_LINT_BIN="$PWD/.build/debug/weightinit" scripts/lint.sh
