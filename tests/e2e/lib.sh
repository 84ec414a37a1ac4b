# tests/e2e/lib.sh: what the end-to-end suites share; each sources it.
#
# A case collects what went wrong in the array `problems`, then calls
# `verdict NAME`; the suite ends with `finish SUITE`, which prints
# "SUITE: N passed, M failed" and fails if any case did. Also here: a
# comparison of two strings, a free loopback port, waiting for a file to
# reach a number of lines, checks on files named by path, the pipeline and
# the C guests of the function suites, and starting the test servers (the
# registry, the scripted Python servers, nats-server with JetStream).

passed=0
failed=0
problems=()

# verdict NAME: prints "ok NAME", or "FAIL NAME" and the problems, and
# counts the case.
verdict() {
    if [ ${#problems[@]} -eq 0 ]; then
        echo "ok $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1"
        printf '    %s\n' "${problems[@]}"
        failed=$((failed + 1))
    fi
    problems=()
}

# finish SUITE: the closing line; the status is non-zero if a case failed.
finish() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# want_eq WHAT GOT WANTED: a problem unless GOT is WANTED.
want_eq() { # WHAT GOT WANTED: a problem of the case unless equal
    [ "$2" = "$3" ] || problems+=("$1: got '$(printf %s "$2" | tr '\n' '|')', wanted '$(printf %s "$3" | tr '\n' '|')'")
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# lines FILE: the number of lines of FILE, 0 if it does not exist.
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# wait_for_lines FILE N SECONDS: waits until FILE has N lines, SECONDS at
# most.
wait_for_lines() {
    local tenths=0
    while [ "$(lines "$1")" -lt "$2" ] && [ "$tenths" -lt $(($3 * 10)) ]; do
        sleep 0.1
        tenths=$((tenths + 1))
    done
}

# function_pipeline SETTINGS: writes to standard output the pipeline of the
# function suites: readings.csv (time, sensor, value) parsed, then a function
# node `fn` with SETTINGS (YAML lines, indented 4; the first is line 12),
# writing out.ndjson and errors.ndjson.
function_pipeline() {
    cat <<EOF
sources:
  in: {type: file, path: readings.csv}
transforms:
  csv:
    type: parse_csv
    inputs: [in]
    columns: [time, sensor, value]
    types: {time: timestamp, value: int}
  fn:
    type: function
    inputs: [csv]
$1
sinks:
  out: {type: file, inputs: [fn], path: out.ndjson}
  errors: {type: file, inputs: [fn.errors], path: errors.ndjson}
EOF
}

# start_registry [OPTIONS...]: starts `$SLUICE registry serve` on the data
# directory $DATA, on a free port of 127.0.0.1, with OPTIONS; sets SERVER_PID
# and URL. Its output goes to $WORK/serve.out and serve.err. If it does not
# start, the suite ends (status 1).
start_registry() {
    "$SLUICE" registry serve --data "$DATA" --listen 127.0.0.1:0 "$@" \
        >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    local i
    for i in $(seq 100); do
        URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
        [ -n "$URL" ] && return 0
        sleep 0.05
    done
    echo "$(basename "$0" .sh): the server did not start: $(cat "$WORK/serve.err")" >&2
    exit 1
}

# start_test_server SCRIPT [OPTIONS...]: starts a scripted Python test server
# (tests/e2e/sinks/server.py, tests/e2e/es/bulk_server.py) with OPTIONS in
# ./srv, made afresh; sets SERVER_PID, SERVER_DIR and PORT (the port it wrote
# to srv/port; empty if it wrote none within 5 seconds).
start_test_server() {
    local script=$1
    shift
    rm -rf srv
    mkdir srv
    python3 "$script" "$PWD/srv" "$@" &
    SERVER_PID=$!
    SERVER_DIR=$PWD/srv
    local i
    for i in $(seq 100); do
        [ -f srv/port ] && break
        sleep 0.05
    done
    PORT=$(cat srv/port 2>/dev/null)
}

# stop_test_server: asks the server of start_test_server to stop (the file
# stop in its directory) and waits for it; nothing if none runs.
stop_test_server() {
    [ -n "$SERVER_PID" ] || return 0
    touch "$SERVER_DIR/stop"
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

# start_jetstream: builds tests/e2e/nats/jsctl.c into $WORK/jsctl (with libnats),
# then starts $NATS_SERVER with JetStream on a free loopback port (store
# $WORK/store, log $WORK/server.log) and waits, 10 seconds at most, until it
# is ready and jsctl reaches it; sets PORT, URL and SERVER_PID. Ends the suite
# with status 2 if jsctl cannot be built, 1 if the server does not start.
start_jetstream() {
    local suite
    suite=$(basename "$0" .sh)
    CC=$(command -v clang-19 || echo cc)
    "$CC" -std=c17 -O1 -o "$WORK/jsctl" "$HERE/nats/jsctl.c" -lnats || {
        echo "$suite: cannot build jsctl (libnats-dev missing?)" >&2
        exit 2
    }
    PORT=$(free_port)
    URL=nats://127.0.0.1:$PORT
    "$NATS_SERVER" -js -a 127.0.0.1 -p "$PORT" -sd "$WORK/store" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        "$WORK/jsctl" "$URL" count none >/dev/null 2>&1
        [ $? -ne 2 ] && grep -q "Server is ready" "$WORK/server.log" && break
        sleep 0.1
    done
    grep -q "Server is ready" "$WORK/server.log" || { echo "$suite: nats-server did not start" >&2; exit 1; }
}

# compile_guest SRC WASM: compiles the C function guest SRC into WASM with
# clang-19: for wasm32-wasi (a reactor, with the C SDK in $ROOT/sdk/c) when
# SRC includes sluice_fn.h, else for freestanding wasm32. The status is the
# compiler's.
compile_guest() {
    if grep -q 'sluice_fn.h' "$1"; then
        clang-19 --target=wasm32-wasi --sysroot=/usr -std=c17 -O2 -Wall -Wextra -Werror \
            -mexec-model=reactor -I"$ROOT/sdk/c" -o "$2" "$1"
    else
        clang-19 --target=wasm32 -std=c17 -O2 -Wall -Wextra -Werror -ffreestanding \
            -nostdlib -mbulk-memory -Wl,--no-entry -o "$2" "$1"
    fi
}

# build_guests DIR: compiles each DIR/NAME.c into $W/NAME.wasm (compile_guest)
# unless that is newer than both the source and sluice_fn.h; a guest that
# does not build is reported on standard error (its cases then fail).
build_guests() {
    local src name
    for src in "$1"/*.c; do
        name=$(basename "${src%.c}")
        [ "$W/$name.wasm" -nt "$src" ] && [ "$W/$name.wasm" -nt "$ROOT/sdk/c/sluice_fn.h" ] && continue
        compile_guest "$src" "$W/$name.wasm" || echo "$(basename "$0" .sh): could not build $src" >&2
    done
}

# Checks on files named by their path, for the suites whose `run` sets
# `status` and whose `show FILE` gives the start of FILE on one line. (Suites
# that name files relative to $WORK define their own.)

# want_status N: a problem unless the last run's status is N.
want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show "$WORK/stderr"))")
}

# want_in FILE REGEX: a problem unless some line of FILE matches REGEX.
want_in() {
    grep -Eq -- "$2" "$1" 2>/dev/null || problems+=("$(basename "$1") '$(show "$1")' lacks /$2/")
}

# want_not_in FILE REGEX: a problem if some line of FILE matches REGEX.
want_not_in() {
    ! grep -Eq -- "$2" "$1" 2>/dev/null || problems+=("$(basename "$1") '$(show "$1")' has /$2/")
}
