#!/usr/bin/env bash
# tests/e2e/outage.sh BINARY: every network sink rides out an outage of its
# server without losing a record (issue 7).
#
# One run of sluice fans numbered records (a tcp source fed at a steady
# pace by this script) out to the five network sinks at once, each against
# a real server on loopback started here: the http sink to
# tests/e2e/sinks/server.py, elasticsearch to tests/e2e/es/bulk_server.py,
# postgres to a throwaway PostgreSQL cluster, mqtt to mosquitto (QoS 1,
# read back by mosquitto_sub and by an mqtt source of the same run) and
# nats to nats-server with JetStream. Once records flow, every server is
# stopped for SLUICE_OUTAGE_SECONDS (default 30) while the input goes on,
# then started again on the same port and storage, and the input finished.
#
# Checked: sluice stays up and slows its source down during the outage
# (backpressure, bounded memory), its /metrics show each sink's retries
# and no rejection, and afterwards every id is at every destination, with
# duplicates only where the sink's semantics allow them: none in
# Elasticsearch (create with _id) and NATS (Nats-Msg-Id, within the
# stream's duplicate window); at most one batch in PostgreSQL (a COMMIT
# whose answer was lost) and over HTTP (a response lost); MQTT QoS 1 is at
# least once. The last line is "outage: N passed, M failed".
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
OUTAGE=${SLUICE_OUTAGE_SECONDS:-30}
RATE=200                        # records per second fed to sluice
N=$((RATE * (OUTAGE + 15)))     # about 5 s before the outage, 10 s after
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
WORK=$(mktemp -d)
chmod 755 "$WORK"
declare -A PIDS=()              # server name -> pid, while it runs
SLUICE_PID=
FEEDER_PID=

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in "$NATS_SERVER" "$MOSQUITTO" mosquitto_sub psql curl "$PGBIN/pg_ctl"; do
    command -v "$tool" >/dev/null || {
        echo "outage: $tool is missing (scripts/deps.sh installs it)" >&2
        echo "outage: 0 passed, 1 failed"
        exit 1
    }
done

# ---- The servers -----------------------------------------------------------
# Each has start_NAME and stop_NAME; a restart reuses the port and the
# storage, as a real server coming back would.

HTTP_PORT=$(free_port)
ES_PORT=$(free_port)
PG_PORT=$(free_port)
MQTT_PORT=$(free_port)
NATS_PORT=$(free_port)
API_PORT=$(free_port)

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds.
wait_until() {
    local seconds=$1 tenths=0
    shift
    until "$@" >/dev/null 2>&1; do
        [ "$tenths" -ge $((seconds * 10)) ] && return 1
        sleep 0.2
        tenths=$((tenths + 2))
    done
}

listening() { # PORT: something accepts connections there
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_http() {
    mkdir -p "$WORK/http"
    python3 "$HERE/sinks/server.py" "$WORK/http" --port "$HTTP_PORT" &
    PIDS[http]=$!
    wait_until 10 listening "$HTTP_PORT"
}

start_es() {
    mkdir -p "$WORK/es"
    python3 "$HERE/es/bulk_server.py" "$WORK/es" --port "$ES_PORT" &
    PIDS[es]=$!
    wait_until 10 listening "$ES_PORT"
}

# PostgreSQL refuses to run as root: the cluster belongs to `postgres` then.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

init_pg() {
    mkdir -p "$WORK/pg"
    echo outage-secret >"$WORK/pg/pwfile"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK/pg"
    as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --pwfile="$WORK/pg/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$WORK/initdb.log" 2>&1
}

start_pg() {
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -t 60 \
        -o "-k $WORK/pg -p $PG_PORT -h 127.0.0.1" start >/dev/null
}

stop_pg() {
    [ -f "$WORK/pg/data/postmaster.pid" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w -t 60 stop >/dev/null 2>&1
}

pgq() { # QUERY: its rows
    PGPASSWORD=outage-secret psql -X -q -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$1" 2>&1
}

# Persistence keeps the subscribers' sessions and queued QoS 1 messages
# across the broker's restart (a clean stop saves them); no limit on a
# session's queue, which fills while the reader is away.
cat >"$WORK/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $WORK/
max_queued_messages 0
user $(id -un)
CONF

start_mqtt() {
    "$MOSQUITTO" -c "$WORK/mosquitto.conf" >>"$WORK/mosquitto.log" 2>&1 &
    PIDS[mqtt]=$!
    wait_until 10 listening "$MQTT_PORT"
}

# The independent reader of the mqtt sink: a persistent QoS 1 session, so
# that it is sent what arrived while it was away.
start_mqtt_reader() {
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i outage-reader -t 'out/#' \
        >>"$WORK/mqtt.ndjson" 2>>"$WORK/mosquitto_sub.log" &
    PIDS[mqtt_reader]=$!
}

start_nats() {
    "$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/jetstream" >>"$WORK/nats.log" 2>&1 &
    PIDS[nats]=$!
    wait_until 10 listening "$NATS_PORT"
}

# stop_server NAME [SIGNAL]: ends one of the processes above (default
# SIGKILL: the harshest outage; mosquitto and nats-server get SIGTERM so
# that they keep what they acknowledged, as their storage promises).
# signal_server NAME [SIGNAL] only sends the signal, so that several
# servers can be stopped at once.
signal_server() {
    [ -n "${PIDS[$1]:-}" ] && kill "-${2:-KILL}" "${PIDS[$1]}" 2>/dev/null
}

# reap_server NAME waits for a signalled server to end.
reap_server() {
    [ -n "${PIDS[$1]:-}" ] && wait "${PIDS[$1]}" 2>/dev/null
    unset "PIDS[$1]"
}

stop_server() {
    signal_server "$@"
    reap_server "$1"
}

cleanup() {
    [ -n "$FEEDER_PID" ] && kill "$FEEDER_PID" 2>/dev/null
    [ -n "$SLUICE_PID" ] && kill -9 "$SLUICE_PID" 2>/dev/null
    local name
    for name in "${!PIDS[@]}"; do stop_server "$name" TERM; done
    stop_pg
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

CC=$(command -v clang-19 || echo cc)
"$CC" -std=c17 -O1 -o "$WORK/jsctl" "$HERE/nats/jsctl.c" -lnats || {
    echo "outage: cannot build jsctl (libnats-dev missing?)" >&2
    exit 2
}
jsctl() { "$WORK/jsctl" "nats://127.0.0.1:$NATS_PORT" "$@"; }

setup() {
    init_pg && start_pg || { echo "outage: PostgreSQL: $(tail -n 3 "$WORK/initdb.log" "$WORK/pg/log" 2>/dev/null)" >&2; return 1; }
    pgq "CREATE TABLE outage (id BIGINT, note TEXT)" >/dev/null
    start_http && start_es && start_mqtt && start_nats || { echo "outage: a server did not start" >&2; return 1; }
    jsctl create OUT 'out.>' || return 1
    start_mqtt_reader
}
if ! setup; then
    echo "outage: 0 passed, 1 failed"
    exit 1
fi

# ---- The run ---------------------------------------------------------------

# Each sink has a source of its own, fed the same lines: with one source
# fanning out, the first sink to block would stop the flow to the others,
# which would then sit idle through the outage instead of retrying.
SINKS=(web search db broker stream)
declare -A TCP_PORTS=()
{
    echo "sources:"
    for sink in "${SINKS[@]}"; do
        TCP_PORTS[$sink]=$(free_port)
        printf '  feed_%s: {type: tcp, address: "127.0.0.1:%s"}\n' "$sink" "${TCP_PORTS[$sink]}"
    done
    cat <<YAML
  back:
    type: mqtt
    broker: 127.0.0.1:$MQTT_PORT
    topics: ["out/#"]
    qos: 1
    client_id: sluice-outage-back
    format: json
transforms:
YAML
    for sink in "${SINKS[@]}"; do
        printf '  parse_%s: {type: parse_csv, inputs: [feed_%s], columns: [id, note], types: {id: int}}\n' \
            "$sink" "$sink"
    done
    cat <<YAML
sinks:
  web:
    type: http
    inputs: [parse_web]
    url: http://127.0.0.1:$HTTP_PORT/ingest
    timeout_ms: 2000
    max_backoff_ms: 2000
  search:
    type: elasticsearch
    inputs: [parse_search]
    url: http://127.0.0.1:$ES_PORT
    index: outage
    id_field: id
    timeout_ms: 2000
    max_backoff_ms: 2000
  db:
    type: postgres
    inputs: [parse_db]
    conninfo: "host=127.0.0.1 port=$PG_PORT dbname=postgres user=postgres password=outage-secret"
    table: outage
    connect_timeout_s: "2"
    backoff_ms: 100
    max_backoff_ms: 2000
  broker:
    type: mqtt
    inputs: [parse_broker]
    broker: 127.0.0.1:$MQTT_PORT
    client_id: sluice-outage-sink
    topic: "out/r"
  stream:
    type: nats
    inputs: [parse_stream]
    url: nats://127.0.0.1:$NATS_PORT
    subject: "out.r"
    timeout_ms: 2000
    max_backoff_ms: 2000
  back_file:
    type: file
    inputs: [back]
    path: $WORK/back.ndjson
YAML
} >"$WORK/p.yaml"

# The feeder: ids 1..N as "ID,note" lines to each port, RATE a second in
# bursts of a tenth, one thread per port; a blocked send (sluice not
# reading) just delays that port's next burst. It writes how many lines
# the slowest port has been sent to feeder.count.
feed() {
    python3 - "$N" "$RATE" "$WORK/feeder.count" "${TCP_PORTS[@]}" <<'PY'
import os, socket, sys, threading, time
n, rate, count_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ports = [int(p) for p in sys.argv[4:]]
sent = {p: 0 for p in ports}
lock = threading.Lock()

def connect(port):
    for _ in range(100):
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"cannot connect to {port}")

def feed(port):
    s = connect(port)
    burst = max(1, rate // 10)
    done = 0
    while done < n:
        last = min(n, done + burst)
        s.sendall("".join(f"{i},reading {i}\n" for i in range(done + 1, last + 1)).encode())
        done = last
        with lock:
            sent[port] = done
            with open(count_path + ".tmp", "w") as f:
                f.write(str(min(sent.values())))
            os.replace(count_path + ".tmp", count_path)
        time.sleep(0.1)
    s.close()

threads = [threading.Thread(target=feed, args=(p,)) for p in ports]
for t in threads: t.start()
for t in threads: t.join()
PY
}

metric() { # FAMILY COMPONENT: the value in /metrics, empty if none
    curl -s "http://127.0.0.1:$API_PORT/metrics" |
        awk -v m="$1{component=\"$2\"" 'index($0, m) == 1 { print $2 }'
}

records_read() { # by the five tcp sources
    local sink total=0
    for sink in "${SINKS[@]}"; do total=$((total + $(metric sluice_records_in_total "feed_$sink"))); done
    echo "$total"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SLUICE_PID/status" 2>/dev/null; }

# distinct_ids FILE KEY: "DISTINCT TOTAL" of the integer after "KEY": in
# each line of FILE.
distinct_ids() {
    python3 - "$1" "$2" <<'PY'
import re, sys
pattern = re.compile(r'"%s":\s*(\d+)' % re.escape(sys.argv[2]))
ids = []
try:
    for line in open(sys.argv[1]):
        m = pattern.search(line)
        if m: ids.append(int(m.group(1)))
except OSError:
    pass
print(len(set(ids)), len(ids))
PY
}

pg_ids() { pgq "SELECT count(DISTINCT id) || ' ' || count(*) FROM outage"; }
distinct_of() { echo "${1%% *}"; }
total_of() { echo "${1##* }"; }

arrivals() { # how many distinct ids each destination has
    echo "http $(distinct_ids "$WORK/http/received.ndjson" id), es $(distinct_ids "$WORK/es/docs.ndjson" id)," \
         "postgres $(pg_ids), mqtt $(distinct_ids "$WORK/mqtt.ndjson" id), nats $(jsctl count OUT)," \
         "mqtt source $(distinct_ids "$WORK/back.ndjson" id)"
}

# all_arrived: every destination has every id.
all_arrived() {
    [ "$(distinct_of "$(distinct_ids "$WORK/http/received.ndjson" id)")" -eq "$N" ] &&
    [ "$(distinct_of "$(distinct_ids "$WORK/es/docs.ndjson" id)")" -eq "$N" ] &&
    [ "$(distinct_of "$(pg_ids)")" -eq "$N" ] &&
    [ "$(distinct_of "$(distinct_ids "$WORK/mqtt.ndjson" id)")" -eq "$N" ] &&
    [ "$(jsctl count OUT)" -ge "$N" ] &&
    [ "$(distinct_of "$(distinct_ids "$WORK/back.ndjson" id)")" -eq "$N" ]
}

# The default workers: each network sink waits for its server on a
# thread of its own, so the five do not need a worker each.
"$SLUICE" run --api "127.0.0.1:$API_PORT" "$WORK/p.yaml" >"$WORK/sluice.out" 2>"$WORK/sluice.err" &
SLUICE_PID=$!
wait_until 20 listening "${TCP_PORTS[stream]}" || problems+=("sluice does not listen: $(head -c 300 "$WORK/sluice.err")")
feed &
FEEDER_PID=$!

# ---- Case: the outage --------------------------------------------------------
# Records reach every server, then every server goes away at once: all
# together, so that each sink is writing a batch when its server goes (the
# first sink to block stops the flow to all of them).
flowing() { [ "$(lines "$WORK/http/received.ndjson")" -ge "$RATE" ] && [ "$(distinct_of "$(pg_ids)")" -gt 0 ]; }
wait_until 60 flowing || problems+=("records do not flow before the outage: $(head -c 300 "$WORK/sluice.err")")
stop_server mqtt_reader TERM
stop_pg &
stopping_pg=$!
signal_server http
signal_server es
signal_server mqtt TERM
signal_server nats TERM
for name in http es mqtt nats; do reap_server "$name"; done
wait "$stopping_pg"
echo "  servers stopped at $(cat "$WORK/feeder.count") records fed; outage of $OUTAGE s"
sleep 5                         # the queues fill, the source blocks
in_early=$(records_read)
rss_early=$(rss_kib)
sleep $((OUTAGE - 5))
in_late=$(records_read)
rss_late=$(rss_kib)
kill -0 "$SLUICE_PID" 2>/dev/null || problems+=("sluice exited during the outage: $(tail -c 300 "$WORK/sluice.err")")
# Backpressure: the source read (almost) nothing more while the sinks
# waited, whatever the feeder sent meanwhile.
[ -n "$in_early" ] && [ -n "$in_late" ] && [ $((in_late - in_early)) -le $((RATE * 5)) ] ||
    problems+=("the source went on reading during the outage: $in_early then $in_late records")
[ -n "$rss_late" ] && [ "$rss_late" -le $((rss_early + 65536)) ] ||
    problems+=("memory grew during the outage: $rss_early KiB then $rss_late KiB")
echo "  during the outage: source at $in_early then $in_late records; RSS $rss_early then $rss_late KiB"

start_http && start_es && start_pg && start_mqtt && start_nats || problems+=("a server did not come back")
start_mqtt_reader
fed_all() { [ "$(cat "$WORK/feeder.count")" -eq "$N" ]; }
wait_until 180 fed_all || problems+=("sluice did not read its input to the end: $(cat "$WORK/feeder.count") of $N")
wait_until 180 all_arrived ||
    problems+=("not everything arrived within 180 s of the return: $(arrivals); sluice said: $(tail -n 5 "$WORK/sluice.err" | tr '\n' '|')")
kill -0 "$SLUICE_PID" 2>/dev/null || problems+=("sluice is gone after the outage")
verdict "every server away for $OUTAGE s: sluice stays up, its source waits, memory stays flat"

# ---- Case: every id at every destination --------------------------------------
want_ids() { # WHAT "DISTINCT TOTAL" MAX-DUPLICATES
    local distinct total
    distinct=$(distinct_of "$2")
    total=$(total_of "$2")
    want_eq "$1: distinct ids" "$distinct" "$N"
    [ "$total" -le $((N + $3)) ] 2>/dev/null ||
        problems+=("$1: $total records for $N ids: more than $3 duplicates")
    echo "  $1: $distinct distinct ids, $((total - distinct)) duplicates"
}
want_ids "http" "$(distinct_ids "$WORK/http/received.ndjson" id)" 1024
want_ids "elasticsearch" "$(distinct_ids "$WORK/es/docs.ndjson" id)" 0
want_ids "postgres" "$(pg_ids)" 1024
want_ids "mqtt (mosquitto_sub)" "$(distinct_ids "$WORK/mqtt.ndjson" id)" "$N"
want_ids "mqtt source (back)" "$(distinct_ids "$WORK/back.ndjson" id)" "$N"
nats_total=$(jsctl count OUT)
want_eq "nats: messages in the stream (Nats-Msg-Id drops retried copies)" "$nats_total" "$N"
[ -s "$WORK/es/violations.log" ] && problems+=("bulk protocol violations: $(head -c 300 "$WORK/es/violations.log")")
verdict "every id reached every sink; duplicates only where allowed"

# ---- Case: the metrics show the retries, and no rejection --------------------
for sink in "${SINKS[@]}"; do
    retries=$(metric sluice_retries_total "$sink")
    errors=$(metric sluice_errors_total "$sink")
    [ -n "$retries" ] && [ "$retries" -gt 0 ] || problems+=("$sink: sluice_retries_total is '$retries'")
    want_eq "$sink: sluice_errors_total" "$errors" 0
    echo "  $sink: $retries retries"
done
verdict "/metrics: each sink counted its retries and rejected nothing"

# ---- Case: a clean stop after the outage -------------------------------------
kill -TERM "$SLUICE_PID"
wait "$SLUICE_PID"
status=$?
SLUICE_PID=
want_eq "exit status" "$status" 0
grep -q 'rejected:' "$WORK/sluice.err" && problems+=("stderr: $(grep 'rejected:' "$WORK/sluice.err" | head -c 400)")
verdict "SIGTERM after the outage drains and exits 0, nothing rejected"

# ---- Case: what NATS holds, read back through a durable consumer ---------------
cat >"$WORK/dump.yaml" <<YAML
sources:
  js:
    type: nats
    url: nats://127.0.0.1:$NATS_PORT
    stream: OUT
    subject: "out.>"
    durable: outage-check
    format: json
sinks:
  out:
    type: file
    inputs: [js]
    path: $WORK/nats.ndjson
YAML
"$SLUICE" run --quiet "$WORK/dump.yaml" >/dev/null 2>"$WORK/dump.err" &
SLUICE_PID=$!
wait_for_lines "$WORK/nats.ndjson" "$nats_total" 60
kill -TERM "$SLUICE_PID"
wait "$SLUICE_PID"
SLUICE_PID=
want_ids "nats" "$(distinct_ids "$WORK/nats.ndjson" id)" 0
verdict "nats: the stream holds every id once"

[ "$failed" -eq 0 ] || { echo "  sluice said:"; head -n 40 "$WORK/sluice.err" | sed 's/^/    /'; }
finish outage
