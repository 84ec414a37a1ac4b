#!/usr/bin/env bash
# bench/run.sh: builds and runs the engine benchmark (`make bench`).
#
#   bash bench/run.sh [BUILD/sluice] [SECTION...]
#
# The kernels in bench/kernels/ are compiled twice: natively with gcc -O2
# into the harness, and with clang-19 into one Wasm module that exports
# kernel_NAME for every kernels/NAME.c. The harness links the engine library
# found beside the sluice binary (building it if missing) and compares the
# two; SECTIONs are passed on to it (see bench/harness.c). Everything built
# goes to BUILD/bench/. Run from anywhere; BUILD is relative to the
# repository root, as in the Makefile.
#
# Then, when no SECTION is given, the pipeline benchmark
# (bench/pipeline/run.sh): 2,000,000 CSV lines over TCP through a Wasm
# function, against native baselines; and the scale-out benchmark
# (bench/scaleout/run.sh): 1, 2 and 3 workers sharing a partitioned stream;
# and the mqtt source benchmark (bench/mqtt/run.sh): a mosquitto session's
# queue drained by sluice and by mosquitto_sub.
set -euo pipefail

cd "$(dirname "$0")/.."
sluice=${1:-build/sluice}
shift $(( $# > 0 ? 1 : 0 ))
build=$(dirname "$sluice")
out=$build/bench

require() {
    command -v "$1" >/dev/null 2>&1 && return
    echo "bench: $1 not found; it $2. Install the dependencies with" \
         "'make deps' (scripts/deps.sh)." >&2
    exit 1
}
require clang-19 "compiles the kernels to Wasm (package clang-19)"
require wasm-ld-19 "links the Wasm kernels (package lld-19)"
require gcc "compiles the native side (package gcc)"

# `make bench` has just built the library; when run by hand, build it only
# if it is missing, so that a half-edited tree does not stop the benchmark.
[ -f "$build/libsluice-wasm.a" ] || make -s B="$build" "$build/libsluice-wasm.a"
mkdir -p "$out"

warnings=(-std=c17 -Wall -Wextra -Werror)
# No errno from sqrt, so that both builds use the bare instruction.
common=(-O2 -fno-math-errno "${warnings[@]}")

exports=()
native_objects=()
for source in bench/kernels/*.c; do
    name=$(basename "$source" .c)
    exports+=("-Wl,--export=kernel_$name")
    gcc "${common[@]}" -c "$source" -o "$out/$name.o"
    native_objects+=("$out/$name.o")
done

# -mbulk-memory: buffer clearing becomes memory.fill rather than a call to a
# memset that a freestanding module does not have.
clang-19 --target=wasm32 "${common[@]}" -mbulk-memory -nostdlib \
    -Wl,--no-entry "${exports[@]}" -o "$out/kernels.wasm" bench/kernels/*.c

gcc -O2 -g "${warnings[@]}" -D_DEFAULT_SOURCE -Iinclude -Ibench \
    -o "$out/harness" bench/harness.c "${native_objects[@]}" \
    "$build/libsluice-wasm.a" -lm -pthread

"$out/harness" "$out/kernels.wasm" "$@"

# The pipeline needs the whole binary, not only the engine library.
if [ $# -eq 0 ]; then
    [ -x "$sluice" ] || make -s B="$build" "$sluice"
    bash bench/pipeline/run.sh "$sluice"
    bash bench/scaleout/run.sh "$sluice"
    bash bench/mqtt/run.sh "$sluice"
fi
