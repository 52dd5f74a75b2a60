#!/usr/bin/env bash
# The benchmark of issue 9, in one invocation: PyTorch in-process vs the service over HTTP vs the CLI on
# gpt2-small (specs.py gpt 12 768 50304), resnet50 and gpt-1.3b (specs.py gpt 24 2048 50304), all writing to tmpfs,
# medians of REPEAT alternating runs; plus float32 normal_/uniform_ kernel throughput against torch's (1 thread).
#   bench/run.sh                      # everything (~6 min on 2 cores)
#   bench/run.sh gpt2-small resnet50  # some cases
#   QUICK=1 bench/run.sh              # resnet50 only, 2 runs: a smoke test
# Env: PYTHON (default scripts/python-env.sh), SCRATCH (release build, default .build-bench), SHARED_BENCH
#      (specs.py, torch_baseline.py's torchref: default ../shared/bench), BENCH_TMP (tmpfs folder, default
#      /dev/shm/weightinit-bench.XXXX, deleted), REPEAT (default 5), WORKERS (default: CPU count), NO_BUILD=1.
# Prints the tables and writes bench/results.md (with date, commit, machine and the load seen).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
py="${PYTHON:-$("$root/scripts/python-env.sh")}"
scratch="${SCRATCH:-$root/.build-bench}"
shared="${SHARED_BENCH:-$root/../shared/bench}"
tmp="${BENCH_TMP:-$(mktemp -d /dev/shm/weightinit-bench.XXXXXX)}"
repeat="${REPEAT:-5}"
workers="${WORKERS:-$(nproc)}"
[ -f "$shared/specs.py" ] || { echo "missing $shared/specs.py (set SHARED_BENCH)" >&2; exit 2; }
trap 'rm -rf "$tmp"' EXIT
cases=("$@")
if [ -n "${QUICK:-}" ]; then repeat=2; [ ${#cases[@]} -gt 0 ] || cases=(resnet50); fi

if [ -z "${NO_BUILD:-}" ]; then
  echo "== building release ($scratch)" >&2
  swift build -c release --product weightinit --scratch-path "$scratch" >&2
  swift build -c release --product kernelbench --scratch-path "$scratch" >&2
fi

# Uncommitted changes to anything but this output file (checked before the tables overwrite it).
dirty="$(git diff --quiet -- . ':(exclude)bench/results.md' 2>/dev/null || echo ' (dirty)')"
echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
tables="$("$py" bench/bench.py --bin "$scratch/release" --shared "$shared" --tmp "$tmp" --repeat "$repeat" \
  --workers "$workers" --json "$tmp/report.json" "${cases[@]}")"
load="$("$py" -c "import json; r = json.load(open('$tmp/report.json')); print('before', ' '.join(r['load_before']), '/ after', ' '.join(r['load_after']))")"
cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
torchv="$("$py" -c 'import torch, mmengine; print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), mmengine {mmengine.__version__}")')"
{
  echo "# Benchmark: weightinit vs PyTorch in-process"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$dirty"
  echo "- machine: $(hostname), $cpu, $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -sr); load average (1/5/15 min) $load"
  echo "- $torchv; $(swift --version 2>&1 | head -1); weightinit --workers $workers"
  echo "- command: \`bench/run.sh${*:+ $*}\` (REPEAT=$repeat): medians of $repeat alternating runs (torch, HTTP, CLI), outputs on tmpfs ($tmp)"
  echo "- torch: \`bench/torch_baseline.py\` in-process (manual_seed + build + init_weights + save_file; excludes interpreter start"
  echo "  and \`import torch\`); HTTP: POST /initialize to \`weightinit serve\`, body streamed to a file by \`bench/bench.py fetch\`, from"
  echo "  the request to the closed file; CLI: the whole \`weightinit init\` process. CPU = user + sys. Server peak RSS: VmHWM over the case."
  echo "  Bytes: torch vs HTTP compared tensor by tensor, HTTP vs CLI byte for byte (first run)."
  echo
  echo "$tables"
} > bench/results.md
cat bench/results.md
