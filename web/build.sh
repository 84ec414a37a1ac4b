#!/usr/bin/env bash
# Builds the front ends into OUT (default build/web): installs the pinned
# libraries from package-lock.json (npm ci, from the npm registry, skipped
# when already installed), then
#  - the dashboard (src/sinks/dashboard.c serves OUT): the page and uPlot
#    copied next to each other;
#  - the web console (`sluice serve` serves OUT/console): web/console/src
#    bundled by esbuild into console.js and console.css, with index.html.
#   bash web/build.sh [OUT]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../build/web}

if [ ! -x "$here/node_modules/.bin/esbuild" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$out/vendor"
cp "$here"/dashboard/index.html "$here"/dashboard/dashboard.js "$here"/dashboard/dashboard.css "$out/"
cp "$here"/node_modules/uplot/dist/uPlot.iife.min.js "$here"/node_modules/uplot/dist/uPlot.min.css "$out/vendor/"
cp "$here"/node_modules/uplot/LICENSE "$out/vendor/uPlot.LICENSE"

mkdir -p "$out/console"
"$here/node_modules/.bin/esbuild" "$here/console/src/main.js" --bundle --format=esm \
  --target=es2022 --minify --sourcemap --legal-comments=linked --log-level=warning \
  --entry-names=console --outdir="$out/console"
cp "$here"/console/index.html "$out/console/"
echo "web: built $out" >&2
