#!/usr/bin/env bash
# Runs the WebAssembly spec test suite with `BINARY wasm spectest`.
#
# usage: tests/spec/run.sh BINARY
#   SPEC_DIR        the suite's directory (default: ../shared/wasm-testsuite
#                   beside the repository); its top-level *.wast files are run
#                   (not simd/).
#   KNOWN_FAILURES  the known-failure list (default: known-failures.txt here)
#   SPEC_TIMEOUT    seconds allowed per script (default: 60)
#
# Each script is converted once with wast2json into build/spec/NAME/NAME.json
# (again only when the .wast is newer) and run under a timeout, two at a time.
# Output: one line per script in name order (ok / FAIL / known, with the first
# failures under a FAIL), then "spec: N passed, M failed, K skipped".
# Scripts named in tests/spec/known-failures.txt ("name  # reason" lines) may
# fail without failing the run, but one that passes is an error, so the list
# only shrinks. Exit status: 0 iff M is 0.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
known_file=${KNOWN_FAILURES:-$here/known-failures.txt}
timeout_s=${SPEC_TIMEOUT:-60}
shown_failures=5

die() { echo "spec: $*" >&2; exit 2; }

[ $# -eq 1 ] || die "usage: $0 BINARY"
binary=$1
case $binary in /*) ;; *) binary=$PWD/$binary ;; esac
[ -x "$binary" ] || die "$binary is not an executable"
command -v wast2json >/dev/null || die "wast2json not found (Debian package wabt)"
spec_dir=${SPEC_DIR:-$here/../../../shared/wasm-testsuite}
[ -d "$spec_dir" ] || die "spec suite not found at $spec_dir (set SPEC_DIR)"
spec_dir=$(cd "$spec_dir" && pwd)
work=$root/build/spec

# Converts and runs one script; leaves output.txt and status in its directory.
run_one() {
  local name=$1 wast=$spec_dir/$1.wast dir=$work/$1 rc
  local json=$dir/$name.json
  if [ ! "$json" -nt "$wast" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    if ! (cd "$dir" && wast2json "$wast" -o "$name.json") >"$dir/output.txt" 2>&1; then
      rm -f "$json"
      echo "wast2json failed" >"$dir/status"
      return 0
    fi
  fi
  # The braces take bash's own "Segmentation fault" notice off the terminal.
  { timeout "$timeout_s" "$binary" wasm spectest "$json" >"$dir/output.txt" 2>&1; } 2>/dev/null
  rc=$?
  case $rc in
    0|1) echo "exit $rc" ;;
    124) echo "timed out after ${timeout_s} s" ;;
    *) echo "crashed (exit status $rc)" ;;
  esac >"$dir/status"
}
export -f run_one
export spec_dir work binary timeout_s

is_known() {
  [ -f "$known_file" ] && sed 's/#.*//' "$known_file" | tr -s ' \t' '\n' |
    sed 's/\.wast$//' | grep -qxF "$1"
}

names=()
for wast in "$spec_dir"/*.wast; do
  [ -e "$wast" ] || die "no .wast files in $spec_dir"
  names+=("$(basename "$wast" .wast)")
done
mkdir -p "$work" || die "cannot create $work"
printf '%s\n' "${names[@]}" | xargs -P2 -I{} bash -c 'run_one "$1"' _ {}

passed=0; failed=0; skipped=0; known_failed=0
summary_re='^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?$'

# Prints the verdict of one script and adds its counts to the totals.
report() {
  local name=$1 dir=$work/$1 status summary p=0 f=0 s=0 counts verdict
  status=$(cat "$dir/status" 2>/dev/null || echo "did not run")
  summary=$(tail -n1 "$dir/output.txt" 2>/dev/null)
  if [[ $status == "exit "[01] && $summary =~ $summary_re ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}; s=${BASH_REMATCH[4]:-0}
    [ "$status" = "exit 1" ] && [ "$f" -eq 0 ] && f=1
  else
    f=1   # the script as a whole counts as one failure
  fi
  counts="$p passed"
  [ "$f" -gt 0 ] && counts+=", $f failed"
  [ "$s" -gt 0 ] && counts+=", $s skipped"
  passed=$((passed + p)); skipped=$((skipped + s))
  if is_known "$name"; then
    if [ "$f" -gt 0 ]; then
      echo "known $name ($counts)"; known_failed=$((known_failed + f)); return
    fi
    echo "FAIL $name ($counts): passes but is listed in known-failures.txt; remove it"
    failed=$((failed + 1)); return
  fi
  verdict=ok; [ "$f" -gt 0 ] && verdict=FAIL
  printf '%-4s %s (%s)\n' "$verdict" "$name" "$counts"
  [ "$f" -eq 0 ] && return
  failed=$((failed + f))
  [[ $status == "exit "[01] ]] || echo "    $name: $status"
  grep -v ': note: ' "$dir/output.txt" | grep -Ev "$summary_re" |
    head -n "$shown_failures" | sed 's/^/    /'
}

for name in "${names[@]}"; do report "$name"; done
if [ -f "$known_file" ]; then
  while read -r name; do
    [ -f "$spec_dir/$name.wast" ] && continue
    echo "FAIL known-failures.txt lists $name, which is not in the suite"
    failed=$((failed + 1))
  done < <(sed 's/#.*//' "$known_file" | tr -s ' \t' '\n' | sed 's/\.wast$//' | grep .)
fi
[ "$known_failed" -gt 0 ] && echo "($known_failed failures in known-failure scripts not counted below)"
echo "spec: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
