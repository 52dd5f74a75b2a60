#!/usr/bin/env bash
# One command from a fresh clone to a full test run: prerequisites, build, the XCTest suites
# (unit, golden cases through the engine, real-socket HTTP tests, the bad-input corpus against the real server,
# a short load-and-faults run), every golden case through the CLI judged by the golden compare.py (safetensors
# and .pth), the Python client against the real server, and the lints (schemathesis among them).
#
# Nothing may skip: every tool a test needs is installed here (torch etc. in the venv of scripts/python-env.sh,
# whose python is exported as WEIGHTINIT_TEST_PYTHON), so a skipped test means a broken set-up and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=/dev/null
source scripts/prerequisites.sh
# torch is needed to judge .pth output (torch.load) and for the Python client's round-trip tests.
python="$(WITH_TORCH=1 scripts/python-env.sh)"
export WEIGHTINIT_TEST_PYTHON="$python"
export CI="${CI:-true}"   # the tests turn "tool missing" into a failure, not a skip
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

# no_skips LOG WHAT: fails when the run in LOG skipped anything (XCTest, swift-testing or pytest wording).
no_skips() {
  local skipped
  skipped="$(grep -E "' skipped|with [1-9][0-9]* tests? skipped| skipped after |[0-9]+ skipped|^SKIPPED" "$1" || true)"
  if [ -n "$skipped" ]; then
    echo "FAIL $2: tests were skipped (a tool the test command should provide is missing):" >&2
    echo "$skipped" >&2
    exit 1
  fi
}

swift build --build-tests
swift test --skip-build 2>&1 | tee "$log"
no_skips "$log" "swift test"
scripts/golden-cli.sh "$python"
WEIGHTINIT_BINARY="$PWD/.build/debug/weightinit" clients/python/run-tests.sh -rs 2>&1 | tee "$log"
no_skips "$log" "clients/python tests"
# Dockerfile, manifests, OpenAPI document (checked against the running server, and by schemathesis), runtime libraries.
# Load and faults, short version (~1 min): mixed clients and corpus requests, slow and vanishing readers, idle
# connections, then SIGTERM mid-stream (scripts/load_faults.py; the full 60 s / 64-client run is in docs/reliability.md).
"$python" scripts/load_faults.py --binary .build/debug/weightinit --seconds 15 --clients 16 --json "$log.load.json" >/dev/null \
  || { cat "$log.load.json" 2>/dev/null; echo "FAIL load and faults" >&2; exit 1; }
echo "PASS load and faults (scripts/load_faults.py --seconds 15 --clients 16)"
rm -f "$log.load.json"
WEIGHTINIT_LINT_BIN="$PWD/.build/debug/weightinit" scripts/lint.sh
