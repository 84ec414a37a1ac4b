#!/usr/bin/env bash
# `make demo`: the air-quality anomaly detection demo, end to end, from a
# fresh clone (docs/demo.md).
#
# Installs what is missing (scripts/deps.sh), builds Sluice, the S-H-ESD
# function and the dashboard's page; publishes the function to a local
# registry; runs examples/air-quality/pipeline.yaml with the BME680
# simulator sending to it; prints the dashboard's URL; and when stopped
# (Ctrl-C, or after DEMO_SECONDS) drains the pipeline and scores what it
# stored in SQLite against the simulator's ground truth.
#
# Environment:
#   DEMO_SECONDS=N   stop after N seconds (default: run until Ctrl-C)
#   DEMO_CHECK=1     exit 1 unless precision and recall are both >= 0.9
#   DEMO_DAYS=D      simulated days (default 16: two 8-day windows a sensor)
#   DEMO_SPEED=X     simulated seconds per real second (default 28800, 8 hours
#                    a second); 0: as fast as possible
#   DEMO_PORT=P      the dashboard's port (default 8090, or a free one)
#   DEMO_SKIP_DEPS=1 do not run scripts/deps.sh
#   SLUICE=PATH      use this sluice binary instead of building build/sluice
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sluice=$(realpath -m "${SLUICE:-$root/build/sluice}")
module=$root/build/examples/anomaly_c.wasm
days=${DEMO_DAYS:-16}
speed=${DEMO_SPEED:-28800}
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo.XXXXXX")
# The children run in sessions of their own (setsid): Ctrl-C reaches only
# this script, which stops them in order; a pipeline signalled twice would
# exit without draining.
pids=()

say() { echo "demo: $*" >&2; }
die() { say "$*"; exit 1; }

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A TCP port nobody listens on, on the loopback interface.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_is_free() {
  python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# wait_http URL SECONDS: until URL answers.
wait_http() {
  for _ in $(seq $(($2 * 10))); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

build() {
  [ -n "${DEMO_SKIP_DEPS:-}" ] || bash "$root/scripts/deps.sh" || die "installing the dependencies failed"
  if [ -z "${SLUICE:-}" ]; then
    say "building Sluice"
    make -s -C "$root" >&2 || die "the build failed"
  fi
  if [ ! -f "$module" ] || [ -n "$(find "$root/examples/air-quality/functions/anomaly-c" "$root/lib/anomaly" -newer "$module" -type f)" ]; then
    say "building and testing the anomaly functions"
    # build.sh also runs the functions' checks: a failed check is shown,
    # but only a missing module stops the demo.
    if ! bash "$root/examples/air-quality/functions/build.sh" "$sluice" >"$work/functions.log" 2>&1; then
      tail -20 "$work/functions.log" >&2
      [ -f "$module" ] || die "building the anomaly function failed"
      say "some checks of the anomaly functions failed (above); going on with $module"
    fi
  fi
  bash "$root/web/build.sh" "$root/build/web" || die "building the dashboard's page failed"
}

# Starts a registry with a fresh store and publishes the function to it;
# then sets SLUICE_REGISTRY_URL for the pipeline.
publish() {
  local port token url
  port=$(free_port)
  url=http://127.0.0.1:$port
  mkdir -p "$work/registry" "$work/package"
  token=$("$sluice" registry token add demo --data "$work/registry" 2>/dev/null) || return 1
  setsid "$sluice" registry serve --data "$work/registry" --listen "127.0.0.1:$port" >"$work/registry.log" 2>&1 &
  pids+=($!)
  wait_http "$url/api/v1/artifacts" 10 || return 1
  cp "$module" "$work/package/"
  (cd "$work" && "$sluice" fn package package --name anomaly-detection --version 1.0.0 \
    --module package/anomaly_c.wasm --description "Seasonal Hybrid ESD anomaly detection" \
    --language c --license MIT >/dev/null 2>&1 &&
    "$sluice" artifact push anomaly-detection-1.0.0.tar.gz --registry "$url" --token "$token" >&2) || return 1
  export SLUICE_REGISTRY_URL=$url
  say "published anomaly-detection@1.0.0 to $url"
}

# The pipeline to run: with `artifact: anomaly-detection@latest` when the
# function node knows artifacts, else as it is (the module file).
pipeline_file() {
  local pipeline=$root/examples/air-quality/pipeline.yaml
  if [ -n "${SLUICE_REGISTRY_URL:-}" ] && "$sluice" schema 2>/dev/null | grep '"artifact"' >/dev/null; then
    sed 's|^\( *\)module: .*|\1artifact: anomaly-detection@latest|' "$pipeline" >"$work/pipeline.yaml"
    say "the detector comes from the registry: artifact: anomaly-detection@latest"
    echo "$work/pipeline.yaml"
  else
    say "the detector is the module file $module (this build's function node has no 'artifact:')"
    echo "$pipeline"
  fi
}

start_pipeline() {
  local dash_port=${DEMO_PORT:-8090}
  [ -n "${DEMO_PORT:-}" ] || port_is_free "$dash_port" || dash_port=$(free_port)
  export AQ_LISTEN=127.0.0.1:$(free_port) AQ_DASHBOARD=127.0.0.1:$dash_port AQ_DATA=$work
  export ANOMALY_MODULE=$module SLUICE_CACHE=$work/cache
  setsid "$sluice" run --quiet "$(pipeline_file)" 2>"$work/pipeline.log" &
  pipeline_pid=$!
  pids+=($pipeline_pid)
  wait_http "http://$AQ_DASHBOARD/api/series" 15 || { cat "$work/pipeline.log" >&2; die "the pipeline did not start"; }
}

start_simulator() {
  local pace=(--speed "$speed")
  [ "$speed" = 0 ] && pace=(--fast)
  setsid "$sluice" sim bme680 "${pace[@]}" --duration "${days}d" --connect "$AQ_LISTEN" \
    --truth "$work/truth.csv" 2>"$work/sim.log" &
  sim_pid=$!
  pids+=($sim_pid)
}

# Until Ctrl-C, or DEMO_SECONDS.
run_until_stopped() {
  local stop=0
  trap 'stop=1' INT TERM
  local deadline=$((SECONDS + ${DEMO_SECONDS:-0}))
  while [ "$stop" = 0 ]; do
    [ -n "${DEMO_SECONDS:-}" ] && [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.5
  done
  trap - INT TERM
}

# Stops the simulator, then lets the pipeline drain what it read.
stop_all() {
  kill "$sim_pid" 2>/dev/null
  wait "$sim_pid" 2>/dev/null
  say "draining the pipeline"
  kill -TERM "$pipeline_pid" 2>/dev/null
  wait "$pipeline_pid" 2>/dev/null
}

# Scores the flagged readings of the store against the truth rows up to the
# last reading each sensor's detector has seen (a window still filling when
# the demo stopped was not judged, so its truth is left out).
score() {
  local db=$work/air-quality.db
  [ -f "$db" ] && [ "$(sqlite3 "$db" "SELECT COUNT(*) FROM readings" 2>/dev/null)" != 0 ] ||
    die "nothing to score: no sensor had two simulated days judged yet (stopped too early?)"
  sqlite3 -csv -header "$db" \
    "SELECT timestamp, sensor FROM readings WHERE is_anomaly = 1 OR is_anomaly = 'true'" >"$work/detected.csv"
  sqlite3 -csv "$db" "SELECT sensor, MAX(timestamp) FROM readings GROUP BY sensor" >"$work/seen.csv"
  awk -F, 'NR == FNR { seen[$1] = $2; next }
           FNR == 1 || ($2 in seen && $1 <= seen[$2])' "$work/seen.csv" "$work/truth.csv" >"$work/truth-seen.csv"
  local judged total
  judged=$(sqlite3 "$db" "SELECT COUNT(*) FROM readings")
  total=$(($(wc -l <"$work/truth-seen.csv") - 1))
  say "$judged readings judged, $total injected anomalies among them"
  local require=()
  [ -n "${DEMO_CHECK:-}" ] && require=(--require 0.9)
  "$sluice" sim score --truth "$work/truth-seen.csv" --detected "$work/detected.csv" --tolerance 2 "${require[@]}"
}

build
publish || say "the registry could not be set up ($work/registry.log); going on with the module file"
start_pipeline
start_simulator
say "dashboard: http://$AQ_DASHBOARD/"
say "simulating $days days of 3 BME680 sensors into $AQ_LISTEN; stop with Ctrl-C${DEMO_SECONDS:+ (or in $DEMO_SECONDS s)}"
run_until_stopped
stop_all
score
