#!/usr/bin/env bash
# Runs each unit-test binary and sums their "N passed, M failed" lines.
set -u
passed=0; failed=0; crashed=0
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    printf '%s\n' "$out" | grep -v '^ok ' >&2
    [ -z "$line" ] && { echo "$t: exited $rc without a summary" >&2; crashed=$((crashed+1)); }
  fi
  p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
failed=$((failed + crashed))
echo "unit: $passed passed, $failed failed"
[ $failed -eq 0 ]
