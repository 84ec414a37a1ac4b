#!/usr/bin/env bash
# tests/web/run.sh [SLUICE]: the dashboard's test in headless Chromium
# (dashboard.test.mjs). Installs the test's npm packages (playwright-core,
# pinned by package-lock.json) and builds the page into build/web first.
# Needs Debian's chromium (scripts/deps.sh). The last line is
# `web: N passed, M failed`; a screenshot is left in build/web-test/.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sluice=$(realpath "${1:-$root/build/sluice}")

if [ ! -d "$here/node_modules/playwright-core" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || { echo "web: 0 passed, 1 failed"; exit 1; }
fi
bash "$root/web/build.sh" "$root/build/web" || { echo "web: 0 passed, 1 failed"; exit 1; }

report=$(mktemp)
trap 'rm -f "$report"' EXIT
SLUICE=$sluice SLUICE_WEB=$root/build/web \
  node --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$report" "$here/dashboard.test.mjs"
status=$?
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$report")
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$report")
[ "$status" -ne 0 ] && [ "${failed:-0}" = 0 ] && failed=1   # failed before any test ran
echo "web: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
