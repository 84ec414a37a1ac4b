#!/usr/bin/env bash
# tests/e2e/sinks.sh BINARY: end-to-end tests of the sqlite and http sinks
# and the parse_regex transform, through `sluice run` and `sluice validate`.
#
# Each case writes a pipeline file into a scratch directory, runs it, and
# checks the result where it landed: the database with the sqlite3 CLI, the
# requests and bodies logged by tests/e2e/sinks/server.py (a scripted HTTP
# server on loopback), the NDJSON written by a file sink. Each case prints
# "ok NAME" or "FAIL NAME" with what differed; the last line is
# "sinks: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
SERVER_PID=
trap 'stop_test_server; rm -rf "$WORK"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Running and checking --------------------------------------------------

# run CMD...: runs CMD with a time limit, capturing its output and status.
run() {
    timeout 60 "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { # the start of a file, on one line
    head -c 400 "$1" 2>/dev/null | tr '\n' '|'
}

sql() { # DB QUERY: the rows, columns separated by |
    sqlite3 -batch -separator '|' "$1" "$2" 2>&1
}

# fresh NAME: an empty directory for one case, made the current directory.
fresh() {
    rm -rf "${WORK:?}/$1"
    mkdir -p "$WORK/$1"
    cd "$WORK/$1" || exit 1
}

# ---- The test server -------------------------------------------------------

# start_server [server.py options]: starts it in ./srv, sets PORT.
start_server() { start_test_server "$HERE/sinks/server.py" "$@"; }

# json_to_sqlite [MORE]: p.yaml: in.ndjson parsed as JSON into the sqlite
# sink `db` (out.db); MORE (YAML lines, the sink's or more sinks) ends it.
json_to_sqlite() {
    cat >p.yaml <<'EOF'
sources:
  in:
    type: file
    path: in.ndjson
transforms:
  json:
    type: parse_json
    inputs: [in]
sinks:
  db:
    type: sqlite
    inputs: [json]
    path: out.db
EOF
    [ $# -eq 0 ] || printf '%s\n' "$1" >>p.yaml
}

# ---- sqlite ----------------------------------------------------------------

case_sqlite_generate() {
    fresh sqlite_generate
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 2500
sinks:
  db:
    type: sqlite
    inputs: [gen]
    path: out.db
    table: readings
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rows" "$(sql out.db 'SELECT count(*), count(DISTINCT time) FROM readings')" "2500|2500"
    want_eq "journal mode" "$(sql out.db 'PRAGMA journal_mode')" "wal"
    want_in <(sql out.db '.schema readings') 'STRICT'
    want_eq "first time" "$(sql out.db 'SELECT time FROM readings ORDER BY rowid LIMIT 1')" \
        "2026-11-24T10:00:00.000Z"
    want_eq "column types" "$(sql out.db "SELECT group_concat(type, ' ') FROM pragma_table_info('readings') WHERE name IN ('time', 'sensor')")" "TEXT TEXT"
    want_eq "real readings" "$(sql out.db "SELECT typeof(temperature) FROM readings LIMIT 1")" "real"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rows after a second run" "$(sql out.db 'SELECT count(*) FROM readings')" "5000"
    verdict "sqlite: generated records become typed rows in a STRICT WAL table; a second run appends"
}

case_sqlite_timestamps_integer() {
    fresh sqlite_ts
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 3
sinks:
  db:
    type: sqlite
    inputs: [gen]
    path: out.db
    timestamps: integer
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "ns" "$(sql out.db 'SELECT time FROM records ORDER BY rowid')" \
        "1795514400000000000
1795514400001000000
1795514400002000000"
    want_eq "type" "$(sql out.db "SELECT type FROM pragma_table_info('records') WHERE name = 'time'")" "INTEGER"
    verdict "sqlite: timestamps: integer stores nanoseconds in an INTEGER column"
}

case_sqlite_schema_evolution() {
    fresh sqlite_evolve
    cat >in.ndjson <<'EOF'
{"id": 1, "name": "a", "gone": null}
{"id": 2, "score": 1.5}
{"id": 3, "tags": ["x", "y"], "where": {"lat": 1.25, "ok": true}}
{"id": 4, "flag": true, "name": "d", "score": 7}
{"ID": 5, "name": ""}
EOF
    json_to_sqlite
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "columns" "$(sql out.db "SELECT group_concat(name || ':' || type, ' ') FROM pragma_table_info('records')")" \
        "id:INTEGER name:TEXT score:REAL tags:TEXT where:TEXT flag:INTEGER"
    want_eq "rows" "$(sql out.db 'SELECT id, quote(name), score, tags, "where", flag FROM records ORDER BY id')" \
        "1|'a'||||
2|NULL|1.5|||
3|NULL||[\"x\",\"y\"]|{\"lat\":1.25,\"ok\":true}|
4|'d'|7.0|||1
5|''||||"
    want_eq "json is queryable" "$(sql out.db "SELECT json_extract(\"where\", '\$.lat') FROM records WHERE id = 3")" "1.25"
    verdict "sqlite: new fields become columns (ALTER TABLE), nested values JSON, null as absent"
}

case_sqlite_rejects() {
    fresh sqlite_rejects
    cat >in.ndjson <<'EOF'
{"n": 1, "s": "one"}
{"n": "two", "s": "two"}
{"n": 3, "s": 3}
{"n": 4.5}
{"n": 5, "fresh": "only in a rejected record", "s": true}
{"n": 6, "s": "six"}
{"n": 7, "N": 8}
EOF
    json_to_sqlite '  bad:
    type: file
    inputs: [db.errors]
    path: errors.ndjson'
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "stored" "$(sql out.db 'SELECT n, s FROM records ORDER BY n')" "1|one
6|six"
    want_eq "routed" "$(cat errors.ndjson 2>/dev/null)" \
        '{"n":"two","s":"two","error":"field '"'n'"' is string, column '"'n'"' is INTEGER","component":"db"}
{"n":3,"s":3,"error":"field '"'s'"' is int, column '"'s'"' is TEXT","component":"db"}
{"n":4.5,"error":"field '"'n'"' is float, column '"'n'"' is INTEGER","component":"db"}
{"n":5,"fresh":"only in a rejected record","s":true,"error":"field '"'s'"' is bool, column '"'s'"' is TEXT","component":"db"}
{"n":7,"N":8,"error":"two fields map to column '"'n'"' (SQLite ignores case)","component":"db"}'
    want_eq "no column from a rejected record" \
        "$(sql out.db "SELECT count(*) FROM pragma_table_info('records') WHERE name = 'fresh'")" 0
    # Without a reader of db.errors the reasons are logged.
    sed -i '/^  bad:/,$d' p.yaml
    rm -f out.db*
    run "$SLUICE" run p.yaml
    want_status 0
    want_in "$WORK/stderr" "db: rejected: field 'n' is string, column 'n' is INTEGER"
    want_in "$WORK/stderr" "db: rejected: field 'n' is float, column 'n' is INTEGER"
    want_in "$WORK/stderr" "db: rejected: field 's' is int, column 's' is TEXT"
    verdict "sqlite: a value that does not fit its column rejects the record, with the reason"
}

case_sqlite_existing_table() {
    fresh sqlite_existing
    sql out.db "CREATE TABLE events (id INTEGER PRIMARY KEY, msg VARCHAR(20) NOT NULL, level)" >/dev/null
    cat >in.ndjson <<'EOF'
{"id": 1, "msg": "first", "level": 3}
{"id": 1, "msg": "duplicate id"}
{"id": 2, "level": "warn"}
{"id": 3, "msg": "third", "level": "info", "extra": 2.5}
EOF
    json_to_sqlite '    table: events'
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rows" "$(sql out.db 'SELECT id, msg, level, extra FROM events ORDER BY id')" "1|first|3|
3|third|info|2.5"
    want_in "$WORK/stderr" "db: rejected: UNIQUE constraint failed: events.id"
    want_in "$WORK/stderr" "db: rejected: NOT NULL constraint failed: events.msg"
    verdict "sqlite: a table made elsewhere is used as is; its constraints reject records"
}

case_sqlite_busy() {
    fresh sqlite_busy
    sql out.db "CREATE TABLE records (n INTEGER); PRAGMA journal_mode=WAL" >/dev/null
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 100
sinks:
  db:
    type: sqlite
    inputs: [gen]
    path: out.db
EOF
    # Another writer holds the database for a second.
    python3 - <<'EOF' &
import sqlite3, time
db = sqlite3.connect("out.db", isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO records (n) VALUES (0)")
open("locked", "w").close()
time.sleep(1.0)
db.execute("COMMIT")
EOF
    local locker=$!
    while [ ! -f locked ]; do sleep 0.02; done
    run "$SLUICE" run p.yaml
    wait "$locker"
    want_status 0
    want_eq "rows" "$(sql out.db 'SELECT count(*), count(time) FROM records')" "101|100"
    # A writer that holds it longer than busy_timeout_ms wins: the records
    # are rejected with the reason, and the run fails.
    printf '    busy_timeout_ms: 200\n' >>p.yaml
    python3 - <<'EOF' &
import sqlite3, time
db = sqlite3.connect("out.db", isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open("locked2", "w").close()
time.sleep(2.0)
db.execute("ROLLBACK")
EOF
    locker=$!
    while [ ! -f locked2 ]; do sleep 0.02; done
    run "$SLUICE" run p.yaml
    wait "$locker"
    want_status 1
    want_in "$WORK/stderr" "db: .*database is locked"
    want_in "$WORK/stderr" "rejected: not stored: database is locked"
    want_eq "rows" "$(sql out.db 'SELECT count(*) FROM records')" "101"
    verdict "sqlite: a busy database is retried with backoff until busy_timeout_ms"
}

case_sqlite_sigterm() {
    fresh sqlite_sigterm
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    rate: 20000
sinks:
  db:
    type: sqlite
    inputs: [gen]
    path: out.db
EOF
    "$SLUICE" run p.yaml >"$WORK/stdout" 2>"$WORK/stderr" &
    local pid=$!
    sleep 1.5
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    want_status 0
    local rows
    rows=$(sql out.db 'SELECT count(*) FROM records')
    [ "$rows" -gt 1000 ] 2>/dev/null || problems+=("only '$rows' rows after 1.5 s at 20000/s")
    # Record i has time 10:00:00 + i ms: stored rows have no gap.
    want_eq "no gap" "$(sql out.db "SELECT count(*) = count(DISTINCT time) AND max(rowid) = count(*) FROM records")" 1
    want_eq "last is the count" "$(sql out.db "SELECT (SELECT time FROM records ORDER BY rowid DESC LIMIT 1) = strftime('%Y-%m-%dT%H:%M:%f', '2026-11-24T10:00:00', '+' || ((count(*) - 1) / 1000.0) || ' seconds') || 'Z' FROM records")" 1
    verdict "sqlite: SIGTERM drains and commits every accepted record"
}

# ---- http ------------------------------------------------------------------

http_pipeline() { # PORT EXTRA-SETTINGS: generate 50 records, POST them
    cat >p.yaml <<EOF
sources:
  gen:
    type: generate
    count: ${COUNT:-50}
sinks:
  web:
    type: http
    inputs: [gen]
    url: http://127.0.0.1:$1/ingest
    backoff_ms: 20
$2
EOF
}

case_http_retries() {
    fresh http_retries
    start_server --fail-first 2
    http_pipeline "$PORT" ""
    run "$SLUICE" run p.yaml
    stop_test_server
    want_status 0
    want_eq "requests" "$(cut -d' ' -f1,3,4 srv/requests.log 2>/dev/null)" "503 identity 50
503 identity 50
200 identity 50"
    want_eq "received once each" "$(grep -o '"time":"[^"]*"' srv/received.ndjson | sort -u | wc -l) $(lines srv/received.ndjson)" "50 50"
    want_in "$WORK/stderr" "web: HTTP 503: busy, try later; retry 1$"
    want_in "$WORK/stderr" "web: HTTP 503: busy, try later; retry 2$"
    verdict "http: 503 twice, then 200: retried with backoff, every record arrives once"
}

case_http_refused() {
    fresh http_refused
    start_server --refuse-marker MARKED
    {
        for i in $(seq 1 3000); do
            if [ "$i" -gt 1500 ] && [ "$i" -le 1510 ]; then
                echo "{\"i\": $i, \"note\": \"MARKED\"}"
            else
                echo "{\"i\": $i}"
            fi
        done
    } >in.ndjson
    cat >p.yaml <<EOF
sources:
  in:
    type: file
    path: in.ndjson
transforms:
  json:
    type: parse_json
    inputs: [in]
sinks:
  web:
    type: http
    inputs: [json]
    url: http://127.0.0.1:$PORT/ingest
  bad:
    type: file
    inputs: [web.errors]
    path: errors.ndjson
EOF
    run "$SLUICE" run p.yaml
    stop_test_server
    want_status 0
    local got refused
    got=$(lines srv/received.ndjson)
    refused=$(lines errors.ndjson)
    want_eq "received + refused" "$((got + refused))" 3000
    want_eq "marked refused" "$(grep -c '"note":"MARKED"' errors.ndjson)" 10
    want_eq "marked received" "$(grep -c MARKED srv/received.ndjson)" 0
    want_eq "refused by 400" "$refused" "$(awk '$1 == 400 { n += $4 } END { print n + 0 }' srv/requests.log)"
    want_in errors.ndjson '"error":"HTTP 400: bad record: found MARKED","component":"web"'

    want_eq "each once" "$(cat srv/received.ndjson errors.ndjson | grep -o '"i":[0-9]*' | sort -u | wc -l)" 3000
    want_in srv/requests.log '^400 '
    want_in srv/requests.log '^200 '
    want_eq "one connection" "$(cut -d' ' -f2 srv/requests.log | sort -u | wc -l)" 1
    # The reason, when nothing reads web.errors:
    sed -i '/^  bad:/,$d' p.yaml
    start_server --refuse-marker MARKED
    sed -i "s|127.0.0.1:[0-9]*|127.0.0.1:$PORT|" p.yaml
    run "$SLUICE" run p.yaml
    stop_test_server
    want_in "$WORK/stderr" "web: rejected: HTTP 400: bad record: found MARKED"
    verdict "http: a 400 sends that batch's records to .errors with the status and body; keep-alive"
}

case_http_gzip_headers() {
    fresh http_gzip
    start_server
    http_pipeline "$PORT" "    gzip: true
    headers:
      X-Token: secret"
    run "$SLUICE" run p.yaml
    stop_test_server
    want_status 0
    want_eq "requests" "$(cut -d' ' -f1,3,4,5 srv/requests.log 2>/dev/null)" "200 gzip 50 secret"
    want_eq "received" "$(lines srv/received.ndjson)" 50
    verdict "http: gzip: true sends Content-Encoding: gzip bodies the server can read; headers are sent"
}

case_http_unreachable() {
    fresh http_unreachable
    # A port nobody listens on: take a free one and let it go.
    local port
    port=$(free_port)
    http_pipeline "$port" "    retries: 2
  bad:
    type: file
    inputs: [web.errors]
    path: errors.ndjson"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rejected" "$(lines errors.ndjson)" 50
    want_in "$WORK/stderr" "web: .*retry 2 of 2"
    sed -i '/^  bad:/,$d' p.yaml
    run "$SLUICE" run p.yaml
    want_in "$WORK/stderr" "web: rejected: gave up after 3 attempts: .*(refused|connect)"
    verdict "http: connection errors are retried, then the records go to .errors"
}

# While every http sink waits for its server, in as many sinks as there
# are default workers (one per core), a branch of its own still flows: the
# sinks wait on threads of their own, not the pool's (runtime.c).
case_http_outage_others_flow() {
    fresh http_outage_flow
    local port sinks i pid tenths=0
    port=$(free_port)
    sinks=$(getconf _NPROCESSORS_ONLN)
    [ "$sinks" -ge 2 ] || sinks=2
    {
        printf 'sources:\n  gen:\n    type: generate\n    count: 50\n  lines:\n    type: stdin\n'
        printf 'sinks:\n  copy:\n    type: file\n    inputs: [lines]\n    path: out.ndjson\n'
        for i in $(seq "$sinks"); do
            printf '  web%s:\n    type: http\n    inputs: [gen]\n' "$i"
            printf '    url: http://127.0.0.1:%s/ingest\n    backoff_ms: 20\n    max_backoff_ms: 200\n' "$port"
        done
    } >p.yaml
    mkfifo in
    timeout 60 "$SLUICE" run p.yaml <in >"$WORK/stdout" 2>"$WORK/stderr" &
    pid=$!
    exec 3>in
    # The lines go in only once every sink is inside its call, retrying.
    while [ "$(grep -Ec '^sluice: web[0-9]+: .*; retry 1$' "$WORK/stderr")" -lt "$sinks" ] &&
          [ "$tenths" -lt 200 ]; do
        sleep 0.1
        tenths=$((tenths + 1))
    done
    seq 3000 >&3
    wait_for_lines out.ndjson 3000 20
    want_eq "lines copied while the server is away" "$(lines out.ndjson)" 3000
    exec 3>&-               # before the server starts, or it inherits it
    start_server --port "$port"
    wait "$pid"
    status=$?
    stop_test_server
    want_status 0
    want_eq "records received once it is back" "$(lines srv/received.ndjson)" $((50 * sinks))
    verdict "http: $sinks sinks waiting for their server (default workers) do not stop another branch"
}

case_http_bad_settings() {
    fresh http_settings
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 1
sinks:
  web:
    type: http
    inputs: [gen]
    url: ftp://example.com/
    headers:
      "Bad Name": x
EOF
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "^p.yaml:9:10: web: the url must start with http:// or https://$"
    want_in "$WORK/stderr" "^p.yaml:11:19: web: 'Bad Name' is not a valid header name$"
    verdict "http: a url that is not http(s) and a bad header name are config errors at their positions"
}

# ---- parse_regex -----------------------------------------------------------

regex_pipeline() { # PATTERN-LINE TYPES-LINES
    cat >p.yaml <<EOF
sources:
  in:
    type: file
    path: in.log
transforms:
  parsed:
    type: parse_regex
    inputs: [in]
$1
$2
sinks:
  out:
    type: file
    inputs: [parsed]
    path: out.ndjson
  bad:
    type: file
    inputs: [parsed.errors]
    path: errors.ndjson
EOF
}

case_regex_happy() {
    fresh regex_happy
    cat >in.log <<'EOF'
2026-11-24T10:00:00Z GET /index.html 200 0.125 true
2026-11-24T10:00:01.5Z POST /api 503 2 false
EOF
    regex_pipeline \
        '    pattern: ^(?<ts>\S+) (?<method>[A-Z]+) (?<path>\S+) (?<status>\d+) (?<secs>[\d.]+) (?<cached>\w+)$' \
        '    types: {ts: timestamp, status: int, secs: float, cached: bool}'
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "parsed" "$(cat out.ndjson 2>/dev/null)" \
        '{"message":"2026-11-24T10:00:00Z GET /index.html 200 0.125 true","ts":"2026-11-24T10:00:00.000Z","method":"GET","path":"/index.html","status":200,"secs":0.125,"cached":true}
{"message":"2026-11-24T10:00:01.5Z POST /api 503 2 false","ts":"2026-11-24T10:00:01.500Z","method":"POST","path":"/api","status":503,"secs":2.0,"cached":false}'
    want_eq "errors" "$(lines errors.ndjson)" 0
    verdict "parse_regex: named captures become fields, cast by types"
}

case_regex_rejects() {
    fresh regex_rejects
    printf '%s\n' "user=ann age=31" "this line has no user" "user=bob age=old" \
        "user=cid" "user=dan age=40" >in.log
    regex_pipeline '    pattern: "^user=(?<user>\\w+)(?: age=(?<age>\\w+))?$"' \
        '    types: {age: int}'
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "parsed" "$(cat out.ndjson 2>/dev/null)" \
        '{"message":"user=ann age=31","user":"ann","age":31}
{"message":"user=cid","user":"cid"}
{"message":"user=dan age=40","user":"dan","age":40}'
    want_eq "routed" "$(cat errors.ndjson 2>/dev/null)" \
        '{"message":"this line has no user","error":"no match","component":"parsed"}
{"message":"user=bob age=old","error":"capture '"'age'"': '"'old'"' cannot be read as int","component":"parsed"}'
    sed -i '/^  bad:/,$d' p.yaml
    run "$SLUICE" run p.yaml
    want_in "$WORK/stderr" "parsed: rejected: no match$"
    want_in "$WORK/stderr" "parsed: rejected: capture 'age': 'old' cannot be read as int$"
    verdict "parse_regex: a non-matching line and a failed cast go to .errors with the reason"
}

case_regex_field() {
    fresh regex_field
    cat >in.ndjson <<'EOF'
{"line": "k=v1"}
{"line": 42}
{"other": "k=v3"}
EOF
    cat >p.yaml <<'EOF'
sources:
  in:
    type: file
    path: in.ndjson
transforms:
  json:
    type: parse_json
    inputs: [in]
  kv:
    type: parse_regex
    inputs: [json]
    field: line
    pattern: 'k=(?<value>.*)'
sinks:
  out:
    type: file
    inputs: [kv]
    path: out.ndjson
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "parsed" "$(cat out.ndjson 2>/dev/null)" '{"line":"k=v1","value":"v1"}'
    want_in "$WORK/stderr" "kv: rejected: field 'line' is int, not a string"
    want_in "$WORK/stderr" "kv: rejected: no field 'line'"
    verdict "parse_regex: field picks the string to parse; a missing or non-string one is rejected"
}

case_regex_invalid() {
    fresh regex_invalid
    printf 'x\n' >in.log
    regex_pipeline '    pattern: "(?<open>abc"' ''
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "^p.yaml:9:14: parsed: invalid pattern: missing closing parenthesis at offset 11$"
    regex_pipeline '    pattern: no captures here' '    types: {nope: int}'
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "^p.yaml:9:14: parsed: the pattern has no named capture"
    regex_pipeline '    pattern: (?<a>x)' '    types: {b: int}'
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "^p.yaml:10:16: parsed: 'b' is not a named capture of the pattern$"
    verdict "parse_regex: an invalid pattern is a config error at file:line:column with PCRE2's message"
}

for c in sqlite_generate sqlite_timestamps_integer sqlite_schema_evolution sqlite_rejects \
         sqlite_existing_table sqlite_busy sqlite_sigterm \
         http_retries http_refused http_gzip_headers http_unreachable \
         http_outage_others_flow http_bad_settings \
         regex_happy regex_rejects regex_field regex_invalid; do
    "case_$c"
done
finish sinks
