#!/usr/bin/env bash
# tests/e2e/abi2.sh BINARY: end-to-end tests of functions of ABI v2 (binary
# columnar batches, docs/abi.md) through the real binary: in pipelines
# (file source -> parse_csv -> function -> file sinks), and through
# `sluice fn run` and `sluice fn test`.
#
# The guests are tests/e2e/abi2/*.c, built with clang-19 into
# build/e2e/abi2/: `flag` (C SDK) returns a column of each type, merged
# into the input records; `count` (C SDK) returns new rows, one per window;
# `badbatch` (raw) returns a batch cut short. The last line is
# "abi2: N passed, M failed"; the exit status is non-zero if a case failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/build/e2e/abi2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$W"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# run CMD...: runs CMD in $WORK with a time limit, capturing its output and
# exit status.
run() {
    (cd "$WORK" && timeout -k 5 20 "$@" </dev/null >"$WORK/stdout" 2>"$WORK/stderr")
    status=$?
}

show() { head -c 600 "$WORK/$1" | tr '\n' '|'; }

want_status() {
    [ "$status" -eq "$1" ] || problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_file() { # FILE CONTENT
    want_eq "$1" "$(cat "$WORK/$1" 2>/dev/null)" "$2"
}

want_in() { # FILE REGEX
    grep -Eq -- "$2" "$WORK/$1" 2>/dev/null || problems+=("$1 '$(show "$1")' lacks /$2/")
}

end_case() {
    verdict "$1"
    rm -f "$WORK"/*.ndjson
}

# readings.csv: four readings of sensors s1 and s2; VALUES (default
# "5 150 7 200") are their values.
readings() {
    local i=0 v
    : >"$WORK/readings.csv"
    for v in ${1:-5 150 7 200}; do
        printf '2026-11-24T10:00:%02dZ,s%d,%s\n' "$i" $((i % 2 + 1)) "$v" >>"$WORK/readings.csv"
        i=$((i + 1))
    done
}

# fn_pipeline SETTINGS: readings.csv parsed, then a function node `fn` with
# SETTINGS (YAML lines, indented 4), writing out.ndjson and errors.ndjson.
fn_pipeline() {
    function_pipeline "$1" >"$WORK/p.yaml"
}

# ---- Pipelines ---------------------------------------------------------------

case_update() {
    readings
    fn_pipeline "    module: $W/flag.wasm
    window: {count: 2}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"time":"2026-11-24T10:00:01.000Z","sensor":"s1","value":5,"is_anomaly":false,"double":10.0,"label":null,"index":0,"extra":{"row":0}}
{"time":"2026-11-24T10:00:02.000Z","sensor":"s2","value":150,"is_anomaly":true,"double":300.0,"label":"high","index":1,"extra":{"row":1}}
{"time":"2026-11-24T10:00:03.000Z","sensor":"s1","value":7,"is_anomaly":false,"double":14.0,"label":null,"index":0,"extra":{"row":0}}
{"time":"2026-11-24T10:00:04.000Z","sensor":"s2","value":200,"is_anomaly":true,"double":400.0,"label":"high","index":1,"extra":{"row":1}}'
    want_in stderr '4 records read, 4 written by sinks, 0 rejected'
    end_case "update: output columns of every type join the window's records (time replaced)"
}

case_config_per_record() {
    readings
    fn_pipeline "    module: $W/flag.wasm
    config: {threshold: 160}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "flagged" "$(grep -c '"is_anomaly":true' "$WORK/out.ndjson")" 1
    want_in out.ndjson '"value":200,"is_anomaly":true'
    end_case "per-record windows; the JSON config reaches a v2 function's init"
}

case_new_rows_keyed() {
    readings "1 2 3 4 5"
    fn_pipeline "    module: $W/count.wasm
    window: {count: 2, key: sensor}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_file out.ndjson '{"n":2,"total":4.0,"sensor":"s1"}
{"n":2,"total":6.0,"sensor":"s2"}
{"n":1,"total":5.0,"sensor":"s1"}'
    end_case "new rows: one aggregate per keyed window, the key restored"
}

case_guest_failures() {
    readings "1 666 3 777 5 6"
    fn_pipeline "    module: $W/flag.wasm
    window: {count: 2}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "records out" "$(wc -l <"$WORK/out.ndjson")" 2
    want_eq "rejected" "$(wc -l <"$WORK/errors.ndjson")" 4
    want_in errors.ndjson 'function flag: error: bad_value: row 1 holds 666'
    want_in errors.ndjson 'function flag: trap: '
    end_case "a guest error and a trap reject their windows; the next window runs"
}

case_bad_output() {
    readings
    fn_pipeline "    module: $W/badbatch.wasm
    window: {count: 4}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rejected" "$(wc -l <"$WORK/errors.ndjson")" 4
    want_in errors.ndjson 'function badbatch: output: column 0: its header runs past the end of the batch'
    [ -s "$WORK/out.ndjson" ] && problems+=("out.ndjson is not empty: $(show out.ndjson)")
    end_case "a malformed output batch fails the window with the reason, no crash"
}

# 3,000 records (three input batches) in windows of 7: updated where they
# are, replaced by a new row, or rejected, in any mix; the output keeps the
# input's order, with one instance or several. (mixed.c: how a window ends
# depends on its first value.)
case_mixed_in_place() {
    seq 1 3000 | sed 's/^/2026-11-24T10:00:00Z,s1,/' >"$WORK/readings.csv"
    local expected got instances
    expected=$(seq 1 3000 | awk '{ w = int(($1 - 1) / 7); first = w * 7 + 1 }
        first == 666 { next }
        first % 10 == 0 { sum[w] += $1; if ($1 == first + 6 || $1 == 3000) print "sum " sum[w]; next }
        { print "seen " $1 }' | md5sum)
    for instances in 1 3; do
        fn_pipeline "    module: $W/mixed.wasm
    window: {count: 7}
    instances: $instances"
        run "$SLUICE" run p.yaml
        want_status 0
        got=$(sed -E 's/.*"value":([0-9]+),"seen":true}$/seen \1/; s/^\{"sum":([0-9]+)}$/sum \1/' \
            "$WORK/out.ndjson" | md5sum)
        want_eq "output with $instances instances" "$got" "$expected"
        want_eq "rejected with $instances instances" \
            "$(grep -c 'function mixed: error: bad_value' "$WORK/errors.ndjson")" 7
    done
    end_case "in place: updated, replaced and failed windows across batches keep the order"
}

# ---- fn run and fn test ------------------------------------------------------

case_fn_run() {
    printf '{"time":["2026-11-24T10:00:00Z",null],"value":[101,null]}' >"$WORK/in.json"
    run "$SLUICE" fn run "$W/flag.wasm" --input in.json
    want_status 0
    want_file stdout '{"time":["2026-11-24T10:00:01.000Z",null],"value":[101,null],"is_anomaly":[true,false],"double":[202.0,null],"label":["high",null],"index":[0,1],"extra":[{"row":0},{"row":1}]}'
    printf '{"value":[1,2],"other":[1]}' >"$WORK/bad.json"
    run "$SLUICE" fn run "$W/flag.wasm" --input bad.json
    want_status 2
    want_in stderr "bad.json: the input's arrays have unequal lengths"
    run "$SLUICE" fn run "$W/badbatch.wasm" --input in.json
    want_status 3
    want_in stderr 'abi: the output is not a valid batch: column 0'
    end_case "fn run: JSON in, the merged columns out; bad input and output are refused"
}

case_fn_test() {
    cat >"$WORK/cases.yaml" <<'EOF'
config: {threshold: 10}
cases:
  - name: merged
    input: {value: [5, 20.5], sensor: [a, b]}
    output:
      value: [5, 20.5]
      sensor: [a, b]
      is_anomaly: [false, true]
      double: [10, 41]
      label: [null, high]
      index: [0, 1]
      extra: [{row: 0}, {row: 1}]
  - name: refused
    input: {value: [666]}
    error: {kind: error, message: "bad_value: row 0"}
  - name: aggregate
    input: {value: [1, 2, 3]}
    output: {n: [3], total: [6]}
EOF
    run "$SLUICE" fn test "$W/flag.wasm" cases.yaml
    want_in stdout '^ok merged$'
    want_in stdout '^ok refused$'
    want_in stdout '^FAIL aggregate: expected'
    want_in stdout '^2 passed, 1 failed$'
    want_status 1
    run "$SLUICE" fn test "$W/count.wasm" cases.yaml
    want_in stdout '^ok aggregate$'
    end_case "fn test: JSON cases on v2 functions, outputs compared as the pipeline merges them"
}

build_guests "$HERE/abi2"
for c in update config_per_record new_rows_keyed guest_failures bad_output mixed_in_place fn_run fn_test; do
    "case_$c"
done
finish abi2
