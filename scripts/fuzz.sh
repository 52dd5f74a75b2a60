#!/usr/bin/env bash
# libFuzzer (+ AddressSanitizer) on the parsers of untrusted bytes, each for a set time:
#   FuzzJSONSpec   request body: JSON parse (depth 128) + the spec → plan path
#   FuzzProgram    traced programs: JSON → program parse, validation, compile, plan → the replayed stream (small jobs)
#   FuzzCheckpoint checkpoint files: safetensors header, zip directory, torch and legacy pickles, tensor reads
#   FuzzPickle     the pickle machine alone (input = data.pkl of a valid stored torch zip)
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=120] [TARGET...]
#
# Builds Fuzz/ (its Sources/ are symlinks to the shipped targets) into .build-fuzz with -sanitize=fuzzer,address.
# Seeds: Fuzz/corpus/TARGET (committed); new inputs go to a scratch copy, not into git. A crash is saved as
# Fuzz/crashes/TARGET-crash-*: add it to Fuzz/regressions/TARGET/ (replayed by `scripts/fuzz.sh --regressions`
# and by scripts/test.sh) once fixed. Prints "TARGET: N execs, crashes: M" and exits non-zero on any crash.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root="$(pwd)"
bin="$root/.build-fuzz/debug"
(cd Fuzz && swift build --scratch-path "$root/.build-fuzz" -Xswiftc -sanitize=fuzzer,address 2>&1 | grep -E "error|Compiling|Build complete" | tail -n 3) \
  || exit 1
targets_all=(FuzzJSONSpec FuzzProgram FuzzCheckpoint FuzzPickle)

if [ "${1:-}" = "--regressions" ]; then
  failed=0
  for t in "${targets_all[@]}"; do
    dir="Fuzz/regressions/$t"
    [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || continue
    if "$bin/$t" -runs=0 "$dir"/* >/dev/null 2>&1; then echo "$t: $(find "$dir" -type f ! -name .keep | wc -l) regression inputs pass"
    else echo "FAIL $t regression inputs"; failed=1; fi
  done
  exit "$failed"
fi

seconds="${1:-120}"; shift || true
targets=("$@"); [ ${#targets[@]} -eq 0 ] && targets=("${targets_all[@]}")
mkdir -p Fuzz/crashes
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  cp -r "Fuzz/corpus/$t" "$work/$t"
  "$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="Fuzz/crashes/$t-" "$work/$t" >"$work/$t.log" 2>&1
  rc=$?
  execs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/$t.log" | grep -Eo '[0-9]+$' || echo '?')"
  crashes="$(find Fuzz/crashes -name "$t-*" | wc -l)"
  echo "$t: $execs execs in ${seconds}s, corpus $(find "Fuzz/corpus/$t" -type f | wc -l) -> $(find "$work/$t" -type f | wc -l), crashes: $crashes (exit $rc)"
  if [ "$rc" -ne 0 ]; then status=1; grep -E "ERROR|SUMMARY|Fatal|==[0-9]+==" "$work/$t.log" | head -n 20; fi
done
exit "$status"
