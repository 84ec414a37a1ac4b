#!/usr/bin/env bash
# Builds the dashboard's front end into OUT (default build/web): installs
# the pinned libraries from package-lock.json (npm ci, from the npm
# registry, skipped when already installed) and copies the page and uPlot
# next to each other. The C server (src/sinks/dashboard.c) serves OUT.
#   bash web/build.sh [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build/web}

if [ ! -f "$here/node_modules/uplot/dist/uPlot.iife.min.js" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$out/vendor"
cp "$here"/dashboard/index.html "$here"/dashboard/dashboard.js "$here"/dashboard/dashboard.css "$out/"
cp "$here"/node_modules/uplot/dist/uPlot.iife.min.js "$here"/node_modules/uplot/dist/uPlot.min.css "$out/vendor/"
cp "$here"/node_modules/uplot/LICENSE "$out/vendor/uPlot.LICENSE"
echo "web: built $out" >&2
