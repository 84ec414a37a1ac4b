#!/usr/bin/env bash
# tests/e2e/batch_twitter.sh [SLUICE]: the S-H-ESD function in a batch
# pipeline (examples/batch-twitter/pipeline.yaml): the Twitter series of the
# shared anomaly data through a file source, the function in one window and
# a file sink must flag exactly the reference's 131 anomalies, in both the
# C and the Rust builds of the function (the same readings). Needs
# build/examples/anomaly_{c,rust}.wasm (examples/air-quality/functions/build.sh).
# The last line is `batch-twitter: N passed, M failed`.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
sluice=$(realpath "${1:-$root/build/sluice}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# check NAME COMMAND...: one counted check.
check() {
  local name=$1
  shift
  "$@" || problems+=("$* failed (status $?)")
  verdict "$name"
}

# run LANG: the pipeline with anomaly_LANG.wasm into $work/LANG.ndjson.
run() {
  ANOMALY_MODULE=$root/build/examples/anomaly_$1.wasm OUT=$work/$1.ndjson \
    "$sluice" run --quiet "$root/examples/batch-twitter/pipeline.yaml" 2>"$work/$1.err" ||
    { cat "$work/$1.err" >&2; return 1; }
}

flagged() { grep -c '"is_anomaly":true' "$work/$1.ndjson"; }

finds_131() {
  local n
  n=$(flagged "$1")
  [ "$n" = 131 ] || { echo "  $1: $n anomalies, wanted 131" >&2; return 1; }
}

# Every reading comes out once, in order, flagged or not.
every_reading() {
  local rows
  rows=$(grep -c '"is_anomaly":\(true\|false\)' "$work/$1.ndjson")
  [ "$rows" = 14398 ] || { echo "  $1: $rows rows, wanted 14398" >&2; return 1; }
}

same_flags() {
  cmp -s <(grep -n '"is_anomaly":true' "$work/c.ndjson" | cut -d: -f1) \
    <(grep -n '"is_anomaly":true' "$work/rust.ndjson" | cut -d: -f1)
}

for lang in c rust; do
  if [ -f "$root/build/examples/anomaly_$lang.wasm" ]; then
    check "run_$lang" run "$lang" && check "finds_131_$lang" finds_131 "$lang" &&
      check "every_reading_$lang" every_reading "$lang"
  else
    echo "FAIL run_$lang: build/examples/anomaly_$lang.wasm is missing (examples/air-quality/functions/build.sh)"
    failed=$((failed + 1))
  fi
done
[ -f "$work/c.ndjson" ] && [ -f "$work/rust.ndjson" ] && check same_flags_c_rust same_flags

finish batch-twitter
