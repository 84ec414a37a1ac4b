#!/usr/bin/env bash
# bench/scaleout/run.sh: the scale-out benchmark (docs/scaling.md), run by
# `make bench` after the pipeline benchmark.
#
#   bash bench/scaleout/run.sh [BUILD/sluice] [RECORDS] [PARTITIONS]
#
# Starts a nats-server with JetStream on a free loopback port, publishes
# RECORDS (default 500,000) generated records with 1,000 keys to a stream
# partitioned PARTITIONS ways (default 16) through the nats sink's
# partition_by, then drains that same stream with 1, 2 and 3 `sluice run`
# workers of a fresh group each (nats source -> file sink to /dev/null).
# A run's time goes from the moment the first partition is leased (the
# workers, started together, claim after their first lease_ms) to the
# moment the group's consumers have nothing left unacknowledged, so that
# slow claims and hand-overs count; it prints records/s and the ratio to
# one worker. Everything built or written goes to
# BUILD/bench/scaleout/.
set -euo pipefail

cd "$(dirname "$0")/../.."
sluice=$(realpath "${1:-build/sluice}")
records=${2:-500000}
partitions=${3:-16}
out=$(dirname "$sluice")/bench/scaleout
rm -rf "$out"
mkdir -p "$out"

server=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$server" ] || { echo "scaleout: nats-server not found; 'make deps' installs it" >&2; exit 1; }
clang-19 -std=c17 -O2 -o "$out/jsctl" tests/e2e/nats/jsctl.c -lnats

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=nats://127.0.0.1:$port
jsctl() { "$out/jsctl" "$url" "$@"; }
server_pid=
workers=()
stop_all() {
    for pid in "${workers[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
}
trap stop_all EXIT

"$server" -js -a 127.0.0.1 -p "$port" -sd "$out/store" >"$out/server.log" 2>&1 &
server_pid=$!
until grep -q "Server is ready" "$out/server.log"; do sleep 0.1; done
jsctl create EVENTS 'events.>'

now() { date +%s%N; }
rate() { awk -v n="$records" -v ns="$1" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }

cat >"$out/producer.yaml" <<YAML
sources:
  gen: {type: generate, count: $records, sensors: 1000}
sinks:
  js: {type: nats, inputs: [gen], url: $url, subject: events, partition_by: sensor, partitions: $partitions}
YAML
echo "== scale-out: $records records, 1000 keys, $partitions partitions, nats-server on loopback"
start=$(now)
"$sluice" run --quiet "$out/producer.yaml"
printf '  producer    %10s records/s  (generate -> partitioned nats sink, PubAck for each)\n' \
    "$(rate $(($(now) - start)))"
[ "$(jsctl count EVENTS)" = "$records" ] || { echo "scaleout: the stream holds $(jsctl count EVENTS) messages" >&2; exit 1; }

# leased GROUP: how many partitions have an owner in the group's bucket.
leased() {
    jsctl kv "sluice-$1" 2>/dev/null | awk '$1 ~ /^partitions\./ && NF == 2' | wc -l
}

# alive GROUP: stops the benchmark, rather than waiting for ever, when a
# worker died (its log says why).
alive() {
    local pid w=0
    for pid in "${workers[@]}"; do
        w=$((w + 1))
        kill -0 "$pid" 2>/dev/null && continue
        echo "scaleout: worker $w of group $1 died: $(tail -c 600 "$out/$1-$w.log")" >&2
        exit 1
    done
}

# drain W: W workers of a fresh group read the whole stream; sets `took` (ns).
# Timing from the moment every partition is leased would leave out what was
# read meanwhile (and wait for a lease lost and taken again): the clock
# starts at the first lease.
drain() {
    local group=g$1 w first
    workers=()
    for w in $(seq "$1"); do
        cat >"$out/$group-$w.yaml" <<YAML
sources:
  js: {type: nats, url: $url, stream: EVENTS, subject: events, group: $group, partitions: $partitions, batch: 1024, format: json}
sinks:
  out: {type: file, inputs: [js], path: /dev/null}
YAML
    done
    for w in $(seq "$1"); do
        "$sluice" run --quiet "$out/$group-$w.yaml" 2>"$out/$group-$w.log" &
        workers+=($!)
    done
    until [ "$(leased "$group")" -gt 0 ]; do sleep 0.05; alive "$group"; done
    first=$(now)
    until [ "$(jsctl left EVENTS "$group" "$partitions" 2>/dev/null || echo 1)" = 0 ]; do
        sleep 0.25
        alive "$group"
    done
    took=$(($(now) - first))
    for pid in "${workers[@]}"; do kill -TERM "$pid"; done
    for pid in "${workers[@]}"; do wait "$pid"; done
    workers=()
}

for w in 1 2 3; do
    drain "$w"
    eval "rate_$w=$(rate "$took")"
    r=rate_$w
    printf '  %d worker%s   %10s records/s  %5sx one worker\n' "$w" "$([ "$w" = 1 ] && echo " " || echo s)" \
        "${!r}" "$(awk -v a="${!r}" -v b="$rate_1" 'BEGIN { printf "%.2f", a / b }')"
done
echo "  note: this machine has $(nproc) cores, shared by nats-server and every worker (and" \
     "anything else running): workers beyond the cores cannot add throughput here; on" \
     "separate machines each brings its own."
