#!/usr/bin/env bash
# tests/e2e/nats.sh BINARY: end-to-end tests of the nats source and sink
# against a real nats-server with JetStream on loopback, started here and
# stopped at the end. Streams are made and filled by tests/e2e/nats/jsctl.c,
# built here with libnats (Debian has no `nats` command line tool).
#
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last line
# is "nats: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
SERVER_PID=
SLUICE_PID=
N=1000

NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_SERVER" ] || { echo "nats: nats-server is missing (scripts/deps.sh installs it)" >&2; exit 2; }

cleanup() {
    [ -n "$SLUICE_PID" ] && kill -9 "$SLUICE_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_jetstream
jsctl() { "$WORK/jsctl" "$URL" "$@"; }

distinct() { # FILE: how many distinct n
    /usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)["n"] for l in open(sys.argv[1])}))' "$1" 2>/dev/null || echo 0
}

wait_for_distinct() { # FILE N SECONDS
    local tenths=0
    while [ "$(distinct "$1")" -lt "$2" ] && [ "$tenths" -lt $(($3 * 10)) ]; do
        sleep 0.2
        tenths=$((tenths + 2))
    done
}

run_sluice() { # PIPELINE
    "$SLUICE" run --quiet "$1" >"$WORK/out" 2>>"$WORK/err" &
    SLUICE_PID=$!
}

stop_sluice() {
    kill -TERM "$SLUICE_PID" 2>/dev/null
    wait "$SLUICE_PID"
    status=$?
    SLUICE_PID=
}

# finish_case NAME: the verdict; the next case starts with an empty log.
finish_case() {
    verdict "$1"
    : >"$WORK/err"
}

# source_pipeline FILE DURABLE OUT DELAY_MS [OUTPUTS]: the source, then a
# file sink (or OUTPUTS, transforms and sinks reading `js`, instead).
source_pipeline() {
    local outputs=${5:-"sinks:
  out:
    type: file
    inputs: [js]
    path: $3
    append: true
    delay_ms: $4"}
    cat >"$1" <<YAML
sources:
  js:
    type: nats
    url: $URL
    stream: SENSORS
    subject: "sensors.>"
    durable: $2
    batch: 100
    ack_wait_ms: 1000
    max_ack_pending: 1000
    format: json
$outputs
YAML
}

jsctl create SENSORS 'sensors.>' || { echo "nats: cannot create the stream" >&2; exit 1; }
jsctl publish sensors.lab "1" "$N" || problems+=("jsctl publish failed")

# ---- stream -> nats source -> file; everything acknowledged after -----------
case_source() {
    source_pipeline "$WORK/a.yaml" reader-a "$WORK/a.ndjson" 0
    run_sluice "$WORK/a.yaml"
    wait_for_lines "$WORK/a.ndjson" "$N" 20
    stop_sluice
    [ "$status" -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$WORK/err")")
    [ "$(distinct "$WORK/a.ndjson")" -eq "$N" ] || problems+=("$(distinct "$WORK/a.ndjson") distinct of $N")
    [ "$(lines "$WORK/a.ndjson")" -eq "$N" ] || problems+=("$(lines "$WORK/a.ndjson") lines for $N messages")
    local left
    left=$(jsctl pending SENSORS reader-a)
    [ "$left" = 0 ] || problems+=("$left messages still unacknowledged after the stop")
    grep -q '"n":7}' "$WORK/a.ndjson" || problems+=("records are not the JSON fields: $(head -c 200 "$WORK/a.ndjson")")
}
case_source
finish_case "source: $N messages through a durable consumer reach a file, all acknowledged"

# ---- durable: a restart reads only what is new -------------------------------
case_durable() {
    jsctl publish sensors.lab $((N + 1)) $((N + 100)) || problems+=("jsctl publish failed")
    run_sluice "$WORK/a.yaml"
    wait_for_lines "$WORK/a.ndjson" $((N + 100)) 20
    sleep 0.5
    stop_sluice
    [ "$(lines "$WORK/a.ndjson")" -eq $((N + 100)) ] ||
        problems+=("$(lines "$WORK/a.ndjson") lines, wanted $((N + 100)): the consumer did not resume")
}
case_durable
finish_case "source: the durable consumer resumes where it was acknowledged"

# ---- kill -9 mid-run, restart: nothing lost, duplicates bounded --------------
case_kill() {
    local total=$((N + 100))
    # A slow sink: many batches in flight, read but not yet written.
    source_pipeline "$WORK/b.yaml" reader-b "$WORK/b.ndjson" 50
    run_sluice "$WORK/b.yaml"
    wait_for_lines "$WORK/b.ndjson" 300 20
    kill -9 "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    local before
    before=$(lines "$WORK/b.ndjson")
    source_pipeline "$WORK/b.yaml" reader-b "$WORK/b.ndjson" 0
    run_sluice "$WORK/b.yaml"
    wait_for_distinct "$WORK/b.ndjson" "$total" 30
    sleep 0.5
    stop_sluice
    local got dups
    got=$(distinct "$WORK/b.ndjson")
    dups=$(($(lines "$WORK/b.ndjson") - got))
    [ "$got" -eq "$total" ] || problems+=("$got distinct of $total after the kill at $before lines")
    [ "$dups" -le 1000 ] || problems+=("$dups duplicates: more than max_ack_pending")
    [ "$(jsctl pending SENSORS reader-b)" = 0 ] || problems+=("messages left unacknowledged")
    echo "  (killed at $before lines; $dups duplicates after the restart)"
}
case_kill
finish_case "source: kill -9 mid-run and restart loses nothing; duplicates bounded"

# ---- slow sink, short ack_wait: in-progress acks prevent redeliveries --------
case_progress() {
    # 1100 messages in 4 batches of 300, each taking 1.5 s to write: the
    # later batches wait far longer than ack_wait_ms (1 s) before their ack.
    source_pipeline "$WORK/p.yaml" reader-p "$WORK/p.ndjson" 1500
    sed -i 's/batch: 100/batch: 300/' "$WORK/p.yaml"
    run_sluice "$WORK/p.yaml"
    wait_for_distinct "$WORK/p.ndjson" $((N + 100)) 40
    sleep 1.5
    stop_sluice
    [ "$status" -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$WORK/err")")
    want_eq "distinct records" "$(distinct "$WORK/p.ndjson")" $((N + 100))
    want_eq "records written (redelivered duplicates)" "$(lines "$WORK/p.ndjson")" $((N + 100))
    want_eq "messages left unacknowledged" "$(jsctl pending SENSORS reader-p)" 0
}
case_progress
finish_case "source: batches held longer than ack_wait_ms are kept in progress, not redelivered"

# ---- an early batch held by a sink: later commits acknowledge nothing past it --
# The consumer acknowledges cumulatively (AckAll): one +ACK covers every
# message before it. The first batch (n <= 100) waits in an http sink whose
# server is down (retried for ever), while every later batch is written to a
# file and committed. The floor must stay below the first batch: nothing is
# acknowledged, and after kill -9 and a restart the first batch arrives.
case_held_batch() {
    local total=$((N + 100)) port
    port=$(free_port)
    # max_ack_pending is 1000: nothing acknowledged, messages 1001.. wait
    # on the server until the restart.
    source_pipeline "$WORK/h.yaml" reader-h "" 0 "transforms:
  early: {type: filter, inputs: [js], condition: \"n <= 100\"}
  late: {type: filter, inputs: [js], condition: \"n > 100\"}
sinks:
  down: {type: http, inputs: [early], url: \"http://127.0.0.1:$port/\", backoff_ms: 50, max_backoff_ms: 200}
  out: {type: file, inputs: [late], path: $WORK/h-late.ndjson, append: true}"
    run_sluice "$WORK/h.yaml"
    wait_for_lines "$WORK/h-late.ndjson" $((N - 100)) 20
    sleep 2     # two ack_wait_ms: later batches would be acknowledged, or redelivered
    want_eq "later records written, once each" "$(lines "$WORK/h-late.ndjson")" $((N - 100))
    want_eq "messages still unacknowledged while the first batch is held" \
        "$(jsctl pending SENSORS reader-h)" "$total"
    kill -9 "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    source_pipeline "$WORK/h2.yaml" reader-h "$WORK/h-after.ndjson" 0
    run_sluice "$WORK/h2.yaml"
    wait_for_distinct "$WORK/h-after.ndjson" "$total" 30
    stop_sluice
    local early
    early=$(/usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)["n"] for l in open(sys.argv[1]) if json.loads(l)["n"] <= 100}))' "$WORK/h-after.ndjson" 2>/dev/null || echo 0)
    want_eq "records of the held batch delivered after the restart" "$early" 100
    want_eq "messages left unacknowledged after the restart" "$(jsctl pending SENSORS reader-h)" 0
}
case_held_batch
finish_case "source: a batch held by a slow sink keeps later commits from acknowledging past it"

# ---- a consumer made by an older sluice (explicit acks) is still read ---------
case_explicit_consumer() {
    local total=$((N + 100))
    jsctl explicit SENSORS reader-x || problems+=("cannot make the explicit consumer")
    source_pipeline "$WORK/x.yaml" reader-x "$WORK/x.ndjson" 0
    run_sluice "$WORK/x.yaml"
    wait_for_lines "$WORK/x.ndjson" "$total" 20
    sleep 0.5
    stop_sluice
    want_eq "records read through the explicit consumer" "$(distinct "$WORK/x.ndjson")" "$total"
    want_eq "messages left unacknowledged" "$(jsctl pending SENSORS reader-x)" 0
    grep -q "consumer reader-x acknowledges each message (not AckAll)" "$WORK/err" ||
        problems+=("no word of the explicit policy: $(head -c 300 "$WORK/err")")
}
case_explicit_consumer
finish_case "source: a consumer with explicit acks is read and acknowledged message by message"

# ---- generate -> nats sink -> stream -----------------------------------------
case_sink() {
    jsctl create OUT 'out.>' || problems+=("cannot create OUT")
    cat >"$WORK/sink.yaml" <<YAML
sources:
  gen:
    type: generate
    count: $N
    sensors: 4
sinks:
  js:
    type: nats
    inputs: [gen]
    url: $URL
    subject: "out.{sensor}"
YAML
    timeout 60 "$SLUICE" run --quiet "$WORK/sink.yaml" >"$WORK/out" 2>"$WORK/err"
    status=$?
    [ "$status" -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$WORK/err")")
    local n
    n=$(jsctl count OUT)
    [ "$n" = "$N" ] || problems+=("the stream holds $n messages, wanted $N")
}
case_sink
finish_case "sink: $N records published, all acknowledged by the stream"

# ---- sink: no stream for the subject -> rejected after the retries -----------
case_sink_no_stream() {
    cat >"$WORK/nostream.yaml" <<YAML
sources:
  gen:
    type: generate
    count: 5
sinks:
  js:
    type: nats
    inputs: [gen]
    url: $URL
    subject: "nowhere.{sensor}"
    retries: 1
    backoff_ms: 10
    timeout_ms: 1000
  errors:
    type: file
    inputs: [js.errors]
    path: $WORK/nostream.ndjson
YAML
    timeout 60 "$SLUICE" run --quiet "$WORK/nostream.yaml" >"$WORK/out" 2>"$WORK/err"
    [ "$(lines "$WORK/nostream.ndjson")" -eq 5 ] ||
        problems+=("$(lines "$WORK/nostream.ndjson") errors, wanted 5: $(head -c 300 "$WORK/err")")
    grep -q '"error":"gave up after 2 attempts: ' "$WORK/nostream.ndjson" ||
        problems+=("nostream.ndjson: $(head -c 300 "$WORK/nostream.ndjson")")
}
case_sink_no_stream
finish_case "sink: with no stream for the subject, records are retried then rejected"

# ---- source: a missing stream is a clear failure -------------------------------
case_missing_stream() {
    source_pipeline "$WORK/c.yaml" reader-c "$WORK/c.ndjson" 0
    sed -i 's/stream: SENSORS/stream: GHOST/' "$WORK/c.yaml"
    timeout 20 "$SLUICE" run --quiet "$WORK/c.yaml" >"$WORK/out" 2>"$WORK/err"
    status=$?
    [ "$status" -eq 1 ] || problems+=("exit status $status, wanted 1")
    grep -q "stream 'GHOST' does not exist" "$WORK/err" || problems+=("stderr: $(head -c 300 "$WORK/err")")
}
case_missing_stream
finish_case "source: a missing stream is reported, not a crash"

finish nats
