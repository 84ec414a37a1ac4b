#!/usr/bin/env bash
# Installs the Debian packages Sluice needs to build, test and benchmark,
# skipping those already present. Runs as root, or through sudo.
set -euo pipefail

packages=(
  make clang-19 lld-19 gcc      # compilers
  llvm-19                       # llvm-ar-19 for the Rust anomaly function's C part
  libjansson-dev                # JSON (spec-test scripts, function tests)
  libyaml-dev                   # YAML (pipelines, test cases)
  wabt                          # wast2json, for the spec suite
  libsqlite3-dev sqlite3        # the sqlite sink; the CLI checks it in tests
  libcurl4-openssl-dev          # the http sink
  libpcre2-dev                  # the parse_regex transform
  zlib1g-dev                    # gzip bodies of the http sink
  libmicrohttpd-dev             # the http source
  libpq-dev postgresql          # the postgres sink; a real server for its tests
  libarchive-dev libsodium-dev  # artifacts: archives, ed25519, sha256, tokens
  curl python3                  # clients in the network sources tests
  libmosquitto-dev mosquitto mosquitto-clients  # the mqtt source and sink; their tests
  libnats-dev nats-server       # the nats source and sink; their tests
  libssl-dev openssl            # TLS of the mqtt source; certificates in its tests
  wasi-libc libclang-rt-19-dev-wasm32  # C to wasm32-wasi (tests, benchmarks)
  rustc cargo libstd-rust-dev-wasm32 librust-serde-dev librust-serde-json-dev
  librust-serde-derive-dev      # Rust SDK and examples (wasm32, offline crates)
  nodejs                        # the dashboard's front end (npm ci) and its test
  chromium                      # the dashboard's test, headless
)
# A Node.js from elsewhere (NodeSource) brings its own npm, which Debian's
# npm package conflicts with.
command -v npm >/dev/null 2>&1 || packages+=(npm)

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
