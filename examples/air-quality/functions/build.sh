#!/usr/bin/env bash
# Builds the two anomaly functions (anomaly-c, anomaly-rust: S-H-ESD from
# lib/anomaly) into build/examples/, runs the cases of each with
# `sluice fn test` (the Rust one also runs its unit tests natively), and
# checks that both find the same 131 anomalies in the Twitter series of the
# shared data with `sluice fn run` (period 1440, max_anoms 0.02, both).
#   bash examples/air-quality/functions/build.sh [SLUICE]
# SLUICE defaults to build/sluice; ANOMALY_DIR overrides the shared data
# (default ../shared/anomaly next to the repository). The last line is
# `anomaly-functions: N passed, M failed`; the exit status is 1 on failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
sluice=$(realpath "${1:-$root/build/sluice}") || exit 2
data=${ANOMALY_DIR:-$root/../shared/anomaly}
out=$root/build/examples
mkdir -p "$out"

cargo=(env RUSTC=/usr/bin/rustc /usr/bin/cargo)
clang=${WASM_CC:-clang-19}
passed=0
failed=0

# Runs a step, printing its command first.
step() {
  echo "+ $*" >&2
  "$@"
}

# check NAME COMMAND...: one counted check.
check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    failed=$((failed + 1))
  fi
}

build_c() {
  step "$clang" --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -Wall -Wextra -Werror \
    -ffp-contract=off -fno-fast-math -mexec-model=reactor -I"$root/sdk/c" -I"$root/lib/anomaly" \
    -o "$out/anomaly_c.wasm" "$here/anomaly-c/anomaly.c" "$root"/lib/anomaly/{sort,stl,tquantile,shesd}.c
}

build_rust() {
  (cd "$here/anomaly-rust" &&
    step "${cargo[@]}" test --offline --quiet --target-dir "$out/target" &&
    step "${cargo[@]}" build --release --target wasm32-unknown-unknown --offline \
      --target-dir "$out/target") &&
    step cp "$out/target/wasm32-unknown-unknown/release/anomaly_rust.wasm" "$out/anomaly_rust.wasm"
}

# function LANG NAME: builds anomaly-LANG and runs its cases.
function_check() {
  "build_$1" && step "$sluice" fn test "$out/$2.wasm" "$here/anomaly-$1/cases.yaml"
}

# The Twitter series as the functions' columnar input.
twitter_input() {
  awk -F, 'NR > 1 { v = v sep $2; t = t sep "\"" $1 "\""; sep = "," }
           END { print "{\"air_quality\": [" v "], \"timestamp\": [" t "]}" }' \
    "$data/data/twitter_raw_data.csv" >"$out/twitter_input.json" &&
    echo '{"period": 1440, "max_anoms": 0.02, "direction": "both"}' >"$out/twitter_config.json"
}

# Both functions on the Twitter series: equal outputs (as JSON values), 131 anomalies.
twitter_check() {
  twitter_input || return 1
  for name in anomaly_c anomaly_rust; do
    step "$sluice" fn run "$out/$name.wasm" --input "$out/twitter_input.json" \
      --config "$out/twitter_config.json" >"$out/twitter_$name.json" || return 1
  done
  python3 - "$out/twitter_anomaly_c.json" "$out/twitter_anomaly_rust.json" <<'PY'
import json, sys
c, rust = (json.load(open(path)) for path in sys.argv[1:])
found = [i for i, flag in enumerate(c["is_anomaly"]) if flag]
print("C: %d anomalies, Rust: %d" % (len(found), sum(rust["is_anomaly"])))
sys.exit(0 if c == rust and len(found) == 131 else 1)
PY
}

check "anomaly-c: build and cases" function_check c anomaly_c
check "anomaly-rust: unit tests, build and cases" function_check rust anomaly_rust
check "the twins share their cases" cmp "$here/anomaly-c/cases.yaml" "$here/anomaly-rust/cases.yaml"
check "both find the same 131 anomalies in the Twitter series" twitter_check

echo "anomaly-functions: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
