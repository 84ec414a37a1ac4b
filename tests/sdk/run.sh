#!/usr/bin/env bash
# The SDK tests: bash tests/sdk/run.sh SLUICE
#
#   c-native      sdk/c/sluice_fn.h (reader, writer, formatter, ABI glue),
#                 natively under ASan and UBSan: c/test_sluice_fn.c
#   rust-native   the exports that register! generates, natively: cargo test
#                 in rust/ (sluice_fn::testing stands in for the host)
#   rust-punch    rust/, a function in the exact shape of a Punch punch_api
#                 function, built for wasm32 and run by `sluice fn test`
#   rust-v2       rust-v2/, two functions of ABI v2 (register_batch!) built
#                 for wasm32, `flag` (an update) and `count` (new rows, the
#                 feature `count`), and their C twins tests/e2e/abi2/flag.c
#                 and count.c: `sluice fn test` on v2_*_cases.yaml for all
#                 four, and `sluice fn run` and pipelines that must give the
#                 same bytes for each Rust function and its C twin; natively,
#                 cargo test (batches read, written, malformed; the exports)
#   c-freestanding
#                 guests/freestanding.c, built without any libc and run by
#                 `sluice fn test`, then on an input that makes its heap grow
#
# Builds go to build/sdk-tests/. The last line is `sdk: N passed, M failed`
# (suites); the exit status is 1 when one failed.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bash tests/sdk/run.sh SLUICE" >&2
  exit 2
fi
sluice=$(realpath "$1") || exit 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/sdk-tests
mkdir -p "$out"

cargo=(env RUSTC=/usr/bin/rustc /usr/bin/cargo)
clang=${WASM_CC:-clang-19}
passed=0
failed=0

step() {
  echo "+ $*"
  "$@"
}

# suite NAME COMMAND...: runs one suite and counts it.
suite() {
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

c_native() {
  step "$clang" -std=c17 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
    -fno-sanitize-recover=all -I"$root/sdk/c" -o "$out/test_sluice_fn" "$here/c/test_sluice_fn.c" -lm &&
    step "$out/test_sluice_fn"
}

rust_native() {
  (cd "$here/rust" && step "${cargo[@]}" test --offline --quiet --target-dir "$out/target")
}

rust_punch() {
  (cd "$here/rust" &&
    step "${cargo[@]}" build --release --target wasm32-unknown-unknown --offline --target-dir "$out/target") &&
    step cp "$out/target/wasm32-unknown-unknown/release/sluice_fn_tests.wasm" "$out/punch.wasm" &&
    step "$sluice" fn test "$out/punch.wasm" "$here/punch_cases.yaml"
}

# rust_v2_build FEATURES NAME: builds rust-v2/ with FEATURES into
# $out/v2/rust/NAME.wasm.
rust_v2_build() {
  (cd "$here/rust-v2" &&
    step "${cargo[@]}" build --release --target wasm32-unknown-unknown --offline $1 --target-dir "$out/target") &&
    step cp "$out/target/wasm32-unknown-unknown/release/sluice_fn_tests_v2.wasm" "$out/v2/rust/$2.wasm"
}

# same_run NAME INPUT: `sluice fn run` of the Rust and the C NAME on the
# JSON INPUT give the same output, errors and status.
same_run() {
  local lang
  printf '%s' "$2" >"$out/v2/in.json"
  for lang in rust c; do
    "$sluice" fn run "$out/v2/$lang/$1.wasm" --input "$out/v2/in.json" >"$out/v2/$lang.out" 2>"$out/v2/$lang.err"
    echo "status $?" >>"$out/v2/$lang.out"
    grep -v 'debug:\|panic:' "$out/v2/$lang.err" >>"$out/v2/$lang.out"
  done
  if cmp -s "$out/v2/rust.out" "$out/v2/c.out"; then
    echo "ok fn run $1 $2: $(head -c 300 "$out/v2/rust.out" | tr '\n' '|')"
  else
    echo "FAIL fn run $1 $2:"
    diff "$out/v2/c.out" "$out/v2/rust.out"
    return 1
  fi
}

# v2_pipeline NAME WINDOW LANG: writes the pipeline csv -> LANG's NAME ->
# out.ndjson, errors.ndjson.
v2_pipeline() {
  printf '%s\n' \
    'sources:' \
    '  in: {type: file, path: readings.csv}' \
    'transforms:' \
    '  csv:' \
    '    type: parse_csv' \
    '    inputs: [in]' \
    '    columns: [time, sensor, value]' \
    '    types: {time: timestamp, value: int}' \
    '  fn:' \
    '    type: function' \
    '    inputs: [csv]' \
    "    module: $out/v2/$3/$1.wasm" \
    "    window: $2" \
    'sinks:' \
    '  out: {type: file, inputs: [fn], path: out.ndjson}' \
    '  errors: {type: file, inputs: [fn.errors], path: errors.ndjson}'
}

# same_pipeline NAME WINDOW VALUES: a pipeline (csv -> NAME -> files) gives
# the same records and rejections with the Rust and the C NAME (trap
# messages aside).
same_pipeline() {
  local lang i v dir
  for lang in rust c; do
    dir=$out/v2/p-$lang
    mkdir -p "$dir" && rm -f "$dir/out.ndjson" "$dir/errors.ndjson" || return 1
    i=0
    : >"$dir/readings.csv"
    for v in $3; do
      printf '2026-11-24T10:00:%02dZ,s%d,%s\n' "$i" $((i % 2 + 1)) "$v" >>"$dir/readings.csv"
      i=$((i + 1))
    done
    v2_pipeline "$1" "$2" "$lang" >"$dir/p.yaml"
    (cd "$dir" && timeout -k 5 30 "$sluice" run p.yaml >/dev/null 2>"$dir/run.err") ||
      { echo "FAIL pipeline $1 ($lang): $(tail -3 "$dir/run.err")"; return 1; }
    touch "$dir/out.ndjson" "$dir/errors.ndjson"
    sed -E 's/trap: [^"]*/trap/' "$dir/errors.ndjson" >"$dir/errors.cmp"
  done
  if [ -s "$out/v2/p-rust/out.ndjson" ] &&
    cmp -s "$out/v2/p-rust/out.ndjson" "$out/v2/p-c/out.ndjson" &&
    cmp -s "$out/v2/p-rust/errors.cmp" "$out/v2/p-c/errors.cmp"; then
    echo "ok pipeline $1, window $2, values $3: $(wc -l <"$out/v2/p-rust/out.ndjson") records, $(wc -l <"$out/v2/p-rust/errors.ndjson") rejected"
  else
    echo "FAIL pipeline $1, window $2, values $3: the Rust and C outputs differ"
    diff "$out/v2/p-c/out.ndjson" "$out/v2/p-rust/out.ndjson"
    diff "$out/v2/p-c/errors.cmp" "$out/v2/p-rust/errors.cmp"
    return 1
  fi
}

rust_v2() {
  local name status=0
  mkdir -p "$out/v2/rust" "$out/v2/c"
  (cd "$here/rust-v2" && step "${cargo[@]}" test --offline --quiet --target-dir "$out/target") || return 1
  rust_v2_build "" flag && rust_v2_build "--features count" count || return 1
  for name in flag count; do
    step "$clang" --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -Wall -Wextra -Werror -mexec-model=reactor \
      -I"$root/sdk/c" -o "$out/v2/c/$name.wasm" "$root/tests/e2e/abi2/$name.c" || return 1
  done
  for name in flag count; do
    step "$sluice" fn test "$out/v2/rust/$name.wasm" "$here/v2_${name}_cases.yaml" || status=1
    step "$sluice" fn test "$out/v2/c/$name.wasm" "$here/v2_${name}_cases.yaml" || status=1
  done
  same_run flag '{"time":["2026-11-24T10:00:00Z",null],"value":[101,null]}' || status=1
  same_run flag '{"value":[1.5,-2,1e300],"s":["a","\u00e9\"",null]}' || status=1
  same_run flag '{"value":[]}' || status=1
  same_run flag '{"value":[5,666]}' || status=1
  same_run flag '{"value":["x"]}' || status=1
  same_run count '{"value":[1,2,3.5]}' || status=1
  same_run count '{"x":[null]}' || status=1
  same_pipeline flag '{count: 2}' "5 150 7 200" || status=1
  same_pipeline flag '{count: 2}' "1 666 3 777 5 6" || status=1
  same_pipeline count '{count: 2, key: sensor}' "1 2 3 4 5" || status=1
  return $status
}

c_freestanding() {
  step "$clang" --target=wasm32 -std=c17 -Wall -Wextra -Werror -O2 -ffreestanding -nostdlib \
    -mbulk-memory -Wl,--no-entry -I"$root/sdk/c" -o "$out/freestanding.wasm" "$here/guests/freestanding.c" &&
    step "$sluice" fn test "$out/freestanding.wasm" "$here/freestanding_cases.yaml" || return 1
  # 20000 values: about 1 MiB of nodes, beyond the initial memory.
  printf '{"label": "big", "values": [%s]}' "$(seq -s, 0 19999)" > "$out/big.json"
  local got
  echo "+ $sluice fn run $out/freestanding.wasm --input $out/big.json"
  got=$("$sluice" fn run "$out/freestanding.wasm" --input "$out/big.json" 2>/dev/null) || return 1
  case $got in
    '{"label":"big","count":20000,"sum":199990000,"reversed":[19999,19998,'*) echo "ok a big input" ;;
    *) echo "FAIL a big input: got ${got:0:200}"; return 1 ;;
  esac
}

suite c-native c_native
suite rust-native rust_native
suite rust-punch rust_punch
suite rust-v2 rust_v2
suite c-freestanding c_freestanding

echo "sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
