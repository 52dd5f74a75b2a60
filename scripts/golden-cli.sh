#!/usr/bin/env bash
# Every golden case through the command line, as a user would run it:
#   weightinit init CASE/spec.json -o out.safetensors && compare.py CASE out.safetensors
# Error cases must exit non-zero with a message. Prints "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
bin=".build/debug/weightinit"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
passed=0; failed=0
for dir in Tests/EngineTests/Fixtures/golden/*/ Tests/EngineTests/Fixtures/extra/*/; do
  [ -f "$dir/expected.json" ] || continue
  name="$(basename "$dir")"
  if "$python" -c "import json,sys; sys.exit(0 if json.load(open('$dir/expected.json'))['error'] else 1)"; then
    if msg=$("$bin" init "$dir/spec.json" -o "$out/$name.safetensors" 2>&1); then
      echo "FAIL $name: expected a rejection"; failed=$((failed+1))
    elif [ -z "$msg" ]; then
      echo "FAIL $name: rejected without a message"; failed=$((failed+1))
    else
      passed=$((passed+1))
    fi
    continue
  fi
  for fmt in safetensors; do
    if ! "$bin" init "$dir/spec.json" -o "$out/$name.$fmt" 2>"$out/err"; then
      echo "FAIL $name ($fmt): $(cat "$out/err")"; failed=$((failed+1)); continue
    fi
    if r=$("$python" scripts/compare.py "$dir" "$out/$name.$fmt"); then passed=$((passed+1)); else echo "$r"; failed=$((failed+1)); fi
  done
done
echo "golden cases through the CLI:"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
