#!/usr/bin/env bash
# tests/e2e/mqtt.sh BINARY: end-to-end tests of the mqtt source and sink
# against a real mosquitto broker on loopback, started here and stopped at
# the end. Messages are published with mosquitto_pub and received with
# mosquitto_sub (Debian package mosquitto-clients). The source's own MQTT
# client is checked against it: QoS 1 messages acknowledged only once
# written (a kill -9 loses none), credentials, TLS (certificates made here
# with the openssl CLI), a broker restart, and the rate through mosquitto's
# default in-flight window of 20 messages.
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

for tool in mosquitto mosquitto_pub mosquitto_sub mosquitto_passwd openssl; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
        echo "mqtt: $tool is missing (scripts/deps.sh installs it)" >&2
        exit 2
    }
done
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

MOSQUITTO_PASSWD=$(command -v mosquitto_passwd || echo /usr/bin/mosquitto_passwd)
AUTH_PID=

cleanup() {
    [ -n "$SLUICE_PID" ] && kill -9 "$SLUICE_PID" 2>/dev/null
    [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
    [ -n "$AUTH_PID" ] && kill "$AUTH_PID" 2>/dev/null && wait "$AUTH_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)
TLS_PORT=$(free_port)

# certificates: a CA, a server certificate it signs for 127.0.0.1 and
# localhost, and another CA that signed nothing of the broker's.
make_certificates() {
    local d=$WORK/tls
    mkdir -p "$d"
    (
        cd "$d" &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sluice test CA" \
            -keyout ca.key -out ca.pem &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
            -keyout other.key -out other.pem &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
            -keyout server.key -out server.csr &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >san.ext &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile san.ext -out server.pem
    ) >"$WORK/openssl.log" 2>&1 || { echo "mqtt: openssl failed: $(tail -3 "$WORK/openssl.log")" >&2; exit 1; }
    chmod 644 "$d"/*.key
}
make_certificates

# The broker keeps sessions across its restarts (persistence), as a real
# deployment would, so that a restart loses no QoS 1 message; run as root,
# mosquitto would otherwise switch to a user that cannot write $WORK.
# max_inflight_messages keeps its default (20); the session queue beyond it
# is unbounded (max_queued_messages 0) so that publishing faster than the
# source reads drops nothing. A second listener speaks TLS. Every packet
# received is logged (log_type all), with its second.
cat >"$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
log_type all
allow_anonymous true
persistence true
persistence_location $WORK/
autosave_interval 1
max_queued_messages 0
user $(id -un)
listener $TLS_PORT 127.0.0.1
cafile $WORK/tls/ca.pem
certfile $WORK/tls/server.pem
keyfile $WORK/tls/server.key
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

source_pipeline() { # CLIENT_ID OUT [DELAY_MS [EXTRA_SETTINGS [BROKER]]]
    cat >"$WORK/source.yaml" <<YAML
sources:
  sensors:
    type: mqtt
    broker: ${5:-127.0.0.1:$PORT}
    topics: ["s/#"]
    qos: 1
    client_id: $1
    format: json
${4:-}
sinks:
  out:
    type: file
    inputs: [sensors]
    path: $2
    append: true
    delay_ms: ${3:-0}
YAML
}

# distinct FILE: how many distinct n in FILE.
distinct() {
    /usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)["n"] for l in open(sys.argv[1])}))' "$1" 2>/dev/null || echo 0
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

# ---- kill -9 while records are in flight: the broker delivers them again ----
# The file sink takes a second per batch, so when sluice is killed just
# after the first batch is written it holds the rest of the messages,
# received and not written. They were not acknowledged (the PUBACK waits for
# the commit), so the persistent session delivers them to the restarted
# pipeline. A source acknowledging on receipt (libmosquitto 2.0) loses them.
case_kill() {
    local n=1000 out=$WORK/kill.ndjson before
    source_pipeline sluice-test-kill "$out" 1000
    run_sluice "$WORK/source.yaml"
    sleep 1
    publish 1 "$n"
    wait_for_lines "$out" 1 20
    kill -9 "$SLUICE_PID"
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
    before=$(lines "$out")
    [ "$before" -lt "$n" ] || problems+=("everything was written before the kill: nothing tested")
    source_pipeline sluice-test-kill "$out" 0
    run_sluice "$WORK/source.yaml"
    local tenths=0
    while [ "$(distinct "$out")" -lt "$n" ] && [ "$tenths" -lt 300 ]; do sleep 0.1; tenths=$((tenths + 1)); done
    stop_sluice
    want_all "$out" 1 "$n"
    # Only what was written before the kill and not yet acknowledged comes twice.
    local dups=$(($(lines "$out") - $(distinct "$out")))
    [ "$dups" -le "$before" ] || problems+=("$dups duplicates, more than the $before lines written before the kill")
    echo "  (killed at $before of $n lines; $dups duplicates after the restart)"
}
case_kill
verdict "source: kill -9 with QoS 1 records in flight, restart: every message arrives"

# ---- a sink that fails: what it did not write is not acknowledged ------------
# The file sink writes to /dev/full, fails on its first batch and the run
# ends; the source hears that the batch was abandoned, acknowledges none of
# it nor anything after it, and asks the broker to deliver them again. A
# second run with a working sink then gets every message from the session.
case_abandon() {
    local n=200 out=$WORK/abandon.ndjson tenths=0
    source_pipeline sluice-test-abandon /dev/full
    run_sluice "$WORK/source.yaml"
    sleep 1
    publish 1 "$n"
    while kill -0 "$SLUICE_PID" 2>/dev/null && [ "$tenths" -lt 200 ]; do sleep 0.1; tenths=$((tenths + 1)); done
    stop_sluice
    [ "$status" -ne 0 ] || problems+=("the run whose sink failed exited 0")
    grep -q "records were not written: reconnecting" "$WORK/err" ||
        problems+=("no abandoned batch logged: $(head -c 300 "$WORK/err")")
    source_pipeline sluice-test-abandon "$out"
    run_sluice "$WORK/source.yaml"
    tenths=0
    while [ "$(distinct "$out")" -lt "$n" ] && [ "$tenths" -lt 200 ]; do sleep 0.1; tenths=$((tenths + 1)); done
    stop_sluice
    want_all "$out" 1 "$n"
}
case_abandon
verdict "source: records a failed sink did not write are not acknowledged; the next run gets them"

# ---- a stalled sink: the connection stays up, its pings go on --------------
# Each batch takes 11 s to write and the queues hold one batch (--queue 1):
# the third batch waits in sl_emit for about 10 s, longer than 1.5 x
# keepalive_s (7.5 s). The network thread keeps pinging meanwhile: the
# broker hears from the client at least every keepalive_s and never drops
# it (a source whose one thread waits in sl_emit, as the libmosquitto one
# did, goes silent for the whole wait). The last batch commits after the
# stop: the connection is kept for its PUBACK too.
case_stall() {
    local out=$WORK/stall.ndjson round
    source_pipeline sluice-test-stall "$out" 11000 "    keepalive_s: 5"
    "$SLUICE" run --quiet --queue 1 "$WORK/source.yaml" >"$WORK/out" 2>"$WORK/err" &
    SLUICE_PID=$!
    sleep 1
    for round in 0 1 2; do
        publish $((round * 50 + 1)) $((round * 50 + 50))
        sleep 1
    done
    wait_for_lines "$out" 150 60
    stop_sluice
    want_all "$out" 1 150
    ! grep -q "lost the broker" "$WORK/err" || problems+=("reconnected: $(head -c 300 "$WORK/err")")
    ! grep -q "sluice-test-stall.*exceeded timeout" "$WORK/broker.log" ||
        problems+=("the broker timed the client out: $(grep sluice-test-stall "$WORK/broker.log" | tail -2)")
    local gap
    gap=$(/usr/bin/python3 - "$WORK/broker.log" <<'PY'
import re, sys
times = [int(m.group(1)) for m in (re.match(r"(\d+): (Received \w+|New client connected) .*sluice-test-stall", l)
                                   for l in open(sys.argv[1])) if m]
print(max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 999)
PY
    )
    [ "$gap" -le 6 ] || problems+=("the client was silent for $gap s (keepalive_s 5)")
}
case_stall
verdict "source: a sink stalled past 1.5 x keepalive: no disconnection, every message"

# ---- credentials: right ones work, wrong ones are refused with the reason -----
AUTH_PORT=$(free_port)
start_auth_broker() {
    "$MOSQUITTO_PASSWD" -c -b "$WORK/passwords" reader 'right-secret' &&
        "$MOSQUITTO_PASSWD" -b "$WORK/passwords" writer 'writer-secret' || return 1
    chmod 644 "$WORK/passwords"
    cat >"$WORK/auth.conf" <<CONF
listener $AUTH_PORT 127.0.0.1
allow_anonymous false
password_file $WORK/passwords
user $(id -un)
CONF
    "$MOSQUITTO" -c "$WORK/auth.conf" >>"$WORK/auth.log" 2>&1 &
    AUTH_PID=$!
    for _ in $(seq 50); do
        mosquitto_pub -h 127.0.0.1 -p "$AUTH_PORT" -u writer -P writer-secret -t probe -m x 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

case_auth() {
    start_auth_broker || { problems+=("the broker with a password file did not start: $(tail -3 "$WORK/auth.log")"); return; }
    local out=$WORK/auth.ndjson
    source_pipeline sluice-test-auth "$out" 0 "    username: reader
    password: right-secret" "127.0.0.1:$AUTH_PORT"
    run_sluice "$WORK/source.yaml"
    sleep 1
    printf '{"n":%d}\n' 1 2 3 | mosquitto_pub -h 127.0.0.1 -p "$AUTH_PORT" -u writer -P writer-secret -q 1 -t s/a -l
    wait_for_lines "$out" 3 10
    stop_sluice
    want_all "$out" 1 3
    source_pipeline sluice-test-auth "$WORK/noauth.ndjson" 0 "    username: reader
    password: wrong-secret" "127.0.0.1:$AUTH_PORT"
    run_sluice "$WORK/source.yaml"
    sleep 1.5
    stop_sluice
    grep -q "refused the connection: \(bad user name or password\|not authorized\)" "$WORK/err" ||
        problems+=("no refusal logged: $(head -c 300 "$WORK/err")")
}
case_auth
verdict "source: username/password accepted; wrong ones refused with the reason in the log"

# ---- TLS: the broker's certificate checked against tls_ca_file -------------
case_tls() {
    local out=$WORK/tls.ndjson
    source_pipeline sluice-test-tls "$out" 0 "    tls_ca_file: $WORK/tls/ca.pem" "127.0.0.1:$TLS_PORT"
    run_sluice "$WORK/source.yaml"
    sleep 1
    publish 1 50
    wait_for_lines "$out" 50 10
    stop_sluice
    want_all "$out" 1 50
    grep -q "connected to 127.0.0.1:$TLS_PORT" "$WORK/err" || problems+=("no TLS connection logged: $(head -c 300 "$WORK/err")")
    source_pipeline sluice-test-tls-bad "$WORK/tlsbad.ndjson" 0 "    tls_ca_file: $WORK/tls/other.pem" "localhost:$TLS_PORT"
    run_sluice "$WORK/source.yaml"
    sleep 1.5
    stop_sluice
    grep -q "certificate is not trusted" "$WORK/err" ||
        problems+=("no certificate error logged: $(head -c 300 "$WORK/err")")
    [ "$(lines "$WORK/tlsbad.ndjson")" = 0 ] || problems+=("records came through an untrusted broker")
}
case_tls
verdict "source: TLS with tls_ca_file receives; a broker signed by another CA is refused"

# ---- throughput through the default in-flight window of 20 ----------------------
case_rate() {
    local n=5000 out=$WORK/rate.ndjson start end
    source_pipeline sluice-test-rate "$out" 0
    run_sluice "$WORK/source.yaml"
    sleep 1
    start=$(date +%s.%N)
    publish 1 "$n"
    wait_for_lines "$out" "$n" 120
    end=$(date +%s.%N)
    stop_sluice
    want_all "$out" 1 "$n"
    /usr/bin/python3 -c 'import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print(f"  ({n} QoS 1 messages in {t:.2f} s: {n / t:.0f} messages/s, max_inflight_messages 20)")' \
        "$n" "$start" "$end"
}
case_rate
verdict "source: 5000 QoS 1 messages through mosquitto's default in-flight window"

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
    password: secret
    tls_ca_file: missing-ca.pem
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
    grep -q "bad.yaml:6:.*a password needs a username" "$WORK/err" || problems+=("no password error: $(cat "$WORK/err")")
    grep -q "bad.yaml:7:.*cannot read .*missing-ca.pem" "$WORK/err" || problems+=("no CA file error: $(cat "$WORK/err")")
}
case_validate
verdict "validate: every bad setting (broker, topic filter, credentials, CA file, topic template) is reported with its line"

finish mqtt
