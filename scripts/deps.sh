#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, test and benchmark,
# skipping those already present. Runs as root, or through sudo.
set -euo pipefail

packages=(
  make clang-19 lld-19 gcc      # compilers
  libjansson-dev                # JSON (spec-test scripts, function tests)
  libyaml-dev                   # YAML (pipelines, test cases)
  wabt                          # wast2json, for the spec suite
  wasi-libc libclang-rt-19-dev-wasm32  # C to wasm32-wasi (tests, benchmarks)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
