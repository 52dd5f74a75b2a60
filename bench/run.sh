#!/usr/bin/env bash
# weightinit vs PyTorch in-process (build + init_weights + save_file), same spec, same run.
#   bench/run.sh                 # all cases
#   bench/run.sh gpt-small vit-b # only these cases
#   QUICK=1 bench/run.sh         # small sizes (smoke test, < 1 min)
# Env: PYTHON (default .venv/bin/python), SCRATCH (default .build-bench), BENCH_TMP (outputs, deleted per case),
#      SHARED_BENCH (specs.py, default ../shared/bench), REPEAT (runs per side, best time kept; default 2),
#      NO_BUILD=1, KEEP=1.
# Prints a table and writes it to bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
py="${PYTHON:-$("$root/scripts/python-env.sh")}"
scratch="${SCRATCH:-$root/.build-bench}"
shared="${SHARED_BENCH:-$root/../shared/bench}"
tmp="${BENCH_TMP:-$(mktemp -d /tmp/weightinit-bench.XXXXXX)}"
mkdir -p "$tmp"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
repeat="${REPEAT:-2}"
[ -f "$shared/specs.py" ] || { echo "missing $shared/specs.py (set SHARED_BENCH)" >&2; exit 2; }

if [ -z "${NO_BUILD:-}" ]; then
  echo "== building release ($scratch)" >&2
  swift build -c release --product weightinit --scratch-path "$scratch" >&2
fi
bin="$scratch/release/weightinit"

# name → spec command (sizes fit a 2-core / 24 GiB box: the whole run takes a few minutes)
declare -A spec
if [ -n "${QUICK:-}" ]; then
  spec[gpt-tiny]="$py $shared/specs.py gpt 2 256 4096"
  spec[resnet50]="$py $shared/specs.py resnet50"
  spec[vit-tiny]="$py bench/vit_spec.py 2 192"
  all=(gpt-tiny resnet50 vit-tiny)
else
  spec[gpt2-small]="$py $shared/specs.py gpt 12 768 50304"    # 163M (lm_head untied)
  spec[gpt2-medium]="$py $shared/specs.py gpt 24 1024 50304"  # 406M
  spec[resnet50]="$py $shared/specs.py resnet50"              # 25.6M
  spec[vit-b16]="$py bench/vit_spec.py 12 768"                # 86.6M, TruncNormal
  spec[vit-l16]="$py bench/vit_spec.py 24 1024"               # 304M, TruncNormal
  all=(gpt2-small gpt2-medium resnet50 vit-b16 vit-l16)
fi
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("${all[@]}")

status=0
for c in "${cases[@]}"; do
  [ -n "${spec[$c]:-}" ] || { echo "unknown case $c (known: ${all[*]})" >&2; exit 2; }
  echo "== $c" >&2
  ${spec[$c]} > "$tmp/$c.spec.json"
  rm -f "$tmp/$c.torch.json" "$tmp/$c.ours.json"
  for _ in $(seq "$repeat"); do  # alternate the two sides
    "$py" bench/measure.py run "$tmp/$c.torch.json" -- "$py" bench/torch_baseline.py "$tmp/$c.spec.json" "$tmp/$c.torch.safetensors" \
      || { echo "torch baseline failed on $c" >&2; status=1; }
    "$py" bench/measure.py run "$tmp/$c.ours.json" -- "$bin" init "$tmp/$c.spec.json" -o "$tmp/$c.ours.safetensors" \
      || { echo "weightinit failed on $c" >&2; status=1; }
  done
  "$py" bench/measure.py compare-json "$tmp/$c.cmp.json" "$tmp/$c.spec.json" "$tmp/$c.torch.safetensors" "$tmp/$c.ours.safetensors" >&2 \
    || status=1
  [ -n "${KEEP:-}" ] || rm -f "$tmp/$c.torch.safetensors" "$tmp/$c.ours.safetensors"
done

table="$("$py" bench/measure.py table "$tmp" "${cases[@]}")"
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
torchv="$("$py" -c 'import torch, mmengine; print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), mmengine {mmengine.__version__}")')"
{
  echo "# Benchmark: weightinit vs PyTorch in-process"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "- machine: $(hostname), $cpu, $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -sr)"
  echo "- $torchv; $(swift --version 2>&1 | head -1)"
  echo "- torch: \`bench/torch_baseline.py\` (manual_seed + build + init_weights + save_file, timed in-process: excludes"
  echo "  interpreter start and \`import torch\`); ours: the whole \`weightinit init\` process (start, plan, generate, write)."
  echo "  Times: best of $repeat runs per side (wall; CPU = user + sys). Peak RSS: ru_maxrss of each process (max over runs)."
  echo "  output: byte comparison of every tensor, torch vs ours (TruncNormal specs: ≤ 2 ulp in ≤ 0.1 % of elements)."
  echo
  echo "$table"
} > bench/results.md
cat bench/results.md
exit $status
