#!/usr/bin/env bash
# Builds the example functions into build/examples/ and runs the cases of
# each with `sluice fn test` (the Rust one also runs its unit tests natively),
# then checks that the Rust and C twins share their cases and flag the same
# readings on generated windows.
# `make check` runs it as: bash examples/functions/build.sh build/sluice
#
# The last line is `examples: N passed, M failed`, counting examples (and the
# twins check when it fails); the exit status is 1 on any failure.
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: bash examples/functions/build.sh SLUICE" >&2
  exit 2
fi
sluice=$(realpath "$1") || exit 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/examples
mkdir -p "$out"

cargo=(env RUSTC=/usr/bin/rustc /usr/bin/cargo)
clang=${WASM_CC:-clang-19}
passed=0
failed=0

# Runs a step, printing its command first; a failing step fails the example.
step() {
  echo "+ $*"
  "$@"
}

build_rust() { # DIR NAME
  (cd "$1" &&
    step "${cargo[@]}" test --offline --quiet --target-dir "$out/target" &&
    step "${cargo[@]}" build --release --target wasm32-unknown-unknown --offline \
      --target-dir "$out/target") &&
    step cp "$out/target/wasm32-unknown-unknown/release/$2.wasm" "$out/$2.wasm"
}

build_c() { # DIR NAME
  step "$clang" --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -Wall -Wextra -Werror \
    -mexec-model=reactor -I"$root/sdk/c" -o "$out/$2.wasm" "$1"/*.c
}

# example LANG DIR NAME: builds DIR to build/examples/NAME.wasm and tests it.
example() {
  local lang=$1 dir=$here/$2 name=$3
  echo "== $2"
  if "build_$lang" "$dir" "$name" && step "$sluice" fn test "$out/$name.wasm" "$dir/cases.yaml"; then
    passed=$((passed + 1))
  else
    echo "FAIL $2"
    failed=$((failed + 1))
  fi
}

# Whether the twins flag the same readings on generated windows (odd and
# even sizes, spikes, mostly constant windows), with two thresholds.
twins_agree() {
  local dir=$out/twins windows=0 flagged=0 seed config rust c
  mkdir -p "$dir"
  echo '{}' > "$dir/default.json"
  echo '{"threshold": 2}' > "$dir/low.json"
  for seed in $(seq 1 16); do
    awk -v seed="$seed" 'BEGIN {
      srand(seed); n = 1 + int(rand() * 300); flat = rand() < 0.3
      printf "{\"air_quality\": ["
      for (i = 0; i < n; i++) {
        x = flat && rand() < 0.8 ? 25 : 20 + rand() * 10
        if (rand() < 0.05) x *= 3
        printf "%s%.2f", i ? ", " : "", x
      }
      printf "], \"timestamp\": ["
      for (i = 0; i < n; i++) printf "%s%d", i ? ", " : "", 1704067200 + 3600 * i
      printf "]}\n"
    }' > "$dir/window$seed.json"
    for config in default low; do
      rust=$("$sluice" fn run "$out/air_quality_rust.wasm" --input "$dir/window$seed.json" \
        --config "$dir/$config.json" 2>/dev/null | grep -o '"is_anomaly":\[[a-z,]*\]')
      c=$("$sluice" fn run "$out/air_quality_c.wasm" --input "$dir/window$seed.json" \
        --config "$dir/$config.json" 2>/dev/null | grep -o '"is_anomaly":\[[a-z,]*\]')
      if [ -z "$rust" ] || [ "$rust" != "$c" ]; then
        echo "FAIL the twins disagree on $dir/window$seed.json with $config.json"
        return 1
      fi
      windows=$((windows + 1))
      flagged=$((flagged + $(grep -o true <<< "$rust" | wc -l)))
    done
  done
  echo "ok the twins agree on $windows generated windows ($flagged anomalies)"
}

example rust air-quality-rust air_quality_rust
example c air-quality-c air_quality_c

# The twins must answer the same questions.
echo "== twins"
if ! cmp -s "$here/air-quality-rust/cases.yaml" "$here/air-quality-c/cases.yaml"; then
  echo "FAIL air-quality-rust/cases.yaml and air-quality-c/cases.yaml differ"
  failed=$((failed + 1))
elif [ "$failed" -eq 0 ] && ! twins_agree; then
  failed=$((failed + 1))
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
