#!/usr/bin/env bash
# Runs test suites and sums their results.
#   run-suites.sh LABEL COMMAND...
# Each COMMAND (one shell word list, e.g. "bash tests/e2e/fn.sh build/sluice")
# must end its output with a line "N passed, M failed" (a word and a colon may
# stand before it). A suite that exits non-zero or prints no such line counts
# as one failure more. Ends with "LABEL: N passed, M failed".
set -u
label=$1; shift
passed=0; failed=0
for cmd in "$@"; do
  out=$(eval "$cmd" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n1)
  line=${line#*: }
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    printf '%s\n' "$out" | grep -v '^ok ' >&2
    echo "$label: '$cmd' exited $rc" >&2
  else
    printf '%s\n' "$out" | grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' | tail -n1
  fi
  if [ -n "$line" ]; then
    p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
    passed=$((passed + p)); failed=$((failed + f))
  fi
  if [ $rc -ne 0 ] && { [ -z "$line" ] || [ "${f:-0}" -eq 0 ]; }; then failed=$((failed + 1)); fi
done
echo "$label: $passed passed, $failed failed"
[ $failed -eq 0 ]
