#!/usr/bin/env bash
# tests/e2e/mqtt.sh BINARY: end-to-end tests of the mqtt source and sink
# against a real mosquitto broker on loopback, started here and stopped at
# the end. Messages are published with mosquitto_pub and received with
# mosquitto_sub (Debian package mosquitto-clients).
#
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last line
# is "mqtt: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
WORK=$(mktemp -d)
BROKER_PID=
SLUICE_PID=
N=500

for tool in mosquitto mosquitto_pub mosquitto_sub; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
        echo "mqtt: $tool is missing (scripts/deps.sh installs it)" >&2
        exit 2
    }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

cleanup() {
    [ -n "$SLUICE_PID" ] && kill -9 "$SLUICE_PID" 2>/dev/null
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)

# The broker keeps sessions across its restarts (persistence), as a real
# deployment would, so that a restart loses no QoS 1 message; run as root,
# mosquitto would otherwise switch to a user that cannot write $WORK.
cat >"$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/
autosave_interval 1
user $(id -un)
CONF

start_broker() {
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/broker.log" 2>&1 &
    BROKER_PID=$!
    for _ in $(seq 50); do
        mosquitto_pub -h 127.0.0.1 -p "$PORT" -t probe -m x 2>/dev/null && return
        sleep 0.1
    done
    echo "mqtt: mosquitto did not start: $(tail -n 3 "$WORK/broker.log")" >&2
    exit 1
}

stop_broker() {
    kill "$BROKER_PID" 2>/dev/null
    wait "$BROKER_PID" 2>/dev/null
    BROKER_PID=
}

run_sluice() { # PIPELINE
    "$SLUICE" run --quiet "$1" >"$WORK/out" 2>"$WORK/err" &
    SLUICE_PID=$!
}

stop_sluice() {
    [ -n "$SLUICE_PID" ] || return 0
    kill -TERM "$SLUICE_PID" 2>/dev/null
    wait "$SLUICE_PID"
    status=$?
    SLUICE_PID=
}

# publish FIRST LAST: messages n=FIRST..LAST as JSON, QoS 1, on topic s/N.
publish() {
    local i
    for i in $(seq "$1" "$2"); do printf '{"n":%d}\n' "$i"; done |
        mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t "s/$1" -l ||
        problems+=("mosquitto_pub failed")
}

# want_all FILE FIRST LAST: every n in FIRST..LAST is in FILE (field n).
want_all() {
    local missing
    missing=$(/usr/bin/python3 - "$@" <<'PY'
import json, sys
path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
seen = set()
for line in open(path):
    seen.add(json.loads(line)["n"])
print(len([n for n in range(first, last + 1) if n not in seen]))
PY
    ) || missing="unreadable"
    [ "$missing" = 0 ] || problems+=("$(basename "$1"): $missing of $2..$3 missing ($(lines "$1") lines)")
}

source_pipeline() { # CLIENT_ID OUT
    cat >"$WORK/source.yaml" <<YAML
sources:
  sensors:
    type: mqtt
    broker: 127.0.0.1:$PORT
    topics: ["s/#"]
    qos: 1
    client_id: $1
    format: json
sinks:
  out:
    type: file
    inputs: [sensors]
    path: $2
    append: true
YAML
}

start_broker

# ---- mosquitto_pub -> mqtt source -> file ----------------------------------
case_source() {
    source_pipeline sluice-test-1 "$WORK/source.ndjson"
    run_sluice "$WORK/source.yaml"
    sleep 1     # connected and subscribed
    publish 1 "$N"
    wait_for_lines "$WORK/source.ndjson" "$N" 10
    stop_sluice
    [ "$status" -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$WORK/err")")
    want_all "$WORK/source.ndjson" 1 "$N"
    grep -q '"n":1}' "$WORK/source.ndjson" || problems+=("records are not the JSON fields")
}
case_source
verdict "source: $N QoS 1 messages from mosquitto_pub reach a file"

# ---- topic in a field, raw payloads, a bad JSON payload rejected -------------
case_raw_and_errors() {
    cat >"$WORK/raw.yaml" <<YAML
sources:
  raw:
    type: mqtt
    broker: 127.0.0.1:$PORT
    topics: ["r/+"]
    client_id: sluice-test-raw
    topic_field: topic
  js:
    type: mqtt
    broker: 127.0.0.1:$PORT
    topics: ["r/+"]
    client_id: sluice-test-json
    format: json
sinks:
  raw_out:
    type: file
    inputs: [raw]
    path: $WORK/raw.ndjson
  json_out:
    type: file
    inputs: [js]
    path: $WORK/json.ndjson
  errors:
    type: file
    inputs: [js.errors]
    path: $WORK/errors.ndjson
YAML
    run_sluice "$WORK/raw.yaml"
    sleep 1
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t r/a -m 'hello there'
    mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t r/b -m '{"t":21.5}'
    wait_for_lines "$WORK/raw.ndjson" 2 5
    wait_for_lines "$WORK/errors.ndjson" 1 5
    stop_sluice
    grep -q '{"message":"hello there","topic":"r/a"}' "$WORK/raw.ndjson" ||
        problems+=("raw.ndjson: $(head -c 300 "$WORK/raw.ndjson")")
    grep -q '{"t":21.5}' "$WORK/json.ndjson" || problems+=("json.ndjson: $(head -c 300 "$WORK/json.ndjson")")
    grep -q '"error":"not JSON.*"message":"hello there"' "$WORK/errors.ndjson" ||
        problems+=("errors.ndjson: $(head -c 300 "$WORK/errors.ndjson")")
}
case_raw_and_errors
verdict "source: raw payloads, topic field, bad JSON rejected with a reason"

# ---- broker restart mid-run: no QoS 1 message lost -------------------------
case_restart() {
    source_pipeline sluice-test-2 "$WORK/restart.ndjson"
    run_sluice "$WORK/source.yaml"
    sleep 1
    publish 1 "$N"
    wait_for_lines "$WORK/restart.ndjson" "$N" 10
    stop_broker
    sleep 1
    start_broker        # the session (subscription, queue) survived
    publish $((N + 1)) $((2 * N))   # maybe before sluice is back: queued for it
    wait_for_lines "$WORK/restart.ndjson" $((2 * N)) 20
    stop_sluice
    want_all "$WORK/restart.ndjson" 1 $((2 * N))
    grep -q "lost the broker" "$WORK/err" || problems+=("no reconnection logged: $(head -c 300 "$WORK/err")")
}
case_restart
verdict "source: a broker restart mid-run loses no QoS 1 message"

# ---- sluice sink is read by mosquitto_sub -----------------------------------
case_sink() {
    mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t 'out/#' -v >"$WORK/sub.txt" 2>&1 &
    local sub=$!
    sleep 0.5
    cat >"$WORK/sink.yaml" <<YAML
sources:
  gen:
    type: generate
    count: $N
    sensors: 3
sinks:
  broker:
    type: mqtt
    inputs: [gen]
    broker: 127.0.0.1:$PORT
    topic: "out/{sensor}"
    qos: 1
YAML
    timeout 60 "$SLUICE" run --quiet "$WORK/sink.yaml" >"$WORK/out" 2>"$WORK/err"
    status=$?
    wait_for_lines "$WORK/sub.txt" "$N" 10
    kill "$sub" 2>/dev/null
    wait "$sub" 2>/dev/null
    [ "$status" -eq 0 ] || problems+=("exit status $status: $(head -c 300 "$WORK/err")")
    [ "$(lines "$WORK/sub.txt")" -eq "$N" ] || problems+=("mosquitto_sub got $(lines "$WORK/sub.txt") messages, wanted $N")
    grep -q '^out/sensor-2 {"time":"2026-11-24T10:00:00.001Z","sensor":"sensor-2"' "$WORK/sub.txt" ||
        problems+=("sub.txt: $(head -c 300 "$WORK/sub.txt")")
}
case_sink
verdict "sink: $N records published with QoS 1 reach mosquitto_sub, topic per sensor"

# ---- sink: a record without the topic's field is rejected --------------------
case_sink_errors() {
    cat >"$WORK/sinkerr.yaml" <<YAML
sources:
  gen:
    type: generate
    count: 3
sinks:
  broker:
    type: mqtt
    inputs: [gen]
    broker: 127.0.0.1:$PORT
    topic: "out/{room}"
  errors:
    type: file
    inputs: [broker.errors]
    path: $WORK/sinkerr.ndjson
YAML
    timeout 60 "$SLUICE" run --quiet "$WORK/sinkerr.yaml" >"$WORK/out" 2>"$WORK/err"
    [ "$(lines "$WORK/sinkerr.ndjson")" -eq 3 ] || problems+=("$(lines "$WORK/sinkerr.ndjson") errors, wanted 3")
    grep -q "no field 'room' for the destination" "$WORK/sinkerr.ndjson" ||
        problems+=("sinkerr.ndjson: $(head -c 300 "$WORK/sinkerr.ndjson")")
}
case_sink_errors
verdict "sink: records lacking the topic's field go to NAME.errors"

# ---- validation ---------------------------------------------------------------
case_validate() {
    cat >"$WORK/bad.yaml" <<YAML
sources:
  m:
    type: mqtt
    broker: nowhere
    topics: ["a/#/b"]
sinks:
  p:
    type: mqtt
    inputs: [m]
    topic: "x/{"
YAML
    "$SLUICE" validate "$WORK/bad.yaml" 2>"$WORK/err"
    status=$?
    [ "$status" -eq 1 ] || problems+=("validate exit status $status")
    grep -q "the broker must be HOST:PORT" "$WORK/err" || problems+=("no broker error: $(cat "$WORK/err")")
    grep -q "not a valid topic filter" "$WORK/err" || problems+=("no topic error: $(cat "$WORK/err")")
    grep -q "must be followed by a field name" "$WORK/err" || problems+=("no template error: $(cat "$WORK/err")")
}
case_validate
verdict "validate: bad broker, topic filter and topic template are reported"

finish mqtt
