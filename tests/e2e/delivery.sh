#!/usr/bin/env bash
# tests/e2e/delivery.sh BINARY: at-least-once delivery end to end
# (docs/pipeline.md, Delivery), with sluice killed by SIGKILL mid-run and
# started again:
#   - a NATS JetStream source feeding windows of a function: messages are
#     acknowledged only once the windows' output is written;
#   - a file source with a checkpoint: it resumes at the committed offset,
#     and a finished file is not read again;
#   - an http sink with a disk buffer: what the buffer accepted while the
#     receiver was down arrives after the restart; a damaged entry is
#     reported with its file and offset and only its records are missing;
#     a full buffer holds the source back instead of dropping records.
# Servers (nats-server, tests/e2e/sinks/server.py) run on loopback, started
# here. The last line is "delivery: N passed, M failed".
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
NATS_PID=
SERVER_PID=
SLUICE_PID=

cleanup() {
    [ -n "$SLUICE_PID" ] && kill -9 "$SLUICE_PID" 2>/dev/null
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null && wait "$NATS_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CC=$(command -v clang-19 || echo cc)

# ---- Helpers -----------------------------------------------------------------

start_sluice() { # PIPELINE
    "$SLUICE" run --quiet "$1" >"$WORK/out" 2>>"$WORK/err" &
    SLUICE_PID=$!
}

kill_sluice() {
    kill -9 "$SLUICE_PID" 2>/dev/null
    wait "$SLUICE_PID" 2>/dev/null
    SLUICE_PID=
}

stop_sluice() {
    kill -TERM "$SLUICE_PID" 2>/dev/null
    wait "$SLUICE_PID"
    status=$?
    SLUICE_PID=
}

distinct() { # FILE FIELD: how many distinct values of FIELD
    /usr/bin/python3 -c 'import json,sys; print(len({json.loads(l)[sys.argv[2]] for l in open(sys.argv[1])}))' "$1" "$2" 2>/dev/null || echo 0
}

# wait_until SECONDS 'CONDITION': polls the shell CONDITION every 0.2 s.
wait_until() {
    local tenths=0 limit=$(($1 * 10))
    until eval "$2"; do
        [ "$tenths" -ge "$limit" ] && return 1
        sleep 0.2
        tenths=$((tenths + 2))
    done
}

checkpoint_offset() { # FILE
    local offset
    offset=$(sed -n 's/.* offset \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
    echo "${offset:-0}"
}

finish_case() {
    verdict "$1"
    : >"$WORK/err"
}

# ---- NATS: windows hold their acknowledgements ---------------------------------

NATS_SERVER=$(command -v nats-server || echo /usr/sbin/nats-server)
NATS_PORT=$(free_port)
NATS_URL=nats://127.0.0.1:$NATS_PORT
jsctl() { "$WORK/jsctl" "$NATS_URL" "$@"; }

start_nats() {
    "$CC" -std=c17 -O1 -o "$WORK/jsctl" "$HERE/nats/jsctl.c" -lnats || return 1
    "$CC" --target=wasm32 -std=c17 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib \
        -mbulk-memory -Wl,--no-entry -o "$WORK/passthru.wasm" "$HERE/delivery/passthru.c" || return 1
    "$CC" --target=wasm32 -std=c17 -O2 -Wall -Wextra -Werror -ffreestanding -nostdlib \
        -mbulk-memory -Wl,--no-entry -o "$WORK/passthru2.wasm" "$HERE/delivery/passthru2.c" || return 1
    "$NATS_SERVER" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$WORK/store" >"$WORK/nats.log" 2>&1 &
    NATS_PID=$!
    wait_until 10 'grep -q "Server is ready" "$WORK/nats.log"'
}

window_pipeline() { # FILE DURABLE WINDOW DELAY_MS [GUEST]
    cat >"$1" <<YAML
sources:
  js:
    type: nats
    url: $NATS_URL
    stream: READINGS
    subject: "readings.>"
    durable: $2
    batch: 100
    ack_wait_ms: 2000
    max_ack_pending: 5000
    format: json
transforms:
  fn:
    type: function
    inputs: [js]
    module: $WORK/${5:-passthru}.wasm
    window: {count: $3, key: n}
sinks:
  out:
    type: file
    inputs: [fn]
    path: $WORK/$2.ndjson
    append: true
    delay_ms: $4
YAML
}

# Keyed by n, so each window holds one record: every fetch closes 100
# windows whose output the slow sink writes one batch a second. Killed after
# the first batch is written: the windows' output that was not written must
# come again. (Acknowledged when the window ran, it would be lost.)
case_window_output_kill() {
    local n=600 out=$WORK/after.ndjson
    window_pipeline "$WORK/after.yaml" after 1 1000
    start_sluice "$WORK/after.yaml"
    wait_until 30 '[ "$(lines "$out")" -ge 100 ]'
    kill_sluice
    local before
    before=$(lines "$out")
    window_pipeline "$WORK/after.yaml" after 1 0
    start_sluice "$WORK/after.yaml"
    wait_until 60 '[ "$(distinct "$out" n)" -ge "$n" ]'
    stop_sluice
    [ "$(distinct "$out" n)" -eq "$n" ] ||
        problems+=("$(distinct "$out" n) distinct of $n after the kill at $before lines")
    [ "$(jsctl pending READINGS after)" = 0 ] || problems+=("messages left unacknowledged")
}

# A count window larger than what is sent never closes before the kill: its
# records are not acknowledged, come again, and the final drain writes them.
case_open_window_kill() {
    local n=600 out=$WORK/open.ndjson
    window_pipeline "$WORK/open.yaml" open 100000 0
    sed -i 's/, key: n}/}/' "$WORK/open.yaml"
    start_sluice "$WORK/open.yaml"
    sleep 2    # some fetches held in the open window (the check does not depend on it)
    kill_sluice
    [ "$(lines "$out")" = 0 ] || problems+=("the window flushed before the kill")
    start_sluice "$WORK/open.yaml"
    # The window holds what it gets unacknowledged, so nothing outside
    # shows when the redelivery (after ack_wait_ms, 2 s) has come: wait.
    sleep 5
    stop_sluice
    [ "$(distinct "$out" n)" -eq "$n" ] || problems+=("$(distinct "$out" n) distinct of $n")
}

# ABI v2 windows without a key update their records in place: they keep
# the batches the records came in and emit those. A batch whose windows ran
# but which is not written yet must come again after a kill. Windows of 150
# span fetches of 100, so a batch goes out while a later one is processed.
case_in_place_output_kill() {
    local n=600 out=$WORK/inplace.ndjson before
    window_pipeline "$WORK/inplace.yaml" inplace 150 1000 passthru2
    sed -i 's/, key: n}/}/' "$WORK/inplace.yaml"
    start_sluice "$WORK/inplace.yaml"
    wait_until 30 '[ "$(lines "$out")" -ge 100 ]'
    kill_sluice
    before=$(lines "$out")
    sed -i 's/delay_ms: 1000/delay_ms: 0/' "$WORK/inplace.yaml"
    start_sluice "$WORK/inplace.yaml"
    wait_until 60 '[ "$(distinct "$out" n)" -ge "$n" ]'
    stop_sluice
    [ "$(distinct "$out" n)" -eq "$n" ] ||
        problems+=("$(distinct "$out" n) distinct of $n after the kill at $before lines")
    [ "$(jsctl pending READINGS inplace)" = 0 ] || problems+=("messages left unacknowledged")
}

if start_nats && jsctl create READINGS 'readings.>' && jsctl publish readings.lab 1 600; then
    case_window_output_kill
    finish_case "nats -> windows -> slow file, kill -9 after the windows ran: every record written"
    case_open_window_kill
    finish_case "nats -> open count window, kill -9 before it flushes: every record written"
    case_in_place_output_kill
    finish_case "nats -> v2 windows in place -> slow file, kill -9 after they ran: every record written"
else
    problems+=("cannot start nats-server or fill the stream: $(tail -3 "$WORK/nats.log")")
    finish_case "nats: set-up"
fi

# ---- File source checkpoint ------------------------------------------------------

file_pipeline() { # FILE DELAY_MS
    cat >"$1" <<YAML
sources:
  in:
    type: file
    path: $WORK/big.txt
    checkpoint: $WORK/big.checkpoint
sinks:
  out:
    type: file
    inputs: [in]
    path: $WORK/big.out
    append: true
    delay_ms: $2
YAML
}

case_file_checkpoint() {
    local n=200000
    seq 1 "$n" | sed 's/^/line-/' >"$WORK/big.txt"
    file_pipeline "$WORK/big.yaml" 20
    start_sluice "$WORK/big.yaml"
    wait_until 60 '[ "$(lines "$WORK/big.out")" -ge 30000 ]'
    kill_sluice
    local before offset
    before=$(lines "$WORK/big.out")
    offset=$(checkpoint_offset "$WORK/big.checkpoint")
    [ "$offset" -gt 0 ] || problems+=("no committed offset after $before lines")
    file_pipeline "$WORK/big.yaml" 0
    timeout 60 "$SLUICE" run --quiet "$WORK/big.yaml" 2>>"$WORK/err"
    local got total dups
    got=$(sort -u "$WORK/big.out" | wc -l)
    total=$(lines "$WORK/big.out")
    dups=$((total - got))
    [ "$got" -eq "$n" ] || problems+=("$got distinct lines of $n")
    # In flight at the kill: the queue (4 batches), a 256 KiB read, and
    # 200 ms of commits.
    [ "$dups" -le 30000 ] || problems+=("$dups duplicates")
    timeout 60 "$SLUICE" run --quiet "$WORK/big.yaml" 2>>"$WORK/err"
    [ "$(lines "$WORK/big.out")" -eq "$total" ] ||
        problems+=("a finished file was read again: $(lines "$WORK/big.out") lines, had $total")
    echo "  (killed at $before lines, offset $offset; $dups duplicates)"
}
case_file_checkpoint
finish_case "file checkpoint: kill -9 mid-file, restart: every line, a finished file not re-read"

# ---- Disk buffer in front of an http sink -------------------------------------------

HTTP_PORT=$(free_port)

start_receiver() {
    rm -rf "$WORK/srv"
    mkdir "$WORK/srv"
    python3 "$HERE/sinks/server.py" "$WORK/srv" --port "$HTTP_PORT" &
    SERVER_PID=$!
    wait_until 20 '[ -f "$WORK/srv/port" ]'
}

stop_receiver() {
    touch "$WORK/srv/stop"
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

buffer_pipeline() { # NAME MAX_BYTES
    seq 1 20000 | sed 's/.*/{"n":&}/' >"$WORK/$1.ndjson"
    rm -rf "$WORK/$1.buf" "$WORK/$1.checkpoint"
    cat >"$WORK/$1.yaml" <<YAML
sources:
  in:
    type: file
    path: $WORK/$1.ndjson
    checkpoint: $WORK/$1.checkpoint
transforms:
  json:
    type: parse_json
    inputs: [in]
sinks:
  out:
    type: http
    inputs: [json]
    url: http://127.0.0.1:$HTTP_PORT/
    retries: 1000000
    backoff_ms: 10
    max_backoff_ms: 100
    buffer: {type: disk, path: $1.buf, max_bytes: $2}
YAML
}

# Receiver down: the whole file goes into the buffer (the checkpoint
# reaches the end of the file); kill -9.
fill_buffer_and_kill() { # NAME
    local name=$1 size
    size=$(stat -c %s "$WORK/$name.ndjson")
    start_sluice "$WORK/$name.yaml"
    wait_until 60 '[ "$(checkpoint_offset "$WORK/$name.checkpoint")" = "$size" ]' ||
        problems+=("the buffer did not take the whole file: $(head -c 300 "$WORK/err")")
    kill_sluice
}

received() { distinct "$WORK/srv/received.ndjson" n; }

case_buffer_outage() {
    buffer_pipeline outage 64MiB
    fill_buffer_and_kill outage
    start_receiver
    timeout 60 "$SLUICE" run --quiet "$WORK/outage.yaml" 2>>"$WORK/err"
    status=$?
    stop_receiver
    [ "$status" -eq 0 ] || problems+=("exit status $status")
    [ "$(received)" -eq 20000 ] || problems+=("$(received) of 20000 arrived")
    [ "$(lines "$WORK/srv/received.ndjson")" -eq 20000 ] ||
        problems+=("$(lines "$WORK/srv/received.ndjson") records for 20000")
    grep -q "from an earlier run are delivered first" "$WORK/err" ||
        problems+=("no word of the buffered batches: $(head -c 300 "$WORK/err")")
}
case_buffer_outage
finish_case "buffer: receiver down, kill -9, restart with it up: all 20000 arrive once"

case_buffer_damage() {
    buffer_pipeline damage 64MiB
    fill_buffer_and_kill damage
    local seg size
    seg=$(ls "$WORK"/damage.buf/*.seg | head -1)
    size=$(stat -c %s "$seg")
    printf 'X' | dd of="$seg" bs=1 seek=$((size / 2)) conv=notrunc status=none
    start_receiver
    timeout 60 "$SLUICE" run --quiet "$WORK/damage.yaml" 2>>"$WORK/err"
    stop_receiver
    local got
    got=$(received)
    [ "$got" -lt 20000 ] && [ "$got" -ge $((20000 - 1024)) ] ||
        problems+=("$got of 20000 arrived: wanted all but one batch")
    grep -q "buffer: $seg: damaged entry at byte [0-9]* (bad checksum): skipped" "$WORK/err" ||
        problems+=("no report with the file and offset: $(grep buffer "$WORK/err" | head -c 300)")
}
case_buffer_damage
finish_case "buffer: a flipped byte is reported with file and offset; the other records arrive"

# 64 KiB hold about 8,000 of the 20,000 records: with the receiver down the
# source must stop short of the end of the file, and nothing is dropped.
case_buffer_backpressure() {
    buffer_pipeline full 64KiB
    local size
    size=$(stat -c %s "$WORK/full.ndjson")
    start_sluice "$WORK/full.yaml"
    wait_until 30 '[ "$(cat "$WORK"/full.buf/*.seg 2>/dev/null | wc -c)" -ge 50000 ]'
    sleep 1    # room to go wrong: a source not held back would read on
    local offset bytes
    offset=$(checkpoint_offset "$WORK/full.checkpoint")
    bytes=$(cat "$WORK"/full.buf/*.seg | wc -c)
    [ "$offset" -lt "$size" ] || problems+=("the source read the whole file into a full buffer")
    [ "$bytes" -le $((65536 + 20000)) ] || problems+=("$bytes bytes buffered, bound 64KiB")
    start_receiver
    wait "$SLUICE_PID"
    status=$?
    SLUICE_PID=
    stop_receiver
    [ "$status" -eq 0 ] || problems+=("exit status $status")
    [ "$(received)" -eq 20000 ] || problems+=("$(received) of 20000 arrived")
}
case_buffer_backpressure
finish_case "buffer: a full buffer holds the source back; nothing is lost"

case_buffer_validate() {
    cat >"$WORK/bad.yaml" <<'YAML'
sources:
  in: {type: stdin}
sinks:
  out:
    type: stdout
    inputs: [in]
    buffer:
      type: disk
      path: buf
      max_bytes: lots
      fsync: sometimes
      colour: red
YAML
    "$SLUICE" validate "$WORK/bad.yaml" >"$WORK/out" 2>"$WORK/verr"
    [ $? -ne 0 ] || problems+=("validate accepted a bad buffer")
    grep -q "bad.yaml:12:7: unknown key 'colour'" "$WORK/verr" ||
        problems+=("validate: $(head -c 400 "$WORK/verr")")
    sed -i '/colour/d' "$WORK/bad.yaml"
    "$SLUICE" validate "$WORK/bad.yaml" >"$WORK/out" 2>"$WORK/verr"
    grep -q "bad.yaml:10:18: 'max_bytes' must be a size" "$WORK/verr" ||
        problems+=("validate max_bytes: $(head -c 400 "$WORK/verr")")
    grep -q "bad.yaml:11:14: 'fsync' must be 'batch' or milliseconds" "$WORK/verr" ||
        problems+=("validate fsync: $(head -c 400 "$WORK/verr")")
}
case_buffer_validate
finish_case "buffer: validate reports bad buffer settings at file:line:column"

finish delivery
