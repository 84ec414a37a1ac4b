#!/usr/bin/env bash
# tests/e2e/observe.sh BINARY: end-to-end tests of the observability API
# (`sluice run --api`: /health, /metrics, /tap) and of `sluice top`, on
# loopback. A stream pipeline (generate at a fixed rate -> filter ->
# function -> file, plus a branch whose function traps) runs in the
# background while the cases query it; a case stops it with SIGTERM while a
# tap and `sluice top` are connected, and the last one watches /health
# while a pipeline drains. The function guest is
# tests/e2e/observe/guest.c; without a wasm32 compiler the function
# branches are left out (and said so). Each case prints "ok NAME" or
# "FAIL NAME" with what differed; the last line is
# "observe: N passed, M failed", and the exit status is non-zero if
# anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CHECK="python3 $HERE/observe/promcheck.py"
WORK=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Checking ----------------------------------------------------------------

show() { head -c 600 "$WORK/$1" 2>/dev/null | tr '\n' '|'; }

# get NAME PATH [CURL ARGS...]: GETs http://$API/PATH into $WORK/NAME; sets
# $code to the HTTP status.
get() {
    local name=$1 path=$2
    shift 2
    code=$(curl -s -m 20 -o "$WORK/$name" -w '%{http_code}' "$@" "http://$API$path")
}

want_code() { # STATUS FILE
    [ "$code" = "$1" ] || problems+=("HTTP $code, wanted $1 ($(show "$2"))")
}

want_in() { # FILE REGEX
    grep -Eq -- "$2" "$WORK/$1" 2>/dev/null || problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_lines() { # FILE N
    local n
    n=$(wc -l <"$WORK/$1" 2>/dev/null || echo missing)
    [ "$n" = "$2" ] || problems+=("$1 has $n lines, wanted $2 ($(show "$1"))")
}

# metric FILE SAMPLE: the value of a sample (its name and labels, exactly).
metric() {
    awk -v s="$2" 'index($0, s " ") == 1 { print $2 }' "$WORK/$1"
}

# ---- The pipeline -------------------------------------------------------------

FUNCTIONS=no
build_guest() {
    clang-19 --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -mexec-model=reactor \
        -I"$ROOT/sdk/c" -o "$WORK/guest.wasm" "$HERE/observe/guest.c" 2>"$WORK/cc.log" &&
        FUNCTIONS=yes
}

# gen -> warm (filter) -> out; with functions, warm -> fn -> out and
# warm -> trap -> none, where `trap` traps on every window.
write_pipeline() {
    cat >"$WORK/p.yaml" <<EOF
sources:
  gen: {type: generate, rate: 4000}
transforms:
  warm: {type: filter, inputs: [gen], condition: temperature >= 20}
EOF
    if [ $FUNCTIONS = yes ]; then
        cat >>"$WORK/p.yaml" <<EOF
  fn: {type: function, inputs: [warm], module: guest.wasm, window: {count: 20}}
  trap:
    type: function
    inputs: [warm]
    module: guest.wasm
    config: {trap: true}
    on_error: drop
    window: {count: 20}
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
  none: {type: file, inputs: [trap], path: none.ndjson}
EOF
    else
        cat >>"$WORK/p.yaml" <<EOF
sinks:
  out: {type: file, inputs: [warm], path: out.ndjson}
EOF
    fi
}

# start FILE: runs the pipeline $WORK/FILE in the background on a port the
# system picks; sets $PID, and $API from its "api listening on" line.
start() {
    (cd "$WORK" && exec "$SLUICE" run --api 127.0.0.1:0 "$1" 2>"$WORK/run.err" >/dev/null) &
    PID=$!
    API=
    for _ in $(seq 100); do
        API=$(sed -n 's|^sluice: api listening on http://||p' "$WORK/run.err")
        [ -n "$API" ] && break
        sleep 0.05
    done
}

# ---- Cases: before running ----------------------------------------------------

case_bad_address() {
    local a
    for a in nonsense 127.0.0.1 127.0.0.1:99999 '127.0.0.1:' 'fe80::1:80' '[::1:80' ':80'; do
        (cd "$WORK" && timeout 10 "$SLUICE" run --api "$a" p.yaml >/dev/null 2>"$WORK/bad.err")
        status=$?
        [ $status -eq 2 ] || problems+=("--api '$a': status $status, wanted 2")
        want_in bad.err "bad --api address '.*': write HOST:PORT"
    done
    [ ! -e "$WORK/out.ndjson" ] || problems+=("the pipeline ran: out.ndjson exists")
    verdict "a bad --api address fails with status 2 before anything runs"
}

case_port_in_use() {
    (cd "$WORK" && timeout 10 "$SLUICE" run --api "$API" p.yaml >/dev/null 2>"$WORK/busy.err")
    status=$?
    [ $status -eq 2 ] || problems+=("status $status, wanted 2")
    want_in busy.err "cannot listen on $API: Address already in use"
    verdict "a port in use fails with status 2 and says so"
}

# ---- Cases: while running -----------------------------------------------------

case_health() {
    get health.json /health
    want_code 200 health.json
    python3 - "$WORK/health.json" <<'EOF' || problems+=("health: $(show health.json)")
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["uptime_seconds"] > 0 and d["components"] >= 3, d
EOF
    verdict "/health: 200 with status, uptime and components"
}

case_metrics() {
    local kinds="gen=source warm=transform out=sink" before after s
    [ $FUNCTIONS = yes ] &&
        kinds="$kinds fn=transform trap=transform none=sink"
    get m1.txt /metrics -D "$WORK/m1.head"
    want_code 200 m1.txt
    grep -qi '^content-type: text/plain; version=0.0.4' "$WORK/m1.head" ||
        problems+=("content type: $(grep -i content-type "$WORK/m1.head")")
    # shellcheck disable=SC2086
    $CHECK "$WORK/m1.txt" $kinds >"$WORK/check.txt" || problems+=("format: $(show check.txt)")
    sleep 0.5
    get m2.txt /metrics
    for s in 'sluice_records_in_total{component="gen",kind="source"}' \
             'sluice_records_out_total{component="warm",kind="transform"}' \
             'sluice_records_in_total{component="out",kind="sink"}' \
             'sluice_bytes_out_total{component="out",kind="sink"}'; do
        before=$(metric m1.txt "$s")
        after=$(metric m2.txt "$s")
        [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] ||
            problems+=("$s did not grow: '$before' then '$after'")
    done
    verdict "/metrics: Prometheus 0.0.4 text, every family, counters grow"
}

case_function_metrics() {
    local calls fuel traps
    calls=$(metric m2.txt 'sluice_function_call_duration_seconds_count{component="fn",kind="transform"}')
    fuel=$(metric m2.txt 'sluice_function_fuel_total{component="fn",kind="transform"}')
    traps=$(metric m2.txt 'sluice_function_traps_total{component="trap",kind="transform"}')
    [ "${calls:-0}" -gt 0 ] || problems+=("fn made no calls: '$calls'")
    [ "${fuel:-0}" -gt 0 ] || problems+=("fn used no fuel: '$fuel'")
    [ "${traps:-0}" -gt 0 ] || problems+=("trap trapped no times: '$traps'")
    grep -q '^sluice_function_call_duration_seconds_bucket{component="fn",kind="transform",le="0.001"} ' \
        "$WORK/m2.txt" || problems+=("no le=\"0.001\" bucket for fn")
    grep -q 'component="warm".*le=' "$WORK/m2.txt" && problems+=("warm has a latency histogram")
    verdict "/metrics: function nodes have call latency, fuel and traps"
}

case_tap() {
    get tap.ndjson '/tap?component=warm&limit=5' -D "$WORK/tap.head"
    want_code 200 tap.ndjson
    grep -qi '^content-type: application/x-ndjson' "$WORK/tap.head" ||
        problems+=("content type: $(grep -i content-type "$WORK/tap.head")")
    python3 - "$WORK/tap.ndjson" <<'EOF' || problems+=("tap: $(show tap.ndjson)")
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "" and len(lines) == 6, lines
for line in lines[:-1]:
    r = json.loads(line)
    assert r["temperature"] >= 20 and r["sensor"].startswith("sensor-"), r
EOF
    verdict "/tap: limit=N valid NDJSON records emitted by the named component"
}

case_tap_seconds() {
    local t0 ms
    t0=$(date +%s%N)
    get tap2.ndjson '/tap?component=out&seconds=1'
    ms=$((($(date +%s%N) - t0) / 1000000))
    want_code 200 tap2.ndjson
    [ $ms -ge 900 ] && [ $ms -lt 5000 ] || problems+=("seconds=1 took $ms ms")
    python3 -c '
import json, sys
n = sum(1 for l in open(sys.argv[1]) if json.loads(l))
assert n > 100, n' "$WORK/tap2.ndjson" || problems+=("tap: $(show tap2.ndjson)")
    verdict "/tap: seconds=S streams what a sink receives for S seconds"
}

case_tap_errors() {
    local q
    get nope.json '/tap?component=nope'
    want_code 404 nope.json
    want_in nope.json '"error":"no component named .nope."'
    want_in nope.json '"components":\["gen","warm",.*"out"'
    get none.json '/tap'
    want_code 400 none.json
    for q in 'limit=0' 'limit=abc' 'limit=-3' 'seconds=0' 'seconds=x' 'seconds=-1'; do
        get badq.json "/tap?component=warm&$q"
        want_code 400 badq.json
    done
    verdict "/tap: unknown component 404 with the names; bad arguments 400"
}

case_paths() {
    get x.json /nope
    want_code 404 x.json
    want_in x.json 'no such endpoint'
    get y.json /metrics -X POST -d 'x=1'
    want_code 405 y.json
    get z.json /health -X DELETE -D "$WORK/z.head"
    want_code 405 z.json
    grep -qi '^allow: GET' "$WORK/z.head" || problems+=("no Allow: GET header")
    verdict "other paths 404; other methods 405 with Allow"
}

case_concurrent_taps() {
    local i pids=()
    for i in 1 2 3; do
        curl -s -m 20 -o "$WORK/c$i.ndjson" "http://$API/tap?component=gen&limit=50" &
        pids+=($!)
    done
    get slow.ndjson '/tap?component=warm&limit=10'
    wait "${pids[@]}"
    for i in 1 2 3; do want_lines "c$i.ndjson" 50; done
    want_lines slow.ndjson 10
    verdict "several taps at once, of one component and of another"
}

# gen_rate FIRST SECOND: records gen made between two /metrics pages.
gen_rate() {
    local sample='sluice_records_out_total{component="gen",kind="source"}'
    echo $(($(metric "$2" "$sample") - $(metric "$1" "$sample")))
}

# A tap read at 2 KiB/s of a source making ~500 KiB/s: the pipeline must
# keep its pace (the tap loses records, the pipeline none). Compared with
# the pace without a tap, so that a slow machine (or a sanitizer) does not
# fail it.
case_slow_tap() {
    local free tapped slow
    get r1.txt /metrics
    sleep 2
    get r2.txt /metrics
    curl -s -m 4 --limit-rate 2k -o "$WORK/slow_tap.ndjson" "http://$API/tap?component=gen" &
    slow=$!
    sleep 1
    get s1.txt /metrics
    sleep 2
    get s2.txt /metrics
    wait $slow
    free=$(gen_rate r1.txt r2.txt)
    tapped=$(gen_rate s1.txt s2.txt)
    [ $((tapped * 10)) -ge $((free * 7)) ] ||
        problems+=("gen made $tapped records in 2 s with a slow tap, $free without")
    [ -s "$WORK/slow_tap.ndjson" ] || problems+=("the slow tap got nothing")
    verdict "a slow tap client does not slow the pipeline"
}

case_top() {
    timeout 20 "$SLUICE" top --api "$API" --interval 0.3 --count 2 >"$WORK/top.txt" 2>"$WORK/top.err"
    status=$?
    [ $status -eq 0 ] || problems+=("status $status ($(show top.err))")
    want_in top.txt '^COMPONENT +KIND +IN/S +OUT/S +ERRORS/S +QUEUE +P50 +P99$'
    want_in top.txt '^gen +source +[1-9][0-9.]* +[1-9][0-9.]* +0\.0 +- +- +-$'
    want_in top.txt '^warm +transform +[1-9][0-9.]* +[0-9.]+ +[0-9.]+ +[0-9]+ +- +-$'
    want_in top.txt '^out +sink +[1-9][0-9.]* '
    [ $FUNCTIONS = yes ] &&
        want_in top.txt '^fn +transform +[1-9][0-9.]* .* [0-9.]+(us|ms|s) +[0-9.]+(us|ms|s)$'
    [ "$(grep -c '^COMPONENT' "$WORK/top.txt")" = 2 ] || problems+=("not 2 snapshots")
    grep -q $'\033' "$WORK/top.txt" && problems+=("escape sequences while not on a terminal")
    verdict "sluice top: plain snapshots with a row per component"
}

case_top_unreachable() {
    timeout 10 "$SLUICE" top --api 127.0.0.1:1 --count 1 >/dev/null 2>"$WORK/top2.err"
    status=$?
    [ $status -eq 1 ] || problems+=("status $status, wanted 1")
    want_in top2.err 'no pipeline API at 127.0.0.1:1'
    verdict "sluice top: no pipeline at the address is an error"
}

# ---- Cases: stopping ----------------------------------------------------------

case_sigterm_with_tap() {
    local waited=0 tap top
    curl -s -N -m 30 -o "$WORK/open.ndjson" "http://$API/tap?component=gen" &
    tap=$!
    "$SLUICE" top --api "$API" --interval 0.2 >"$WORK/top3.txt" 2>"$WORK/top3.err" &
    top=$!
    for _ in $(seq 50); do          # until the tap has records flowing
        [ -s "$WORK/open.ndjson" ] && break
        sleep 0.1
    done
    kill -TERM "$PID"
    while kill -0 "$PID" 2>/dev/null && [ $waited -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$PID" 2>/dev/null; then
        problems+=("still running 10 s after SIGTERM")
    else
        wait "$PID"
        status=$?
        [ $status -eq 0 ] || problems+=("exit status $status, wanted 0 ($(show run.err))")
        PID=
    fi
    wait $tap || problems+=("the tap's curl failed: $?")
    wait $top || problems+=("sluice top failed: $?")
    want_in run.err 'stopping, draining'
    want_in run.err 'records read, [0-9]+ written by sinks'
    want_in top3.err 'went away'
    python3 -c '
import json, sys
n = sum(1 for l in open(sys.argv[1]) if json.loads(l))
assert n > 0, n' "$WORK/open.ndjson" || problems+=("open tap: $(show open.ndjson)")
    verdict "SIGTERM with a tap and top connected: drains, ends the tap, exits 0"
}

# A sink writing to a FIFO that is opened but not read blocks the drain:
# /health must then answer 503 "draining"; once the FIFO is read, the run
# ends normally.
case_draining() {
    local holder waited=0
    mkfifo "$WORK/fifo"
    sleep 60 <>"$WORK/fifo" &
    holder=$!
    cat >"$WORK/fifo.yaml" <<EOF
sources:
  gen: {type: generate, rate: 20000}
sinks:
  out: {type: file, inputs: [gen], path: fifo}
EOF
    start fifo.yaml
    sleep 1
    kill -TERM "$PID"
    sleep 0.5
    get draining.json /health
    want_code 503 draining.json
    want_in draining.json '"status":"draining"'
    cat "$WORK/fifo" >/dev/null &
    sleep 0.5                       # cat has the FIFO open before the holder goes
    kill $holder
    while kill -0 "$PID" 2>/dev/null && [ $waited -lt 100 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    if kill -0 "$PID" 2>/dev/null; then
        problems+=("still running 10 s after the FIFO was read")
    else
        wait "$PID"
        status=$?
        [ $status -eq 0 ] || problems+=("exit status $status, wanted 0 ($(show run.err))")
        PID=
    fi
    verdict "/health: 503 draining while a stopped pipeline drains"
}

build_guest
[ $FUNCTIONS = yes ] ||
    echo "observe: no wasm32 compiler, function nodes left out: $(head -c 200 "$WORK/cc.log")"
write_pipeline
case_bad_address
start p.yaml
if [ -z "$API" ]; then
    echo "FAIL the pipeline did not start: $(show run.err)"
    failed=$((failed + 1))
else
    sleep 1
    case_port_in_use
    case_health
    case_metrics
    [ $FUNCTIONS = yes ] && case_function_metrics
    case_tap
    case_tap_seconds
    case_tap_errors
    case_paths
    case_concurrent_taps
    case_slow_tap
    case_top
    case_top_unreachable
    case_sigterm_with_tap
    case_draining
fi

finish observe
