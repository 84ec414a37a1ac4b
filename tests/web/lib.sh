# tests/web/lib.sh: what the browser suites' scripts share; each sources it.
# web_deps installs the tests' npm packages (playwright-core, pinned by
# package-lock.json) when missing; web_node_test LABEL FILE runs a
# node:test file with a spec report and ends with "LABEL: N passed, M
# failed", returning non-zero if anything failed.

web_deps() {
  if [ ! -d "$here/node_modules/playwright-core" ] ||
     [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

web_node_test() {
  local label=$1 file=$2 report status passed failed
  report=$(mktemp)
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$report" "$file"
  status=$?
  passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$report")
  failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$report")
  rm -f "$report"
  [ "$status" -ne 0 ] && [ "${failed:-0}" = 0 ] && failed=1   # failed before any test ran
  echo "$label: ${passed:-0} passed, ${failed:-0} failed"
  return "$status"
}
