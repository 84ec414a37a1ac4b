#!/usr/bin/env bash
# tests/e2e/demo.sh [SLUICE]: `make demo` end to end, quickly: the
# simulator as fast as possible (16 days of 3 sensors), stopped after 60
# seconds, and the run must score precision and recall of at least 0.9
# (DEMO_CHECK=1). The dependencies are assumed installed (make check runs
# scripts/deps.sh first). The last line is `demo: N passed, M failed`.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
sluice=$(realpath "${1:-$root/build/sluice}")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO_SECONDS=60 DEMO_CHECK=1 DEMO_SPEED=0 DEMO_SKIP_DEPS=1 SLUICE=$sluice \
  bash "$root/scripts/demo.sh" >"$out" 2>&1
status=$?
sed 's/^/  /' "$out"
[ "$status" -eq 0 ] && grep -q '^precision [0-9.]* recall [0-9.]*' "$out" ||
  problems+=("exit status $status")
verdict demo_scores_at_least_0.9
finish demo
