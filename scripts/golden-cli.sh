#!/usr/bin/env bash
# Every golden case through the command line, as a user would run it:
#   weightinit init CASE/spec.json -o out.safetensors && compare.py CASE out.safetensors
#   weightinit init CASE/spec.json -o out.pth         && compare.py CASE out.pth   (when PYTHON has torch)
# The outputs are judged in one python process (scripts/compare_many.py imports compare.py once).
# Error cases must exit non-zero with a message. One .pth is also checked with `unzip -t` (when unzip exists).
# Prints "N passed, M failed" (each format of each case counts once).
#   scripts/golden-cli.sh [PYTHON]    # e.g. .venv/bin/python; default python3 (numpy needed; torch for .pth)
set -uo pipefail
cd "$(dirname "$0")/.."
python="${1:-python3}"
bin="${WEIGHTINIT_BIN:-.build/debug/weightinit}"   # WEIGHTINIT_BIN: another build folder
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
passed=0; failed=0
formats="safetensors"
if "$python" -c "import torch" 2>/dev/null; then
  formats="safetensors pth"
else
  echo "note: $python has no torch: skipping the .pth checks"
fi
zipchecked=""
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
  for fmt in $formats; do
    if ! "$bin" init "$dir/spec.json" -o "$out/$name.$fmt" 2>"$out/err"; then
      echo "FAIL $name ($fmt): $(cat "$out/err")"; failed=$((failed+1)); continue
    fi
    printf '%s\t%s\n' "$dir" "$out/$name.$fmt" >> "$out/judge.list"
    if [ "$fmt" = pth ] && [ -z "$zipchecked" ] && command -v unzip >/dev/null; then
      zipchecked=1
      if unzip -tq "$out/$name.pth" >"$out/unzip" 2>&1; then
        echo "unzip -t $name.pth: $(cat "$out/unzip")"
      else
        echo "FAIL unzip -t $name.pth: $(cat "$out/unzip")"; failed=$((failed+1))
      fi
    fi
  done
done
if [ -s "$out/judge.list" ]; then
  "$python" scripts/compare_many.py "$out/judge.list" > "$out/judged" 2>&1
  status=$?
  passed=$((passed + $(grep -c '^PASS' "$out/judged")))
  failed=$((failed + $(grep -c '^FAIL' "$out/judged")))
  grep -v '^PASS' "$out/judged"
  # A judge that crashed counts as a failure even if it printed no FAIL line.
  if [ "$status" -ne 0 ] && ! grep -q '^FAIL' "$out/judged"; then failed=$((failed+1)); fi
fi
echo "golden cases through the CLI:"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
