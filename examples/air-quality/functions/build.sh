#!/usr/bin/env bash
# Builds the two anomaly functions (anomaly-c, anomaly-rust: S-H-ESD from
# lib/anomaly) into build/examples/, runs the cases of each with
# `sluice fn test` (the Rust one also runs its unit tests natively), and
# checks with `sluice fn run` that both give the same output on the Twitter
# series of the shared data: the reference's 131 anomalies with period 1440,
# max_anoms 0.02, both directions; and the same with the seed's parameters.
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
    "$data/data/twitter_raw_data.csv" >"$out/twitter_input.json"
}

# twitter_check NAME CONFIG COUNT: both functions on the Twitter series with
# CONFIG give equal outputs (as JSON values) with COUNT anomalies.
twitter_check() {
  local name=$1 count=$3
  echo "$2" >"$out/twitter_$name.config.json"
  for fn in anomaly_c anomaly_rust; do
    step "$sluice" fn run "$out/$fn.wasm" --input "$out/twitter_input.json" \
      --config "$out/twitter_$name.config.json" >"$out/twitter_$name.$fn.json" || return 1
  done
  python3 - "$out/twitter_$name.anomaly_c.json" "$out/twitter_$name.anomaly_rust.json" "$count" <<'PY'
import json, sys
c, rust = (json.load(open(path)) for path in sys.argv[1:3])
found = sum(c["is_anomaly"])
print("C: %d anomalies, Rust: %d, outputs %s" % (found, sum(rust["is_anomaly"]), "equal" if c == rust else "DIFFER"))
sys.exit(0 if c == rust and found == int(sys.argv[3]) else 1)
PY
}

check "anomaly-c: build and cases" function_check c anomaly_c
check "anomaly-rust: unit tests, build and cases" function_check rust anomaly_rust
check "the twins share their cases" cmp "$here/anomaly-c/cases.yaml" "$here/anomaly-rust/cases.yaml"
if twitter_input; then
  # The reference's 131; with the seed's parameters, lib/anomaly's native tests find 160.
  check "Twitter series, period 1440, max_anoms 0.02: the same 131 anomalies" \
    twitter_check batch '{"period": 1440, "max_anoms": 0.02, "direction": "both"}' 131
  check "Twitter series, the seed's alpha 1.0, max_anoms 0.5: the same 160 anomalies" \
    twitter_check seed '{"period": 1440, "alpha": 1.0, "max_anoms": 0.5}' 160
else
  echo "FAIL cannot read $data/data/twitter_raw_data.csv"
  failed=$((failed + 1))
fi

echo "anomaly-functions: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
