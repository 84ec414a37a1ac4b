#!/usr/bin/env bash
# tests/e2e/function.sh BINARY: end-to-end tests of the `function`
# transform through `sluice run` and `sluice validate`: file source ->
# parse_csv -> function -> file sinks.
#
# The guests are tests/e2e/function/*.c, built with clang-19 (wasm32-wasi,
# the C SDK) into build/e2e/function/: `tester` passes its input through,
# adds `is_anomaly`, and misbehaves on chosen values (see its comment);
# `summary` returns one row per window (its length, first and last values);
# `fastflag` (raw ABI, no libc) is the throughput case's pass-through.
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last
# line is "function: N passed, M failed", and the exit status is non-zero
# if anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/build/e2e/function
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$W"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Running and checking --------------------------------------------------

# pipeline NAME: the pipeline file $WORK/NAME.yaml from standard input.
pipeline() { cat >"$WORK/$1.yaml"; }

# run CMD...: runs CMD in $WORK with a time limit, capturing its output and
# exit status.
run() {
    (cd "$WORK" && timeout -k 5 20 "$@" </dev/null >"$WORK/stdout" 2>"$WORK/stderr")
    status=$?
}

show() { head -c 600 "$WORK/$1" | tr '\n' '|'; }

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_file() { # FILE CONTENT
    [ "$(cat "$WORK/$1" 2>/dev/null)" = "$2" ] ||
        problems+=("$1 is '$(show "$1")', wanted '$(printf %s "$2" | tr '\n' '|')'")
}

want_in() { # FILE REGEX
    grep -Eq -- "$2" "$WORK/$1" 2>/dev/null || problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_lines() { # FILE N
    local n
    n=$(wc -l <"$WORK/$1" 2>/dev/null || echo missing)
    [ "$n" = "$2" ] || problems+=("$1 has $n lines, wanted $2 ($(show "$1"))")
}

# end_case NAME: the verdict on the case, then its outputs go, so that the
# next case starts without them.
end_case() {
    verdict "$1"
    rm -f "$WORK"/*.ndjson
}

# The start of every pipeline: readings.csv (time, sensor, value) parsed.
# fn_pipeline NAME SETTINGS: that, then a function node `fn` with SETTINGS
# (YAML lines, indented 4), writing out.ndjson and errors.ndjson.
fn_pipeline() {
    function_pipeline "$2" | pipeline "$1"
}

# readings N [VALUE_AT_I=V...]: N readings, one a second from 10:00:00,
# alternating sensors s1 and s2, value = i unless overridden.
readings() {
    local n=$1 i v
    shift
    : >"$WORK/readings.csv"
    for ((i = 0; i < n; i++)); do
        v=$i
        for o in "$@"; do [ "${o%%=*}" = "$i" ] && v=${o#*=}; done
        printf '2026-11-24T10:%02d:%02dZ,s%d,%s\n' $((i / 60)) $((i % 60)) $((i % 2 + 1)) "$v" \
            >>"$WORK/readings.csv"
    done
}

# ---- Cases -------------------------------------------------------------------

case_per_record() {
    readings 3 1=150
    fn_pipeline p "    module: $W/tester.wasm
    config: {threshold: 100}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"time":"2026-11-24T10:00:00.000Z","sensor":"s1","value":0,"is_anomaly":false}
{"time":"2026-11-24T10:00:01.000Z","sensor":"s2","value":150,"is_anomaly":true}
{"time":"2026-11-24T10:00:02.000Z","sensor":"s1","value":2,"is_anomaly":false}'
    want_in stderr '3 records read, 3 written by sinks, 0 rejected'
    end_case "per-record mode: a pass-through adds a column; config reaches init"
}

case_count() {
    readings 7
    fn_pipeline p "    module: $W/summary.wasm
    window: {count: 3}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":3,"first_time":"2026-11-24T10:00:00.000Z","last_time":"2026-11-24T10:00:02.000Z","first_sensor":"s1","last_sensor":"s1","first_value":0,"last_value":2}
{"n":3,"first_time":"2026-11-24T10:00:03.000Z","last_time":"2026-11-24T10:00:05.000Z","first_sensor":"s2","last_sensor":"s2","first_value":3,"last_value":5}
{"n":1,"first_time":"2026-11-24T10:00:06.000Z","last_time":"2026-11-24T10:00:06.000Z","first_sensor":"s1","last_sensor":"s1","first_value":6,"last_value":6}'
    end_case "count windows: columns of the window's length, the rest at the end"
}

case_fields() {
    readings 4
    fn_pipeline p "    module: $W/summary.wasm
    window: {count: 4}
    fields: [value, missing]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":4,"first_value":0,"last_value":3,"first_missing":null,"last_missing":null}'
    end_case "fields: only the listed columns, null where a record lacks one"
}

case_union() {
    printf '%s\n' '{"a":1}' '{"b":"x","a":2}' '{"c":true}' >"$WORK/mixed.ndjson"
    pipeline p <<EOF
sources:
  in: {type: file, path: mixed.ndjson}
transforms:
  json: {type: parse_json, inputs: [in]}
  fn:
    type: function
    inputs: [json]
    module: $W/summary.wasm
    window: {count: 3}
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":3,"first_a":1,"last_a":null,"first_b":null,"last_b":null,"first_c":null,"last_c":true}'
    end_case "default columns: the union of the window's fields, null where missing"
}

case_keyed() {
    readings 5
    fn_pipeline p "    module: $W/summary.wasm
    window: {count: 2, key: sensor}
    fields: [sensor, value]"
    run "$SLUICE" run p.yaml
    want_status 0
    # the summary does not return `sensor`: each row gets its window's key
    want_file out.ndjson '{"n":2,"first_sensor":"s1","last_sensor":"s1","first_value":0,"last_value":2,"sensor":"s1"}
{"n":2,"first_sensor":"s2","last_sensor":"s2","first_value":1,"last_value":3,"sensor":"s2"}
{"n":1,"first_sensor":"s1","last_sensor":"s1","first_value":4,"last_value":4,"sensor":"s1"}'
    end_case "keyed count windows: one window per sensor, the key on every output row"
}

case_max_keys() {
    : >"$WORK/readings.csv"
    for s in a b c a; do echo "2026-11-24T10:00:00Z,$s,1" >>"$WORK/readings.csv"; done
    fn_pipeline p "    module: $W/summary.wasm
    window: {count: 5, key: sensor, max_keys: 2}
    fields: [sensor]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 2
    want_in out.ndjson '"n":2,"first_sensor":"a"'
    want_file errors.ndjson '{"time":"2026-11-24T10:00:00.000Z","sensor":"c","value":1,"error":"too many open keys (max_keys 2): key \"c\"","component":"fn"}'
    end_case "max_keys: a record of one key too many goes to .errors"
}

case_duration_stream() {
    : >"$WORK/readings.csv"
    pipeline p <<EOF
sources:
  in: {type: file, path: readings.csv, follow: true}
transforms:
  csv:
    type: parse_csv
    inputs: [in]
    columns: [time, sensor, value]
  fn:
    type: function
    inputs: [csv]
    module: $W/summary.wasm
    window: {duration: 300ms}
    fields: [value]
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
EOF
    (cd "$WORK" && exec "$SLUICE" run --quiet p.yaml >"$WORK/stdout" 2>"$WORK/stderr") &
    local pid=$! i
    sleep 0.5
    printf '2026-11-24T10:00:00Z,s1,1\n2026-11-24T10:00:01Z,s1,2\n' >>"$WORK/readings.csv"
    for ((i = 0; i < 40; i++)); do
        [ -s "$WORK/out.ndjson" ] && break
        sleep 0.1
    done
    want_file out.ndjson '{"n":2,"first_value":"1","last_value":"2"}'
    printf '2026-11-24T10:00:02Z,s1,3\n' >>"$WORK/readings.csv"
    sleep 0.3
    kill -TERM $pid
    wait $pid
    status=$?
    want_status 0
    want_in out.ndjson '"n":1,"first_value":"3"'
    end_case "duration windows: flushed by time in stream mode, the rest at the stop"
}

# Event times in seconds after 10:00:00, one record each.
event_readings() {
    : >"$WORK/readings.csv"
    for t in "$@"; do
        printf '2026-11-24T10:00:%02dZ,s1,%d\n' "$t" "$t" >>"$WORK/readings.csv"
    done
}

case_tumbling() {
    event_readings 0 3 12 1 18 2 25
    fn_pipeline p "    module: $W/summary.wasm
    window: {event_time: {field: time, size: 10s, allowed_lateness: 5s}}
    fields: [value]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":3,"first_value":0,"last_value":1}
{"n":2,"first_value":12,"last_value":18}
{"n":1,"first_value":25,"last_value":25}'
    want_file errors.ndjson '{"time":"2026-11-24T10:00:02.000Z","sensor":"s1","value":2,"error":"late: event time 2026-11-24T10:00:02.000Z is behind the watermark 2026-11-24T10:00:13.000Z","component":"fn"}'
    end_case "event time, tumbling: lateness accepted within bounds, a late record to .errors"
}

case_sliding() {
    event_readings 0 6 12
    fn_pipeline p "    module: $W/summary.wasm
    window: {event_time: {field: time, size: 10s, slide: 5s}}
    fields: [value]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":1,"first_value":0,"last_value":0}
{"n":2,"first_value":0,"last_value":6}
{"n":2,"first_value":6,"last_value":12}
{"n":1,"first_value":12,"last_value":12}'
    end_case "event time, sliding: each record in every window that covers it"
}

case_no_timestamp() {
    printf '2026-11-24T10:00:00Z,s1,1\nnot-a-time,s1,2\n' >"$WORK/readings.csv"
    pipeline p <<EOF
sources:
  in: {type: file, path: readings.csv}
transforms:
  csv: {type: parse_csv, inputs: [in], columns: [time, sensor, value]}
  fn:
    type: function
    inputs: [csv]
    module: $W/summary.wasm
    window: {event_time: {field: time, size: 1m}}
    fields: [value]
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
  errors: {type: file, inputs: [fn.errors], path: errors.ndjson}
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":1,"first_value":"1","last_value":"1"}'
    want_in errors.ndjson '"error":"no timestamp in field .time."'
    end_case "event time: a record without a timestamp goes to .errors"
}

case_trap_dead_letter() {
    readings 6 2=-13
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 4
    want_in out.ndjson '"value":5,"is_anomaly":false'
    want_lines errors.ndjson 2
    want_in errors.ndjson '"value":-13,"error":"function tester: trap: unreachable'
    want_in errors.ndjson '"value":3,"error":"function tester: trap: '
    want_in stderr '6 records read, 6 written by sinks, 2 rejected'
    end_case "on_error dead_letter: a trapping window's records in fn.errors; later windows run"
}

case_drop() {
    readings 6 2=-13
    pipeline p <<EOF
sources:
  in: {type: file, path: readings.csv}
transforms:
  csv: {type: parse_csv, inputs: [in], columns: [time, sensor, value], types: {value: int}}
  fn:
    type: function
    inputs: [csv]
    module: $W/tester.wasm
    window: {count: 2}
    on_error: drop
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 4
    want_in stderr 'fn: dropped a window of 2 records: function tester: trap'
    want_in stderr '6 records read, 4 written by sinks, 2 rejected'
    end_case "on_error drop: the window is counted and logged, not written"
}

case_stop() {
    readings 6 2=-13
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2, key: sensor}
    on_error: stop"
    run "$SLUICE" run p.yaml
    want_status 1
    want_in stderr 'sluice: fn: function tester: trap: unreachable'
    want_lines errors.ndjson 6
    want_in errors.ndjson '"value":-13,"error":"function tester: trap: unreachable'
    want_in errors.ndjson '"value":5,"error":"function tester: not run: the node stopped at an earlier error"'
    end_case "on_error stop: the run fails with the function's error; held records go to .errors"
}

case_guest_error() {
    readings 4 1=-7
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 2
    want_in errors.ndjson '"error":"function tester: error: bad_value: -7 is not allowed"'
    end_case "a guest error routes the window with the guest's kind and message"
}

case_unequal() {
    readings 4 3=-42
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 2
    want_lines errors.ndjson 2
    want_in errors.ndjson "\"error\":\"function tester: output: the output's arrays have unequal lengths \('time' has 2 items, 'is_anomaly' has 3\)\""
    end_case "output arrays of unequal length: an error for the whole window"
}

case_not_object() {
    readings 2 0=-55
    fn_pipeline p "    module: $W/tester.wasm"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 1
    want_in errors.ndjson '"error":"function tester: output: the output is not a JSON object'
    end_case "an output that is not an object: an error"
}

case_fuel() {
    readings 4 0=-99
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2}
    limits: {fuel: 10000000}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 2
    want_in errors.ndjson '"value":-99,"error":"function tester: limit: '
    end_case "an endless loop hits the fuel limit; the pipeline goes on"
}

case_instances() {
    readings 100 37=-13
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 3}
    instances: 4"
    run "$SLUICE" run p.yaml
    want_status 0
    want_lines out.ndjson 97
    want_lines errors.ndjson 3
    local order
    order=$(grep -o '"value":[0-9]*' "$WORK/out.ndjson" | cut -d: -f2 | tr '\n' ' ')
    [ "$order" = "$(seq 0 99 | grep -vxE '36|37|38' | tr '\n' ' ')" ] ||
        problems+=("records out of order: $order")
    end_case "instances: windows run side by side, emitted in order"
}

case_validate_missing() {
    fn_pipeline p "    module: nowhere.wasm"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:12:13: fn: cannot read the module '.*nowhere.wasm': No such file"
    end_case "validate: a missing module file, at file:line:col"
}

case_validate_broken() {
    echo "not wasm" >"$WORK/broken.wasm"
    fn_pipeline p "    module: broken.wasm"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr 'p.yaml:12:13: fn: function broken: abi: not a valid WebAssembly module'
    end_case "validate: a module that is not a function"
}

case_validate_settings() {
    fn_pipeline p "    module: $W/tester.wasm
    window: {count: 2, duration: 10s}
    config: [1, 2]"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:13:13: fn: a window is one of 'count', 'duration' or 'event_time'"
    want_in stderr "p.yaml:14:13: fn: 'config' must be a mapping"
    fn_pipeline p "    module: $W/tester.wasm
    window: {event_time: {field: time, size: 10x}}"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:13:46: fn: 'size' must be a positive duration like 500ms, 10s, 5m or 1h, not '10x'"
    fn_pipeline p "    module: $W/tester.wasm
    on_error: retry"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:13:15: 'on_error' must be one of dead_letter, drop, stop, not 'retry'"
    fn_pipeline p "    module: $W/tester.wasm
    config: {threshold: high}"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr 'p.yaml:12:13: fn: function tester: error: invalid_config: threshold must be a number'
    end_case "validate: window, config, on_error, and a config the function's init refuses"
}

case_metrics() {
    readings 4 3=-13
    pipeline p <<EOF
sources:
  in: {type: file, path: readings.csv, follow: true}
transforms:
  csv: {type: parse_csv, inputs: [in], columns: [time, sensor, value], types: {value: int}}
  fn: {type: function, inputs: [csv], module: $W/tester.wasm}
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
  errors: {type: file, inputs: [fn.errors], path: errors.ndjson}
EOF
    (cd "$WORK" && exec "$SLUICE" run --quiet --api 127.0.0.1:0 p.yaml >"$WORK/stdout" 2>"$WORK/stderr") &
    local pid=$! i address
    for ((i = 0; i < 50; i++)); do
        [ -s "$WORK/errors.ndjson" ] && break
        sleep 0.1
    done
    address=$(grep -o 'http://[0-9.:]*' "$WORK/stderr")
    curl -s "$address/metrics" >"$WORK/metrics"
    kill -TERM $pid
    wait $pid
    want_in metrics '^sluice_function_traps_total\{component="fn",kind="transform"\} 1$'
    want_in metrics '^sluice_function_call_duration_seconds_count\{component="fn",kind="transform"\} 4$'
    want_in metrics '^sluice_function_fuel_total\{component="fn",kind="transform"\} [1-9][0-9]*$'
    want_in metrics '^sluice_errors_total\{component="fn",kind="transform"\} 1$'
    end_case "metrics: calls, latency, fuel and traps of the function node"
}

case_throughput() {
    awk 'BEGIN { for (i = 0; i < 200000; i++)
        printf "2026-11-24T10:00:00.%03dZ,sensor-%d,15.0,30.0,1000.0,%d.5\n", i % 1000, i % 10, i % 50 }' \
        >"$WORK/air.csv"
    pipeline p <<EOF
sources:
  in: {type: file, path: air.csv}
transforms:
  csv:
    type: parse_csv
    inputs: [in]
    columns: [time, sensor, temperature, humidity, pressure, air_quality]
    types: {time: timestamp, temperature: float, humidity: float, pressure: float, air_quality: float}
  fn:
    type: function
    inputs: [csv]
    module: $W/fastflag.wasm
    window: {count: 1000}
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
EOF
    local started ms flagged
    started=$(date +%s%N)
    run "$SLUICE" run p.yaml
    ms=$((($(date +%s%N) - started) / 1000000))
    want_status 0
    want_lines out.ndjson 200000
    flagged=$(grep -c '"air_quality":[0-9.]*,"is_anomaly":true' "$WORK/out.ndjson")
    [ "$flagged" = 100000 ] || problems+=("$flagged records flagged, wanted 100000")
    end_case "throughput: 200,000 records in windows of 1,000 in ${ms} ms"
}

build_guests "$HERE/function"
for c in per_record count fields union keyed max_keys duration_stream tumbling sliding \
         no_timestamp trap_dead_letter drop stop guest_error unequal not_object fuel \
         instances metrics throughput validate_missing validate_broken validate_settings; do
    "case_$c"
done
finish function
