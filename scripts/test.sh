#!/usr/bin/env bash
# One command from a fresh clone to a full test run: prerequisites, build, the XCTest suites
# (unit, golden cases through the engine, real-socket HTTP tests), then every golden case through the CLI,
# judged by the golden compare.py.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
python="$(scripts/python-env.sh)"
export WEIGHTINIT_TEST_PYTHON="$python"
swift build --build-tests
swift test --skip-build
scripts/golden-cli.sh "$python"
