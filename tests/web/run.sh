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
. "$here/lib.sh"

web_deps || { echo "web: 0 passed, 1 failed"; exit 1; }
bash "$root/web/build.sh" "$root/build/web" || { echo "web: 0 passed, 1 failed"; exit 1; }
SLUICE=$sluice SLUICE_WEB=$root/build/web web_node_test web "$here/dashboard.test.mjs"
