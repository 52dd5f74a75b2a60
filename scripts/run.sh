#!/usr/bin/env bash
# One command from a fresh clone to a running service: prerequisites, release build, `weightinit serve`.
# Extra arguments go to `weightinit serve` (e.g. --host 0.0.0.0 --port 9000); see `weightinit serve --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/prerequisites.sh
swift build -c release --product weightinit
exec .build/release/weightinit serve "$@"
