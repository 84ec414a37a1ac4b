#!/usr/bin/env bash
# tests/web/console.sh SLUICE: the web console (web/console, served by
# `sluice serve`) end to end in headless Chromium (console.test.mjs).
# Installs the test's npm packages, builds the console into build/web, and
# builds and packages the test's function (tests/web/console/flag_warm.c,
# signed with a fresh key) with the real CLI. Needs Debian's chromium and
# clang-19. The last line is `console: N passed, M failed`; screenshots of
# each step are left in build/web-test/console-*.png.
set -uo pipefail

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
  echo "usage: $0 path/to/sluice" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sluice=$(realpath "$1")
out=$root/build/web-test/console-fn
. "$here/lib.sh"

fail() { echo "console: $*" >&2; echo "console: 0 passed, 1 failed"; exit 1; }

web_deps || fail "cannot install the test's npm packages"
bash "$root/web/build.sh" "$root/build/web" || fail "cannot build the console"

# The artifact: flag-warm@1.0.0, as `sluice fn package` makes it.
rm -rf "$out" && mkdir -p "$out/pkg" || fail "cannot make $out"
clang-19 --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -Wall -Wextra -Werror \
  -mexec-model=reactor -I"$root/sdk/c" -o "$out/pkg/flag_warm.wasm" "$here/console/flag_warm.c" ||
  fail "cannot build flag_warm.c"
cp "$here/console/manifest.yaml" "$here/console/README.md" "$out/pkg/"
signer=$("$sluice" keygen -o "$out/key" 2>/dev/null) || fail "sluice keygen failed"
"$sluice" fn package "$out/pkg" --sign "$out/key" -o "$out/flag-warm-1.0.0.tar.gz" >/dev/null 2>&1 ||
  fail "sluice fn package failed"

SLUICE=$sluice SLUICE_CONSOLE=$root/build/web/console ARTIFACT=$out/flag-warm-1.0.0.tar.gz SIGNER=$signer \
  web_node_test console "$here/console.test.mjs"
