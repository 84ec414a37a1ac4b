#!/usr/bin/env bash
# The SDK tests: bash tests/sdk/run.sh SLUICE
#
#   c-native      sdk/c/sluice_fn.h (reader, writer, formatter, ABI glue),
#                 natively under ASan and UBSan: c/test_sluice_fn.c
#   rust-native   the exports that register! generates, natively: cargo test
#                 in rust/ (sluice_fn::testing stands in for the host)
#   rust-punch    rust/, a function in the exact shape of a Punch punch_api
#                 function, built for wasm32 and run by `sluice fn test`
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
suite c-freestanding c_freestanding

echo "sdk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
