#!/usr/bin/env bash
# tests/e2e/sources.sh BINARY [CASE...]: end-to-end tests of the network sources (tcp,
# udp, http) through `sluice run`, on loopback only.
#
# Each case writes a pipeline (a source on a free port -> file sinks for the
# records and for the source's errors), starts it, sends data with
# tests/e2e/sources/client.py or curl, stops it with SIGTERM and checks the
# NDJSON that landed: every line exactly once, rejections with their reason.
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last line
# is "sources: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice [CASE...]" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
SLUICE_PID=
# Debian's python3 directly: a version manager's shim costs seconds a call.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
trap 'stop_sluice; rm -rf "$WORK"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Checking --------------------------------------------------------------

show() { # the start of a file, on one line
    head -c 400 "$1" 2>/dev/null | tr '\n' '|'
}

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

hex() { # standard input as hexadecimal, for client.py raw-tcp/raw-udp
    "$PY" -c 'import sys; print(sys.stdin.buffer.read().hex())'
}

# client ARGS...: runs client.py; a failure is a problem of the case.
client() {
    local out
    out=$(timeout 120 "$PY" "$HERE/sources/client.py" "$@" 2>&1) ||
        problems+=("client $1: $(printf %s "$out" | tail -n 1)")
}

# await_lines FILE N: waits (10 s at most) until FILE has N lines; a
# problem of the case if it does not get them.
await_lines() {
    wait_for_lines "$1" "$2" 10
    [ "$(lines "$1")" -ge "$2" ] ||
        problems+=("$(basename "$1") has $(lines "$1") lines after 10 s, wanted $2 before the stop")
}

# messages FILE: the `message` field of each NDJSON line, one a line.
messages() {
    "$PY" -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    print(json.loads(line).get("message"))' "$1" 2>/dev/null
}

# fresh NAME: an empty directory for one case, made the current directory;
# sets PORT to a free loopback port.
fresh() {
    rm -rf "${WORK:?}/$1"
    mkdir -p "$WORK/$1"
    cd "$WORK/$1" || exit 1
    PORT=$("$PY" "$HERE/sources/client.py" port)
}

# ---- Running sluice ---------------------------------------------------------

# pipeline TYPE SETTINGS [SINK SETTINGS]: writes p.yaml: source `in` of TYPE
# on $PORT (SETTINGS: more lines of it, indented 4), records to out.ndjson,
# rejections to errors.ndjson.
pipeline() {
    cat >p.yaml <<EOF
sources:
  in:
    type: $1
    address: 127.0.0.1:$PORT
$2
sinks:
  out:
    type: file
    inputs: [in]
    path: out.ndjson
${3:-}
  errors:
    type: file
    inputs: [in.errors]
    path: errors.ndjson
EOF
}

# start [RUN OPTIONS]: runs p.yaml in the background and waits until the
# source listens (udp: until its port is bound).
start() {
    "$SLUICE" run "$@" p.yaml >stdout 2>stderr &
    SLUICE_PID=$!
    if grep -q 'type: udp' p.yaml; then
        client wait-udp "$PORT" "$SLUICE_PID"
    else
        client wait-tcp "$PORT" "$SLUICE_PID"
    fi
}

# stop_sluice: SIGTERM, then waits (20 s at most) and sets `status`;
# `stopped_in` is how long it took, in tenths of a second.
stop_sluice() {
    [ -n "$SLUICE_PID" ] || return 0
    kill -TERM "$SLUICE_PID" 2>/dev/null
    stopped_in=0
    while kill -0 "$SLUICE_PID" 2>/dev/null && [ "$stopped_in" -lt 200 ]; do
        sleep 0.1
        stopped_in=$((stopped_in + 1))
    done
    if kill -0 "$SLUICE_PID" 2>/dev/null; then
        kill -KILL "$SLUICE_PID"
        problems+=("sluice did not stop within 20 s of SIGTERM")
    fi
    wait "$SLUICE_PID"
    status=$?
    SLUICE_PID=
}

# ---- tcp -------------------------------------------------------------------

case_tcp_one_client() {
    fresh tcp_one
    pipeline tcp ""
    start
    client tcp "$PORT" --clients 1 --lines 200000 --prefix one
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 1 --lines 200000 --prefix one
    want_in stderr '200000 records read'
    verdict "tcp: 200000 lines from one client arrive exactly once (stopped right after sending)"
}

case_tcp_many_clients() {
    fresh tcp_many
    pipeline tcp ""
    start
    client tcp "$PORT" --clients 50 --lines 4000 --prefix many
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 50 --lines 4000 --prefix many
    verdict "tcp: 50 concurrent clients, 4000 lines each, every line exactly once"
}

case_tcp_split_reads() {
    fresh tcp_split
    pipeline tcp ""
    start
    client tcp "$PORT" --clients 4 --lines 300 --prefix split --chunk 7
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 4 --lines 300 --prefix split
    verdict "tcp: lines sent 7 bytes at a time (straddling reads) are put back together"
}

case_tcp_no_final_newline() {
    fresh tcp_last
    pipeline tcp ""
    start
    client tcp "$PORT" --clients 3 --lines 5 --prefix last --no-final-newline
    client raw-tcp "$PORT" "$(printf 'crlf\r\n\r\n\n' | hex)"
    await_lines out.ndjson 16
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 3 --lines 5 --prefix last
    want_in out.ndjson '^\{"message":"crlf"\}$'
    want_eq "records (empty lines skipped)" "$(lines out.ndjson)" 16
    verdict "tcp: a last line without newline counts when the client closes; CRLF and empty lines"
}

case_tcp_long_line() {
    fresh tcp_long
    pipeline tcp "    max_line_bytes: 64"
    start
    local long
    long=$(head -c 5000 /dev/zero | tr '\0' x)
    # Then other clients: the source goes on. (A long line cut across
    # reads: tcp_long_line_across_reads.)
    printf 'before\n%s\nafter\n%s' "$long" "$(head -c 100 /dev/zero | tr '\0' y)" >input
    client raw-tcp "$PORT" "$(hex <input)"
    client tcp "$PORT" --clients 2 --lines 50 --prefix a --chunk 1000
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson | grep -v '^a-' | tr '\n' ' ')" "before after "
    client expect out.ndjson --clients 2 --lines 50 --prefix a
    want_eq "rejections" "$(lines errors.ndjson)" 2
    want_in errors.ndjson '"error":"line longer than 64 bytes \(max_line_bytes\); skipped up to the next newline \(from 127\.0\.0\.1:[0-9]+\)"'
    want_in errors.ndjson '"message":"x{64,256}"'
    want_in stderr '2 rejected'
    verdict "tcp: over-long lines (also the last, unterminated) are rejected with the reason; the stream goes on"
}

case_tcp_long_line_across_reads() {
    fresh tcp_long_reads
    pipeline tcp "    max_line_bytes: 100"
    start
    "$PY" - "$PORT" <<'EOF' || problems+=("sending failed")
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for piece in [b"ok-1\nzz", b"z" * 60, b"z" * 60, b"z" * 60, b"\nok-2\n", b"w" * 90, b"w" * 5, b"\nok-3\n"]:
    s.sendall(piece)
    time.sleep(0.05)
s.close()
EOF
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson | tr '\n' ' ')" "ok-1 ok-2 $(printf 'w%.0s' $(seq 95)) ok-3 "
    want_eq "rejections" "$(lines errors.ndjson)" 1
    want_in errors.ndjson '"message":"z{100,}"'
    verdict "tcp: a line growing over the limit across reads is rejected once; one of 95 bytes passes"
}

case_tcp_random_streams() {
    fresh tcp_random
    pipeline tcp "    max_line_bytes: 64"
    start
    local seed
    for seed in 1 2 3; do
        mkdir "s$seed"
        client random-tcp "$PORT" "$seed" 64 "s$seed"
        cat "s$seed/expected" >>expected
        echo $(($(cat all.rejects 2>/dev/null || echo 0) + $(cat "s$seed/expected.rejects"))) >all.rejects
    done
    stop_sluice
    want_status 0
    client same-messages out.ndjson expected
    want_eq "rejections" "$(lines errors.ndjson)" "$(cat all.rejects)"
    verdict "tcp: random streams in random pieces give exactly the records and rejections of the line rules"
}

case_tcp_invalid_utf8() {
    fresh tcp_utf8
    pipeline tcp ""
    start
    client raw-tcp "$PORT" "$(printf 'good\nbad\xff\xfeline\nbad-overlong-\xc0\xaf\ncaf\xc3\xa9\n' | hex)"
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson | tr '\n' ' ')" "good café "
    want_eq "rejections" "$(lines errors.ndjson)" 2
    want_in errors.ndjson '"error":"invalid UTF-8 at byte 3 \(from 127\.0\.0\.1:[0-9]+\)".*"message":"bad"'
    want_in errors.ndjson '"error":"invalid UTF-8 at byte 13 '
    verdict "tcp: lines that are not UTF-8 are rejected with the position (the sample cut before it)"
}

case_tcp_max_connections() {
    fresh tcp_maxconn
    pipeline tcp "    max_connections: 2"
    start
    sleep 0.2     # wait-tcp's probe connection is closed by now
    "$PY" "$HERE/sources/client.py" idle-tcp "$PORT" 2 $'held-1\n' bye-1 &
    local h1=$!
    "$PY" "$HERE/sources/client.py" idle-tcp "$PORT" 2 $'held-2\n' bye-2 &
    local h2=$!
    await_lines out.ndjson 2     # both are connected
    client refused "$PORT"
    wait "$h1" "$h2"
    await_lines out.ndjson 4     # both have been closed: their last lines
    client tcp "$PORT" --clients 1 --lines 10 --prefix later
    stop_sluice
    want_status 0
    want_eq "held" "$(messages out.ndjson | grep -v later | sort | tr '\n' ' ')" "bye-1 bye-2 held-1 held-2 "
    client expect out.ndjson --clients 1 --lines 10 --prefix later
    want_in stderr 'max_connections \(2\) reached'
    verdict "tcp: past max_connections a new client is closed at once (logged); slots free up again"
}

case_tcp_backpressure() {
    fresh tcp_slow
    pipeline tcp "    receive_buffer_bytes: 65536" "    delay_ms: 10"
    start --queue 1
    # 17 MB, far more than the small socket buffers hold: the client must
    # wait for the slow sink (about 300 batches at 10 ms each).
    client tcp "$PORT" --clients 1 --lines 300000 --prefix slow --send-buffer 65536 \
        --min-seconds 1.5
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 1 --lines 300000 --prefix slow
    verdict "tcp: a slow sink slows the client down (TCP flow control); nothing is lost"
}

case_tcp_stop_with_open_client() {
    fresh tcp_stop
    pipeline tcp ""
    start
    "$PY" "$HERE/sources/client.py" idle-tcp "$PORT" 30 "$(printf 'whole\npartial')" &
    local holder=$!
    await_lines out.ndjson 1
    stop_sluice
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
    want_status 0
    [ "$stopped_in" -le 30 ] || problems+=("stopping took $stopped_in tenths of a second")
    want_eq "records" "$(messages out.ndjson | tr '\n' ' ')" "whole partial "
    verdict "tcp: SIGTERM with a client still connected stops at once; its partial line is kept"
}

case_tcp_ipv6() {
    fresh tcp_ipv6
    if ! "$PY" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
        verdict "tcp: IPv6 (skipped: no ::1 here)"
        return
    fi
    pipeline tcp ""
    sed -i "s/127.0.0.1:$PORT/'[::1]:$PORT'/" p.yaml
    "$SLUICE" run p.yaml >stdout 2>stderr &
    SLUICE_PID=$!
    "$PY" - "$PORT" <<'EOF' || problems+=("could not send over IPv6")
import socket, sys, time
for _ in range(100):
    try:
        s = socket.create_connection(("::1", int(sys.argv[1])))
        break
    except OSError:
        time.sleep(0.05)
s.sendall(b"over v6\nbad\xff\n")
s.close()
EOF
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson)" "over v6"
    want_in errors.ndjson '"error":"invalid UTF-8 at byte 3 \(from \[::1\]:[0-9]+\)"'
    verdict "tcp: listens on [::1]:PORT; IPv6 peers are named [IP]:PORT"
}

case_tcp_bad_settings() {
    fresh tcp_bad
    PORT=1
    pipeline tcp "    max_connections: 0"
    "$SLUICE" validate p.yaml >stdout 2>stderr
    status=$?
    want_status 1
    want_in stderr "p.yaml:5:22: 'max_connections' must be between 1 and 100000"
    sed -i -e 's/127.0.0.1:1$/localhost/' -e '/max_connections/d' p.yaml
    "$SLUICE" validate p.yaml >stdout 2>stderr
    status=$?
    want_status 1
    want_in stderr "p.yaml:4:14: in: bad address 'localhost': use HOST:PORT, \\[IPV6\\]:PORT or :PORT"
    PORT=$("$PY" "$HERE/sources/client.py" port)
    pipeline tcp ""
    "$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(3)' "$PORT" &
    local squatter=$!
    sleep 0.3
    timeout 10 "$SLUICE" run p.yaml >stdout 2>stderr
    status=$?
    kill "$squatter" 2>/dev/null
    wait "$squatter" 2>/dev/null
    want_status 1
    want_in stderr "in: cannot listen on 127\.0\.0\.1:$PORT: Address already in use"
    verdict "tcp: a bad address or limit is reported at its line; a port in use fails the run"
}

# ---- udp -------------------------------------------------------------------

case_udp_lines() {
    fresh udp_lines
    pipeline udp "    receive_buffer_bytes: 4194304"
    start
    client udp "$PORT" --datagrams 2000 --lines 3 --prefix dg
    sleep 0.3
    stop_sluice
    want_status 0
    client expect out.ndjson --clients 2000 --lines 3 --prefix dg
    verdict "udp: 2000 datagrams of 3 lines: 6000 records, each once"
}

case_udp_datagrams() {
    fresh udp_datagram
    pipeline udp "    framing: datagram
    max_datagram_bytes: 100"
    start
    client raw-udp "$PORT" "$(printf 'one\ntwo' | hex)"
    client raw-udp "$PORT" "$(head -c 500 /dev/zero | tr '\0' q | hex)"
    client raw-udp "$PORT" "$(printf 'three' | hex)"
    client raw-udp "$PORT" "$(printf 'bad\xff' | hex)"
    sleep 0.3
    stop_sluice
    want_status 0
    want_eq "records" "$(cat out.ndjson)" '{"message":"one\ntwo"}
{"message":"three"}'
    want_eq "rejections" "$(lines errors.ndjson)" 2
    want_in errors.ndjson '"error":"datagram of 500 bytes over max_datagram_bytes \(100\) \(from 127\.0\.0\.1:[0-9]+\)"'
    want_in errors.ndjson '"error":"invalid UTF-8 at byte 3 '
    verdict "udp: framing datagram keeps a datagram whole; too large or not UTF-8 is rejected"
}

# ---- http ------------------------------------------------------------------

# post [CURL OPTIONS]: POSTs to /ingest; sets `code` and leaves the answer
# in ./answer.
post() {
    code=$(curl -sS -o answer -w '%{http_code}' --max-time 30 "$@" \
        "http://127.0.0.1:$PORT/ingest" 2>curl.err) || code="curl failed: $(cat curl.err)"
}

http_pipeline() {
    pipeline http "    path: /ingest
$1" "${2:-}"
}

case_http_ndjson() {
    fresh http_ndjson
    http_pipeline "    max_body_bytes: 100000000"
    start
    printf '{"a":1}\n{"b":"two"}\r\n\n[3]' >body
    post -H 'Content-Type: application/x-ndjson' --data-binary @body
    want_eq "status" "$code" 200
    want_eq "answer" "$(cat answer)" '{"accepted":3}'
    "$PY" -c 'for i in range(60000): print("{\"big\": %d}" % i)' >big
    post -H 'Content-Type: application/json; charset=utf-8' --data-binary @big
    want_eq "big status" "$code" 200
    want_eq "big answer" "$(cat answer)" '{"accepted":60000}'
    stop_sluice
    want_status 0
    want_eq "records" "$(lines out.ndjson)" 60003
    want_in out.ndjson '^\{"message":"\{\\"b\\":\\"two\\"\}"\}$'
    want_eq "distinct big records" "$(grep -c '"{\\"big\\": ' out.ndjson)" 60000
    verdict "http: NDJSON bodies (3 lines; 60000 lines, 1 MB) are answered 200 with the count"
}

case_http_concurrent() {
    fresh http_concurrent
    http_pipeline ""
    start
    client http-posts "$PORT" /ingest --clients 20 --requests 10 --lines 500 --prefix post
    stop_sluice
    want_status 0
    # The records are JSON strings: compare their text.
    "$PY" -c 'import json, sys
with open("out.ndjson", encoding="utf-8") as f, open("flat.ndjson", "w") as out:
    for line in f:
        out.write(json.dumps({"message": json.loads(json.loads(line)["message"])}) + "\n")'
    client expect flat.ndjson --clients 200 --lines 500 --prefix post
    verdict "http: 20 clients x 10 keep-alive requests of 500 lines: all 200, every line once"
}

case_http_csv() {
    fresh http_csv
    http_pipeline ""
    start
    post -H 'Content-Type: text/csv' --data-binary $'time,sensor\n2026-11-24T10:00:00Z,s1\n'
    want_eq "status" "$code" 200
    want_eq "answer" "$(cat answer)" '{"accepted":2}'
    post -H 'Content-Type: text/plain' --data-binary $'not json, fine as text'
    want_eq "plain status" "$code" 200
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson | tr '\n' '|')" "time,sensor|2026-11-24T10:00:00Z,s1|not json, fine as text|"
    verdict "http: CSV and plain text bodies become one record per line"
}

case_http_bad_body() {
    fresh http_bad
    http_pipeline "    max_line_bytes: 50"
    start
    printf '{"ok":1}\n{"broken":\n{"ok":2}\n' >body
    post -H 'Content-Type: application/x-ndjson' --data-binary @body
    want_eq "status" "$code" 400
    want_in answer '^\{"error":"line 2: invalid JSON at column [0-9]+: .*; nothing was accepted","rejected":1\}$'
    printf '{"s":"%s"}\n' "$(head -c 80 /dev/zero | tr '\0' x)" >long
    post -H 'Content-Type: application/x-ndjson' --data-binary @long
    want_eq "long status" "$code" 400
    want_in answer 'line 1: line longer than 50 bytes'
    printf 'fine\nbad\xff\n' >latin
    post -H 'Content-Type: text/csv' --data-binary @latin
    want_eq "utf8 status" "$code" 400
    want_in answer 'line 2: invalid UTF-8 at byte 3'
    stop_sluice
    want_status 0
    want_eq "records" "$(lines out.ndjson)" 0
    want_eq "rejections" "$(lines errors.ndjson)" 3
    want_in errors.ndjson '"error":"line 2: invalid JSON at column [0-9]+: .* \(request from 127\.0\.0\.1:[0-9]+\)".*"message":"\{\\"broken\\":"'
    verdict "http: a bad line refuses the whole request with 400 and the reason; bad lines go to errors"
}

case_http_too_large() {
    fresh http_large
    http_pipeline "    max_body_bytes: 1000"
    start
    head -c 5000 /dev/zero | tr '\0' '\n' >body
    post -H 'Content-Type: text/csv' --data-binary @body
    want_eq "status" "$code" 413
    want_in answer 'body over max_body_bytes \(1000\)'
    post -H 'Content-Type: text/csv' -H 'Transfer-Encoding: chunked' --data-binary @body
    want_eq "chunked status" "$code" 413
    post -H 'Content-Type: text/csv' --data-binary $'small\n'
    want_eq "small status" "$code" 200
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson)" "small"
    verdict "http: a body over max_body_bytes gets 413 (by Content-Length, and chunked)"
}

case_http_gzip() {
    fresh http_gzip
    http_pipeline "    max_body_bytes: 1000000"
    start
    "$PY" -c 'import json
for i in range(1000): print(json.dumps({"n": i}))' >body
    gzip -c body >body.gz
    post -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary @body.gz
    want_eq "status" "$code" 200
    want_eq "answer" "$(cat answer)" '{"accepted":1000}'
    printf '{"member":1}\n' | gzip -c >two.gz
    printf '{"member":2}\n' | gzip -c >>two.gz
    post -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary @two.gz
    want_eq "two members" "$(cat answer)" '{"accepted":2}'
    head -c 300 body.gz >cut.gz
    post -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary @cut.gz
    want_eq "truncated status" "$code" 400
    want_in answer '"error":"invalid gzip body: it ends too soon; nothing was accepted"'
    post -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' --data-binary @body
    want_eq "not gzip status" "$code" 400
    want_in answer '"error":"invalid gzip body: incorrect header check'
    head -c 20000000 /dev/zero | tr '\0' '\n' | gzip -c >bomb.gz
    post -H 'Content-Type: text/csv' -H 'Content-Encoding: gzip' --data-binary @bomb.gz
    want_eq "bomb status" "$code" 413
    post -H 'Content-Type: text/csv' -H 'Content-Encoding: br' --data-binary @body
    want_eq "brotli status" "$code" 415
    stop_sluice
    want_status 0
    want_eq "records" "$(lines out.ndjson)" 1002
    want_eq "rejections" "$(lines errors.ndjson)" 2
    verdict "http: gzip bodies (also two members); truncated or not gzip 400, a gzip bomb 413"
}

case_http_from_sluice() {
    fresh http_chain
    http_pipeline "    queue_timeout_ms: 50" "    delay_ms: 100"
    start --queue 1
    cat >sender.yaml <<EOF
sources:
  gen:
    type: generate
    count: 20000
    format: csv
sinks:
  post:
    type: http
    inputs: [gen]
    url: http://127.0.0.1:$PORT/ingest
    gzip: true
    retries: 100
    backoff_ms: 20
    max_backoff_ms: 200
EOF
    timeout 120 "$SLUICE" run --quiet sender.yaml >sender.out 2>sender.err
    local sent=$?
    want_eq "sender's exit status" "$sent" 0
    stop_sluice
    want_status 0
    want_in sender.err 'HTTP 503: .*pipeline is full'
    want_eq "records, distinct records" \
        "$("$PY" -c 'import json
seen = [json.loads(json.loads(line)["message"])["message"] for line in open("out.ndjson")]
print(len(seen), len(set(seen)))')" "20000 20000"
    verdict "http: sluice's http sink into a stalled http source: 503s are retried, each record once"
}

case_http_wrong_requests() {
    fresh http_wrong
    http_pipeline ""
    start
    code=$(curl -sS -o answer -w '%{http_code}' -H 'Content-Type: text/csv' --data-binary x \
        "http://127.0.0.1:$PORT/elsewhere")
    want_eq "wrong path" "$code" 404
    code=$(curl -sS -o answer -w '%{http_code}' "http://127.0.0.1:$PORT/ingest")
    want_eq "GET" "$code" 405
    post --data-binary 'a=b'
    want_eq "form body" "$code" 415
    want_in answer 'Content-Type must be'
    stop_sluice
    want_status 0
    want_eq "records" "$(lines out.ndjson)" 0
    verdict "http: wrong path 404, wrong method 405, unknown Content-Type 415"
}

case_http_full_pipeline() {
    fresh http_full
    http_pipeline "    format: csv
    queue_timeout_ms: 200" "    delay_ms: 700"
    start --queue 1
    local i codes=""
    for i in 1 2 3 4 5 6; do
        post --data-binary "request-$i"
        codes="$codes$code "
        cp answer "answer-$i"
        [ "$code" = 200 ] && echo "request-$i" >>accepted
    done
    stop_sluice
    want_status 0
    case "$codes" in
    *503*) ;;
    *) problems+=("no 503 while the sink was stalled: $codes") ;;
    esac
    want_in <(cat answer-*) 'pipeline is full \(queue_timeout_ms passed\); nothing was accepted'
    want_eq "records: exactly the accepted requests" \
        "$(messages out.ndjson | sort | tr '\n' ' ')" "$(sort accepted | tr '\n' ' ')"
    verdict "http: a pipeline full past queue_timeout_ms answers 503; exactly the 200s arrive"
}

case_http_stopping() {
    fresh http_stop
    http_pipeline "    format: ndjson"
    start
    post --data-binary '{"before":1}'
    want_eq "status" "$code" 200
    kill -TERM "$SLUICE_PID"
    await_lines stderr 1     # "stopping, draining what is in flight"
    sleep 0.2
    post --data-binary '{"after":1}'
    case "$code" in
    503 | curl\ failed*) ;;
    *) problems+=("a request after the stop got $code") ;;
    esac
    stop_sluice
    want_status 0
    want_eq "records" "$(messages out.ndjson)" '{"before":1}'
    verdict "http: after SIGTERM requests are refused (503 or connection refused), none accepted"
}

cases=("${@:2}")
[ ${#cases[@]} -gt 0 ] || cases=(tcp_one_client tcp_many_clients tcp_split_reads tcp_no_final_newline \
         tcp_long_line tcp_long_line_across_reads tcp_random_streams tcp_invalid_utf8 \
         tcp_max_connections \
         tcp_backpressure tcp_stop_with_open_client tcp_ipv6 tcp_bad_settings \
         udp_lines udp_datagrams \
         http_ndjson http_concurrent http_csv http_bad_body http_too_large http_gzip http_wrong_requests \
         http_full_pipeline http_from_sluice http_stopping)
for c in "${cases[@]}"; do
    "case_$c"
done
finish sources
