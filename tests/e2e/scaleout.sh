#!/usr/bin/env bash
# tests/e2e/scaleout.sh BINARY: end-to-end tests of scale-out (docs/scaling.md):
# a producer pipeline publishes keyed records to a partitioned subject (the
# nats sink's partition_by), and three `sluice run` workers of one group
# share the partitions through leases in a JetStream KeyValue bucket. A real
# nats-server with JetStream runs on a free loopback port, started here.
# tests/e2e/nats/jsctl.c makes the stream and reads the bucket.
#
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last line
# is "scaleout: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
SERVER_PID=
WORKERS=()
N=3000          # records
KEYS=30         # distinct keys (the field `sensor`)
P=12            # partitions
# A worker's records in flight (MAX_ACK_PENDING x its partitions, up to
# 6 x 40 here) must pass its slow sink (200 records/s) well within
# ACK_WAIT_MS, even on a loaded machine: otherwise the server redelivers
# records that are merely slow, and duplicates appear without any failure
# (docs/scaling.md, tuning).
MAX_ACK_PENDING=40
ACK_WAIT_MS=5000

NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_SERVER" ] || { echo "scaleout: nats-server is missing (scripts/deps.sh installs it)" >&2; exit 2; }

cleanup() {
    for pid in "${WORKERS[@]}"; do kill -9 "$pid" 2>/dev/null; done
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$HERE/lib.sh"

start_jetstream
jsctl() { "$WORK/jsctl" "$URL" "$@"; }
jsctl create EVENTS 'events.>' || { echo "scaleout: cannot create the stream" >&2; exit 1; }

# ---- helpers -------------------------------------------------------------------

producer_pipeline() { # FILE: N keyed records and 2 without the key
    cat >"$1" <<YAML
sources:
  gen: {type: generate, count: $N, sensors: $KEYS}
  keyless: {type: generate, count: 2}
transforms:
  strip: {type: fields, inputs: [keyless], remove: [sensor]}
sinks:
  js:
    type: nats
    inputs: [gen, strip]
    url: $URL
    subject: events
    partition_by: sensor
    partitions: $P
  errors: {type: file, inputs: [js.errors], path: $WORK/producer-errors.ndjson}
YAML
}

worker_pipeline() { # FILE GROUP OUT DELAY_MS
    cat >"$1" <<YAML
sources:
  js:
    type: nats
    url: $URL
    stream: EVENTS
    subject: events
    group: $2
    partitions: $P
    batch: 20
    ack_wait_ms: $ACK_WAIT_MS
    max_ack_pending: $MAX_ACK_PENDING
    format: json
sinks:
  out: {type: file, inputs: [js], path: $3, append: true, delay_ms: $4}
YAML
}

# start_workers GROUP DELAY_MS: three workers, outputs $WORK/GROUP-{1,2,3}.ndjson
start_workers() {
    WORKERS=()
    for w in 1 2 3; do
        worker_pipeline "$WORK/$1-$w.yaml" "$1" "$WORK/$1-$w.ndjson" "$2"
        "$SLUICE" run --quiet "$WORK/$1-$w.yaml" >/dev/null 2>"$WORK/$1-$w.err" &
        WORKERS+=($!)
    done
}

stop_workers() { # SIGTERM, then wait for every one: each must exit with 0
    for pid in "${WORKERS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${WORKERS[@]}"; do
        wait "$pid" 2>/dev/null || problems+=("worker $pid exited with status $?")
    done
    WORKERS=()
}

# owners GROUP: "PARTITION OWNER" for every partition held in the bucket.
owners() {
    jsctl kv "sluice-$1" 2>/dev/null | awk '$1 ~ /^partitions\./ && NF == 2 { sub("partitions.", "", $1); print $1, $2 }'
}

# wait_for_spread GROUP WORKERS SECONDS: until every partition is held and
# the owners are WORKERS distinct workers.
wait_for_spread() {
    local tenths=0 held who
    while [ "$tenths" -lt $(($3 * 10)) ]; do
        held=$(owners "$1" | wc -l)
        who=$(owners "$1" | awk '{ print $2 }' | sort -u | wc -l)
        [ "$held" -eq "$P" ] && [ "$who" -eq "$2" ] && return 0
        sleep 0.5
        tenths=$((tenths + 5))
    done
    return 1
}

# stats FILE...: "lines distinct keys_in_several_files files_with_records",
# a record being identified by its `time`.
stats() {
    /usr/bin/python3 - "$@" <<'PY'
import json, sys
lines, ids, owner, several, nonempty = 0, set(), {}, set(), 0
for path in sys.argv[1:]:
    try:
        rows = [json.loads(l) for l in open(path)]
    except FileNotFoundError:
        rows = []
    nonempty += bool(rows)
    for r in rows:
        lines += 1
        ids.add(r["time"])
        if owner.setdefault(r["sensor"], path) != path:
            several.add(r["sensor"])
print(lines, len(ids), len(several), nonempty)
PY
}

distinct_of() { stats "$@" | awk '{ print $2 }'; }

wait_for_all() { # SECONDS FILE...: until the files hold N distinct records
    local tenths=0 limit=$(($1 * 10))
    shift
    while [ "$(distinct_of "$@")" -lt "$N" ] && [ "$tenths" -lt "$limit" ]; do
        sleep 0.5
        tenths=$((tenths + 5))
    done
}

wait_for_any() { # COUNT SECONDS FILE...: until the files hold COUNT lines in all
    local tenths=0 limit=$(($2 * 10)) want=$1
    shift 2
    while [ "$(cat "$@" 2>/dev/null | wc -l)" -lt "$want" ] && [ "$tenths" -lt "$limit" ]; do
        sleep 0.2
        tenths=$((tenths + 2))
    done
}

# ---- settings are checked with their place ---------------------------------------
case_validate() {
    cat >"$WORK/bad.yaml" <<YAML
sources:
  a: {type: nats, stream: S, subject: events, group: g}
  b: {type: nats, stream: S, subject: events, durable: d, group: g, partitions: 4}
  c: {type: nats, stream: S, subject: "events.*", group: g, partitions: 4}
  d: {type: nats, stream: S, subject: events, durable: d, partitions: 4}
sinks:
  s: {type: nats, inputs: [a, b, c, d], subject: events, partition_by: sensor}
YAML
    "$SLUICE" validate "$WORK/bad.yaml" >"$WORK/out" 2>&1
    status=$?
    [ "$status" -ne 0 ] || problems+=("validate accepted bad settings")
    grep -q "bad.yaml:2:[0-9]*: .*'group' needs 'partitions'" "$WORK/out" || problems+=("no error for a group without partitions")
    grep -q "bad.yaml:3:[0-9]*: .*'durable' and 'group' exclude each other" "$WORK/out" || problems+=("no error for durable with group")
    grep -q "bad.yaml:4:[0-9]*: .*no wildcards" "$WORK/out" || problems+=("no error for a wildcard subject in a group")
    grep -q "bad.yaml:5:[0-9]*: .*'partitions' needs 'group'" "$WORK/out" || problems+=("no error for partitions without a group")
    grep -q "bad.yaml:7:[0-9]*: .*'partition_by' and 'partitions' go together" "$WORK/out" || problems+=("no error for partition_by without partitions")
    [ ${#problems[@]} -eq 0 ] || problems+=("validate said: $(head -c 600 "$WORK/out")")
}
case_validate
verdict "settings: group, partitions and partition_by are checked, with file:line:column"

# ---- three workers share the partitions; each key stays in one worker ------------
case_spread() {
    start_workers a 0
    wait_for_spread a 3 30 || problems+=("partitions not spread over 3 workers: $(owners a | tr '\n' ' ')")
    local spread
    spread=$(owners a | awk '{ print $2 }' | sort | uniq -c | awk '{ printf "%s ", $1 }')
    producer_pipeline "$WORK/producer.yaml"
    timeout 60 "$SLUICE" run --quiet "$WORK/producer.yaml" >/dev/null 2>"$WORK/producer.err" ||
        problems+=("the producer failed: $(head -c 300 "$WORK/producer.err")")
    want_eq "messages in the stream" "$(jsctl count EVENTS)" "$N"
    want_eq "records without the key rejected" "$(lines "$WORK/producer-errors.ndjson")" 2
    grep -q "no field 'sensor' to partition by" "$WORK/producer-errors.ndjson" ||
        problems+=("the rejection has no reason: $(head -c 300 "$WORK/producer-errors.ndjson")")
    local files=("$WORK"/a-1.ndjson "$WORK"/a-2.ndjson "$WORK"/a-3.ndjson)
    wait_for_all 60 "${files[@]}"
    local w
    for w in 1 2 3; do
        grep -q "released\|lost" "$WORK/a-$w.err" && problems+=("worker $w moved partitions: $(grep -m3 'released\|lost' "$WORK/a-$w.err")")
    done
    stop_workers
    read -r total distinct several nonempty <<<"$(stats "${files[@]}")"
    want_eq "distinct records delivered" "$distinct" "$N"
    want_eq "records delivered (duplicates without failures)" "$total" "$N"
    want_eq "keys seen in more than one worker" "$several" 0
    want_eq "workers that got records" "$nonempty" 3
    want_eq "partitions still held after every worker stopped" "$(owners a | wc -l)" 0
    echo "  (partitions per worker: $spread)"
}
case_spread
verdict "3 workers: all $N records, each of the $KEYS keys in exactly one worker, partitions spread"

# ---- the partition of a key is FNV-1a 64 of its text mod partitions ------------
case_hash() {
    cat >"$WORK/reader.yaml" <<YAML
sources:
  js: {type: nats, url: $URL, stream: EVENTS, subject: "events.>", durable: reader, format: json, subject_field: subject}
sinks:
  out: {type: file, inputs: [js], path: $WORK/reader.ndjson}
YAML
    "$SLUICE" run --quiet "$WORK/reader.yaml" >/dev/null 2>"$WORK/reader.err" &
    WORKERS=($!)
    wait_for_all 30 "$WORK/reader.ndjson"
    stop_workers
    local wrong
    wrong=$(/usr/bin/python3 - "$WORK/reader.ndjson" "$P" <<'PY'
import json, sys
def fnv1a64(text):
    h = 0xcbf29ce484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001b3) % 2**64
    return h
parts = int(sys.argv[2])
rows = [json.loads(l) for l in open(sys.argv[1])]
print(sum(r["subject"] != "events.%d" % (fnv1a64(r["sensor"]) % parts) for r in rows))
PY
)
    want_eq "records on another subject than events.<FNV-1a 64 mod $P>" "$wrong" 0
}
case_hash
verdict "sink: each record is published on events.<FNV-1a 64 of its key mod partitions>"

# ---- a worker with another partition count is refused ---------------------------
case_mismatch() {
    worker_pipeline "$WORK/odd.yaml" a "$WORK/odd.ndjson" 0
    sed -i "s/partitions: $P/partitions: $((P / 2))/" "$WORK/odd.yaml"
    timeout 30 "$SLUICE" run --quiet "$WORK/odd.yaml" >/dev/null 2>"$WORK/odd.err"
    want_eq "exit status" "$?" 1
    grep -q "sluice group a: $P partitions\".*same partitions" "$WORK/odd.err" ||
        problems+=("stderr: $(head -c 300 "$WORK/odd.err")")
}
case_mismatch
verdict "a worker whose partitions differ from its group's is refused with the reason"

# ---- kill -9 a worker: the others take over, nothing lost ------------------------
case_kill() {
    start_workers b 100
    local files=("$WORK"/b-1.ndjson "$WORK"/b-2.ndjson "$WORK"/b-3.ndjson)
    wait_for_any $((N / 4)) 60 "${files[@]}"
    local victim=${WORKERS[1]} held
    held=$(owners b | grep -c -- "-$victim-")
    kill -9 "$victim"
    wait "$victim" 2>/dev/null
    WORKERS=("${WORKERS[0]}" "${WORKERS[2]}")
    wait_for_all 90 "${files[@]}"
    wait_for_spread b 2 30 || problems+=("the survivors do not hold every partition: $(owners b | tr '\n' ' ')")
    owners b | grep -q -- "-$victim-" && problems+=("the dead worker still holds partitions")
    local took=0 w
    for w in 1 3; do grep -q "claimed" "$WORK/b-$w.err" && took=$((took + 1)); done
    stop_workers
    read -r total distinct several nonempty <<<"$(stats "${files[@]}")"
    local dups=$((total - distinct)) bound=$((MAX_ACK_PENDING * held))
    want_eq "distinct records after the kill" "$distinct" "$N"
    [ "$held" -gt 0 ] || problems+=("the victim held no partition when killed")
    [ "$dups" -le "$bound" ] || problems+=("$dups duplicates, above max_ack_pending x partitions held = $bound")
    grep -q "claimed" "$WORK/b-1.err" "$WORK/b-3.err" || problems+=("no survivor claimed a partition")
    echo "  (killed holding $held partitions at $(grep -c . "${files[1]}") of its lines; $dups duplicates, bound $bound)"
}
case_kill
verdict "kill -9 of a worker: survivors take its partitions over; nothing lost, duplicates bounded"

# ---- SIGTERM a worker: its partitions are handed over without duplicates -------
case_term() {
    start_workers c 100
    local files=("$WORK"/c-1.ndjson "$WORK"/c-2.ndjson "$WORK"/c-3.ndjson)
    wait_for_any $((N / 4)) 60 "${files[@]}"
    local leaver=${WORKERS[1]}
    kill -TERM "$leaver"
    wait "$leaver"
    local status=$?
    WORKERS=("${WORKERS[0]}" "${WORKERS[2]}")
    want_eq "exit status of the stopped worker" "$status" 0
    wait_for_all 90 "${files[@]}"
    wait_for_spread c 2 30 || problems+=("the others do not hold every partition: $(owners c | tr '\n' ' ')")
    stop_workers
    read -r total distinct several nonempty <<<"$(stats "${files[@]}")"
    want_eq "distinct records after the stop" "$distinct" "$N"
    want_eq "records delivered (duplicates)" "$total" "$N"
    [ ${#problems[@]} -eq 0 ] || problems+=("workers said: $(cat "$WORK"/c-*.err | tr '\n' '|' | head -c 1500)")
}
case_term
verdict "SIGTERM of a worker: its partitions move to the others without duplicates"

# ---- a stalled worker (SIGSTOP) loses its leases and stops reading ----------------
case_stall() {
    start_workers d 100
    local files=("$WORK"/d-1.ndjson "$WORK"/d-2.ndjson "$WORK"/d-3.ndjson)
    wait_for_any $((N / 4)) 60 "${files[@]}"
    local sleeper=${WORKERS[1]} held
    held=$(owners d | grep -c -- "-$sleeper-")
    kill -STOP "$sleeper"
    # Its leases run out (3 s) and the others take its partitions.
    local tenths=0
    while owners d | grep -q -- "-$sleeper-" && [ "$tenths" -lt 300 ]; do
        sleep 0.5
        tenths=$((tenths + 5))
    done
    owners d | grep -q -- "-$sleeper-" && problems+=("the stalled worker kept its leases")
    kill -CONT "$sleeper"
    wait_for_all 90 "${files[@]}"
    stop_workers
    grep -q "lease lost" "$WORK/d-2.err" || problems+=("the stalled worker did not notice: $(head -c 300 "$WORK/d-2.err")")
    read -r total distinct several nonempty <<<"$(stats "${files[@]}")"
    local dups=$((total - distinct)) bound=$((MAX_ACK_PENDING * held))
    want_eq "distinct records after the stall" "$distinct" "$N"
    [ "$dups" -le "$bound" ] || problems+=("$dups duplicates, above max_ack_pending x partitions held = $bound")
    echo "  (stalled holding $held partitions; $dups duplicates, bound $bound)"
}
case_stall
verdict "a stalled worker loses its leases, notices, and stops reading them; nothing lost"

# ---- batch 1024: fetches of a full batch while late answers are about ----------
# libnats 3.4.1's own fetch wrote past its list when messages of an earlier
# fetch were still arriving (heap corruption under load); the source now
# pulls by hand and never reads more than `batch`. Run under ASan to see.
case_big_batch() {
    local big=30000 w
    jsctl create BIG 'big.>' || problems+=("cannot create BIG")
    cat >"$WORK/big-producer.yaml" <<YAML
sources:
  gen: {type: generate, count: $big, sensors: 500}
sinks:
  js: {type: nats, inputs: [gen], url: $URL, subject: big, partition_by: sensor, partitions: 16}
YAML
    timeout 120 "$SLUICE" run --quiet "$WORK/big-producer.yaml" >/dev/null 2>"$WORK/big-producer.err" ||
        problems+=("the producer failed: $(head -c 300 "$WORK/big-producer.err")")
    WORKERS=()
    for w in 1 2 3; do
        cat >"$WORK/e-$w.yaml" <<YAML
sources:
  js: {type: nats, url: $URL, stream: BIG, subject: big, group: e, partitions: 16, batch: 1024, format: json}
sinks:
  out: {type: file, inputs: [js], path: $WORK/e-$w.ndjson}
YAML
        "$SLUICE" run --quiet "$WORK/e-$w.yaml" >/dev/null 2>"$WORK/e-$w.err" &
        WORKERS+=($!)
    done
    local tenths=0
    until [ "$(jsctl left BIG e 16 2>/dev/null || echo 1)" = 0 ] || [ "$tenths" -ge 1200 ]; do
        sleep 0.5
        tenths=$((tenths + 5))
    done
    stop_workers
    read -r total distinct several nonempty <<<"$(stats "$WORK"/e-[123].ndjson)"
    want_eq "distinct records read with batch 1024" "$distinct" "$big"
    echo "  ($total lines for $big records)"
}
case_big_batch
verdict "3 workers with batch 1024: every record, no worker crashed"

# ---- (under sanitizers) no worker reported a memory error or undefined behaviour -
grep -l "Sanitizer\|runtime error" "$WORK"/*.err >/dev/null 2>&1 &&
    problems+=("$(grep -h -m3 "Sanitizer\|runtime error" "$WORK"/*.err)")
verdict "no worker reported a memory error or undefined behaviour"

finish scaleout
