#!/usr/bin/env bash
# bench/mqtt/run.sh: the mqtt source benchmark, run by `make bench` after
# the scale-out benchmark.
#
#   bash bench/mqtt/run.sh [BUILD/sluice] [MESSAGES]
#
# For each scenario (QoS, mosquitto's max_inflight_messages) a mosquitto of
# its own is started on a free loopback port (no persistence, unbounded
# session queues: max_queued_messages 0, QoS 0 messages queued too). Two
# persistent sessions subscribe and disconnect: one for mosquitto_sub, the
# baseline (the broker's own client), one for sluice. Then MESSAGES
# (default 200,000) small JSON messages are published with QoS 1
# (bench/mqtt/helper.py: one pipelined connection, all acknowledged), so
# both sessions hold them all queued and the publisher's speed is not
# measured. Each session is then drained in turn:
#   - mosquitto_sub -c -i ID -q QOS -C MESSAGES, timed from its start to
#     its exit;
#   - `sluice run --api` of an mqtt source (format json) -> file sink to
#     /dev/null, timed from its start to the moment its sink has received
#     every message (/stats polled every 10 ms).
# Prints records/s for both and sluice's ratio to mosquitto_sub. Counts
# are checked: mosquitto_sub's lines, the sink's records_in (no more, no
# fewer, no errors), and afterwards nothing left unacknowledged in sluice's
# session; a broken run fails instead of printing a fast number.
# Everything written goes to BUILD/bench/mqtt/ (per scenario: broker
# configuration and log, pipeline, sluice's log and final /stats,
# mosquitto_sub's output, what the check found left). BROKER_LOG=1 makes
# the brokers log every packet (log_type all; slower).
set -euo pipefail

cd "$(dirname "$0")/../.."
sluice=$(realpath "${1:-build/sluice}")
messages=${2:-200000}
out=$(dirname "$sluice")/bench/mqtt
rm -rf "$out"
mkdir -p "$out"
helper=$PWD/bench/mqtt/helper.py

broker=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$broker" ] || { echo "mqtt bench: mosquitto not found; 'make deps' installs it" >&2; exit 1; }
command -v mosquitto_sub >/dev/null || { echo "mqtt bench: mosquitto_sub not found (mosquitto-clients)" >&2; exit 1; }

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
broker_pid=
sluice_pid=
stop_all() {
    [ -n "$sluice_pid" ] && kill -9 "$sluice_pid" 2>/dev/null
    [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    return 0
}
trap stop_all EXIT

now() { date +%s%N; }
rate() { awk -v n="$messages" -v ns="$1" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }
fail() { echo "mqtt bench: $*" >&2; exit 1; }

# start_broker NAME INFLIGHT: a fresh mosquitto; sets port.
start_broker() {
    port=$(free_port)
    cat >"$out/$1.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
queue_qos0_messages true
max_inflight_messages $2
sys_interval 1
user $(id -un)
${BROKER_LOG:+log_type all}
CONF
    "$broker" -c "$out/$1.conf" >"$out/$1-broker.log" 2>&1 &
    broker_pid=$!
    local _
    for _ in $(seq 50); do
        mosquitto_sub -h 127.0.0.1 -p "$port" -t probe -E 2>/dev/null && return
        sleep 0.1
    done
    fail "mosquitto did not start: $(tail -n 3 "$out/$1-broker.log")"
}

stop_broker() {
    kill "$broker_pid" 2>/dev/null || true
    wait "$broker_pid" 2>/dev/null || true
    broker_pid=
}

# scenario NAME QOS INFLIGHT: sets rate_sub and rate_sluice.
scenario() {
    local name=$1 qos=$2 inflight=$3 start took got api left
    start_broker "$name" "$inflight"
    for id in bench-sub bench-sluice; do
        mosquitto_sub -h 127.0.0.1 -p "$port" -q "$qos" -c -i "$id" -t 'bench/#' -E ||
            fail "$name: cannot subscribe $id"
    done
    /usr/bin/python3 "$helper" publish "$port" bench/readings "$messages" || fail "$name: publishing failed"

    start=$(now)
    timeout 120 mosquitto_sub -h 127.0.0.1 -p "$port" -q "$qos" -c -i bench-sub -t 'bench/#' \
        -C "$messages" >"$out/$name-sub.ndjson" || fail "$name: mosquitto_sub did not get every message"
    took=$(($(now) - start))
    got=$(wc -l <"$out/$name-sub.ndjson")
    [ "$got" -eq "$messages" ] || fail "$name: mosquitto_sub got $got of $messages messages"
    rate_sub=$(rate "$took")

    cat >"$out/$name.yaml" <<YAML
sources:
  broker:
    type: mqtt
    broker: 127.0.0.1:$port
    topics: ["bench/#"]
    qos: $qos
    client_id: bench-sluice
    format: json
sinks:
  out: {type: file, inputs: [broker], path: /dev/null}
YAML
    api=127.0.0.1:$(free_port)
    start=$(now)
    "$sluice" run --quiet --api "$api" "$out/$name.yaml" 2>"$out/$name-sluice.log" &
    sluice_pid=$!
    got=$(/usr/bin/python3 "$helper" wait "$api" "$messages" 120) ||
        fail "$name: sluice's sink got $got of $messages messages in 120 s: $(tail -c 400 "$out/$name-sluice.log")"
    took=$(($(now) - start))
    rate_sluice=$(rate "$took")
    sleep 0.3       # the last PUBACKs; then anything more would be a duplicate
    curl -s "http://$api/stats" >"$out/$name-stats.json"
    kill -TERM "$sluice_pid"
    wait "$sluice_pid" || fail "$name: sluice exited with status $?: $(tail -c 400 "$out/$name-sluice.log")"
    sluice_pid=
    /usr/bin/python3 - "$out/$name-stats.json" "$messages" <<'PY' || fail "$name: wrong counts: $(cat "$out/$name-stats.json")"
import json, sys
c = {x["name"]: x for x in json.load(open(sys.argv[1]))["components"]}
n = int(sys.argv[2])
sys.exit(0 if c["broker"]["records_out"] == n and c["out"]["records_in"] == n
         and c["broker"]["errors"] == 0 and c["out"]["errors"] == 0 else 1)
PY
    # The broker may still be reading PUBACKs that sluice sent before it
    # exited: wait until it has read up to the end of that connection, when
    # the only client left is the one asking (\$SYS, published every
    # second: the first value, retained, may predate the asking).
    start=$(now)
    # shellcheck disable=SC2016  # $SYS is a topic, not an expansion
    until [ "$( { timeout 5 mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/clients/connected' \
                      -C 2 || true; } | awk 'END { print NR == 2 ? $0 : 99 }')" -lt 2 ]; do
        [ $(($(now) - start)) -lt 60000000000 ] || fail "$name: sluice's connection still open 60 s after the drain"
        sleep 0.2
    done
    if [ "$qos" = 1 ]; then     # every message acknowledged: the session is empty
        left=$( { timeout 10 mosquitto_sub -h 127.0.0.1 -p "$port" -q 1 -c -i bench-sluice \
                    -t 'bench/#' -W 1 2>/dev/null || true; } | tee "$out/$name-left.ndjson" | wc -l)
        [ "$left" -eq 0 ] || fail "$name: $left messages left unacknowledged in sluice's session"
    fi
    stop_broker
}

echo "== mqtt source: $messages JSON messages queued in a persistent session, mosquitto $("$broker" -h 2>/dev/null | awk 'NR==1 {print $3}') on loopback"
printf '  %-28s %14s %14s %8s\n' scenario "mosquitto_sub" "sluice" ratio
for spec in "qos0 0 20 QoS 0" "qos1-inflight20 1 20 QoS 1, max_inflight 20" \
            "qos1-inflight1000 1 1000 QoS 1, max_inflight 1000" "qos1-unlimited 1 0 QoS 1, max_inflight 0"; do
    read -r name qos inflight label <<<"$spec"
    scenario "$name" "$qos" "$inflight"
    printf '  %-28s %10s r/s %10s r/s %7sx\n' "$label" "$rate_sub" "$rate_sluice" \
        "$(awk -v a="$rate_sluice" -v b="$rate_sub" 'BEGIN { printf "%.2f", a / b }')"
done
echo "  (records/s from the start of the client to the last message received; sluice: mqtt" \
     "source -> file sink to /dev/null, PUBACKs after the sink; $(nproc) cores shared by" \
     "mosquitto and the client)"
