#!/usr/bin/env bash
# Builds and runs the native tests of lib/anomaly (tests/anomaly/test_cases.c)
# against the shared upstream cases and data:
#   bash tests/anomaly/run.sh [--sanitize]
# ANOMALY_DIR overrides the location of the shared data (default
# ../shared/anomaly next to the repository). --sanitize builds with
# AddressSanitizer and UndefinedBehaviorSanitizer. Ends with
# `anomaly: N passed, M failed`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${ANOMALY_DIR:-$root/../shared/anomaly}
out=$root/build/tests
mkdir -p "$out"

# The arithmetic must be the reference's: no contraction into fused
# multiply-adds, no fast-math reassociation.
flags=(-std=c17 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -ffp-contract=off -fno-fast-math)
bin=$out/anomaly_cases
if [ "${1:-}" = --sanitize ]; then
  flags+=(-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  bin=$out/anomaly_cases_asan
fi

"${CC:-clang-19}" "${flags[@]}" -I"$root/lib/anomaly" -o "$bin" \
  "$here/test_cases.c" "$root"/lib/anomaly/*.c -ljansson -lm
"$bin" "$data"
