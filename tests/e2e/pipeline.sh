#!/usr/bin/env bash
# tests/e2e/pipeline.sh BINARY: end-to-end tests of `sluice validate` and
# `sluice run`, driving the real binary on the pipelines in
# tests/e2e/pipeline/. Each case prints "ok NAME" or "FAIL NAME" with what
# differed; the last line is "pipeline: N passed, M failed", and the exit
# status is non-zero if anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)/pipeline
WORK=$(mktemp -d)
export WORK
trap 'rm -rf "$WORK"' EXIT
unset SLUICE_E2E_UNSET

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Checking --------------------------------------------------------------

# run [--stdin FILE] ARGS...: runs sluice with a time limit, capturing its
# standard output, standard error and exit status.
run() {
    local input=/dev/null
    if [ "$1" = --stdin ]; then input=$2; shift 2; fi
    timeout 60 "$SLUICE" "$@" <"$input" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { # the first lines of a file, on one line
    head -c 600 "$1" | tr '\n' '|'
}

want_stderr() { # a fixed string that must appear in standard error
    grep -qF -- "$1" "$WORK/stderr" ||
        problems+=("stderr lacks '$1' (stderr: $(show "$WORK/stderr"))")
}

want_same() { # FILE EXPECTED
    if ! cmp -s "$1" "$2"; then
        problems+=("$(basename "$1") differs from $(basename "$2"): $(diff "$2" "$1" | head -c 600 | tr '\n' '|')")
    fi
}

want_lines() { # FILE COUNT
    local n
    n=$(wc -l <"$1" 2>/dev/null || echo missing)
    [ "$n" = "$2" ] || problems+=("$(basename "$1") has $n lines, wanted $2")
}

# ---- Validation: every class of problem, with file:line:column -------------

validate_case() { # NAME FILE EXPECTED-MESSAGE...
    local name=$1 file=$2
    shift 2
    run validate "$HERE/$file"
    want_status 1
    local message
    for message in "$@"; do want_stderr "$file:$message"; done
    verdict "$name"
}

validate_case validate_unknown_key bad_unknown_key.yaml "5:5: unknown key 'colour'"
validate_case validate_wrong_type bad_wrong_type.yaml \
    "4:12: 'count' must be an integer, not 'many'" \
    "9:13: 'header' must be a boolean, not a list"
validate_case validate_missing_input bad_missing_input.yaml \
    "7:19: unknown input 'ghost': no component has that name" \
    "13:3: 'lonely' has no 'inputs': a sink needs at least one" \
    "18:5: 'path' needs a value" \
    "20:5: missing required key 'path'"
validate_case validate_cycle bad_cycle.yaml "5:30: cycle: a -> b -> c -> a"
validate_case validate_unknown_type bad_unknown_type.yaml \
    "6:11: unknown transform type 'parse_xml'" \
    "10:11: 'parse_csv' is a transform, not a sink: move it under 'transforms'"
validate_case validate_env bad_env.yaml \
    "4:11: environment variable SLUICE_E2E_UNSET is not set" \
    "12:11: bad environment variable name '\${9bad}'"
validate_case validate_condition bad_condition.yaml \
    "8:30: keep: bad condition: expected a value, found 'and'"
validate_case validate_yaml_syntax bad_yaml.yaml "4:4: YAML: did not find expected key"
validate_case validate_unused_output bad_unused.yaml \
    "4:3: nothing reads from 'other'" "7:3: nothing reads from 'parse'"

run schema
want_status 0
for type in generate file stdin parse_csv parse_json fields filter stdout; do
    grep -q "\"const\": \"$type\"" "$WORK/stdout" || problems+=("no $type in the schema")
done
if command -v python3 >/dev/null; then
    python3 -c 'import json, sys; json.load(sys.stdin)' <"$WORK/stdout" ||
        problems+=("the schema is not JSON")
fi
verdict json_schema

run validate "$HERE/csv_filter.yaml"
want_status 0
grep -q "ok, 5 components, batch mode" "$WORK/stdout" ||
    problems+=("stdout: $(show "$WORK/stdout")")
verdict validate_ok

# ---- Batch runs ------------------------------------------------------------

run run "$HERE/csv_filter.yaml"
want_status 0
want_same "$WORK/warm.ndjson" "$HERE/csv_filter.expected"
want_same "$WORK/rejects.ndjson" "$HERE/csv_filter.rejects"
want_stderr "9 records read, 6 written by sinks, 3 rejected"
verdict batch_csv_filter

run run "$HERE/fan.yaml"
want_status 0
want_lines "$WORK/fan_a.ndjson" 3005
want_lines "$WORK/fan_b.csv" 3006      # with its header line
want_lines "$WORK/fan_raw.ndjson" 9
want_lines "$WORK/fan_errors.ndjson" 4
# Two sources feed the sink: their order is not fixed, their content is.
grep -qx "sensor-1,23.4,lab,2" "$WORK/fan_b.csv" ||
    problems+=("fan_b.csv lacks sensor-1,23.4,lab,2: $(show "$WORK/fan_b.csv")")
verdict fan_in_fan_out

run --stdin "$HERE/stdin.input" run "$HERE/stdin.yaml"
want_status 0
want_same "$WORK/stdout" "$HERE/stdin.expected"
want_same "$WORK/stdin_rejects.ndjson" "$HERE/stdin.rejects"
verdict stdin_json_fields

COUNT=2500 run run "$HERE/generate.yaml"
want_status 0
want_lines "$WORK/stdout" 2501
[ "$(sed -n 2p "$WORK/stdout")" = "2026-11-24T10:00:00.000Z,sensor-1,15.0,30.0,1000.0,0.0" ] ||
    problems+=("line 2: $(sed -n 2p "$WORK/stdout")")
[ "$(tail -n 1 "$WORK/stdout")" = "2026-11-24T10:00:02.499Z,sensor-1,24.9,79.9,1009.9,49.9" ] ||
    problems+=("last line: $(tail -n 1 "$WORK/stdout")")
verdict generate_count

{
    echo short
    head -c 5000 /dev/zero | tr '\0' x
    echo
    echo "after the long one"
    printf 'last, without newline'
} >"$WORK/long.txt"
run run "$HERE/long_lines.yaml"
want_status 0
want_lines "$WORK/long_out.ndjson" 3
want_lines "$WORK/long_rejected.ndjson" 1
grep -q '"error":"line longer than 100 bytes' "$WORK/long_rejected.ndjson" ||
    problems+=("rejected: $(show "$WORK/long_rejected.ndjson")")
verdict long_lines_rejected

# ---- Stream mode: a stop drains ---------------------------------------------

# Starts the stream pipeline in the background with extra environment.
start_stream() {
    env "$@" "$SLUICE" run "$HERE/stream.yaml" >"$WORK/stdout" 2>"$WORK/stderr" &
    pid=$!
}

stop_stream() {
    kill -TERM "$pid"
    wait "$pid"
    status=$?
}

# "N records read, M written": every record read reached the sink.
want_all_written() {
    local read written lines
    read=$(sed -n 's/.*: \([0-9]*\) records read.*/\1/p' "$WORK/stderr")
    written=$(sed -n 's/.* \([0-9]*\) written by sinks.*/\1/p' "$WORK/stderr")
    lines=$(wc -l <"$WORK/stream.ndjson")
    if [ -z "$read" ] || [ "$read" != "$written" ] || [ "$read" != "$lines" ] || [ "$read" -eq 0 ]; then
        problems+=("read ${read:-?}, written ${written:-?}, lines in the file $lines")
    fi
}

start_stream RATE=20000
sleep 1
stop_stream
want_status 0
want_stderr "stopping, draining what is in flight"
want_all_written
verdict sigterm_drains

# Backpressure: a slow sink (20 ms a batch) under a source without limit.
# Memory must stay flat: sample the resident size while it runs.
start_stream DELAY_MS=20
max_rss=0
first_rss=0
for _ in 1 2 3 4 5 6 7 8; do
    sleep 0.4
    rss=$(awk '/VmRSS/ { print $2 }' /proc/$pid/status 2>/dev/null || echo 0)
    [ "$first_rss" -eq 0 ] && first_rss=$rss
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
done
stop_stream
want_status 0
want_all_written
[ "$max_rss" -gt 0 ] && [ "$max_rss" -lt 40000 ] ||
    problems+=("resident size reached ${max_rss} kB (wanted < 40000 kB)")
[ $((max_rss - first_rss)) -lt 8000 ] ||
    problems+=("resident size grew from ${first_rss} kB to ${max_rss} kB")
verdict backpressure_bounded_memory

# Following a file: lines appended while it runs, the last one unfinished
# when the signal comes, are all delivered.
: >"$WORK/follow.log"
"$SLUICE" run "$HERE/follow.yaml" >"$WORK/stdout" 2>"$WORK/stderr" &
pid=$!
sleep 0.5
echo one >>"$WORK/follow.log"
echo noise >>"$WORK/follow.log"
sleep 0.3
printf 'two\nthree, unfinished' >>"$WORK/follow.log"
sleep 0.3
printf ' at the stop' >>"$WORK/follow.log"
sleep 0.5
kill -INT "$pid"
wait "$pid"
status=$?
want_status 0
want_same "$WORK/follow.ndjson" "$HERE/follow.expected"
grep -q '"message":"noise","error":"the condition does not hold","component":"only_errors"' \
    "$WORK/follow_dropped.ndjson" || problems+=("dropped: $(show "$WORK/follow_dropped.ndjson")")
verdict follow_file_stream

finish pipeline
