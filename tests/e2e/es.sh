#!/usr/bin/env bash
# tests/e2e/es.sh BINARY: end-to-end tests of the elasticsearch sink.
#
# No Elasticsearch server is packaged for Debian 12, so the other end is
# tests/e2e/es/bulk_server.py: a test server on loopback that checks the
# _bulk protocol strictly (method, path, content type, NDJSON pairs, gzip,
# authentication), answers item by item as Elasticsearch does, can be
# scripted to fail requests or single items, and records what it stored.
# Every case also requires that the server saw no protocol violation.
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last
# line is "es: N passed, M failed", and the exit status is non-zero on
# failure. Servers are stopped whatever happens.
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
trap 'exit 130' INT TERM HUP   # so that the EXIT trap runs

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Running and checking --------------------------------------------------

run() {
    timeout 60 "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { head -c 500 "$1" 2>/dev/null | tr '\n' '|'; }

# docs EXPRESSION: one line per stored document, the Python expression of d.
docs() {
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    print(eval(sys.argv[2]))' "$SERVER_DIR/docs.ndjson" "$1" 2>&1
}

want_no_violations() {
    [ ! -s "$SERVER_DIR/violations.log" ] ||
        problems+=("protocol violations: $(show "$SERVER_DIR/violations.log")")
}

fresh() {
    stop_test_server
    rm -rf "${WORK:?}/$1"
    mkdir -p "$WORK/$1"
    cd "$WORK/$1" || exit 1
}

# ---- The test server -------------------------------------------------------

# start_server [bulk_server.py options]: starts it in ./srv, sets PORT.
start_server() { start_test_server "$HERE/es/bulk_server.py" "$@"; }

# readings N FILE: N JSON records with an id, a time one hour apart and a
# reading; record i is marked "flaky" when i % 7 == 3 and "poison" when
# i % 50 == 10.
readings() {
    python3 -c 'import sys, json
for i in range(int(sys.argv[1])):
    rec = {"id": "r%d" % i, "time": "2026-11-%02dT%02d:00:00Z" % (24 + i // 24 % 3, i % 24),
           "reading": i}
    if i % 7 == 3: rec["note"] = "flaky"
    if i % 50 == 10: rec["note"] = "poison"
    print(json.dumps(rec))' "$1" >"$2"
}

# A pipeline reading FILE as JSON into the sink `es`, whose rejects go to
# rejects.ndjson; the sink settings are the remaining arguments (YAML lines).
json_pipeline() {
    local file=$1
    shift
    {
        printf 'sources:\n  file:\n    type: file\n    path: %s\n' "$file"
        printf 'transforms:\n  json:\n    type: parse_json\n    inputs: [file]\n'
        printf 'sinks:\n  es:\n    type: elasticsearch\n    inputs: [json]\n'
        printf '    %s\n' "$@"
        printf '  rejects:\n    type: file\n    inputs: [es.errors]\n    path: rejects.ndjson\n'
    } >p.yaml
}

# ---- Cases -----------------------------------------------------------------

case_generated() {
    fresh generated
    start_server
    cat >p.yaml <<EOF
sources:
  gen:
    type: generate
    count: 2500
sinks:
  es:
    type: elasticsearch
    inputs: [gen]
    url: http://127.0.0.1:$PORT/
    index: "sensors-%Y.%m.%d"
    max_records: 400
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    want_eq "documents" "$(docs 'd["source"]["time"]' | sort -u | wc -l | tr -d ' ')" "2500"
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "2500"
    want_eq "indexes" "$(docs 'd["index"] + " " + d["op"]' | sort -u)" "sensors-2026.11.24 index"
    want_eq "largest bulk" "$(awk '{print $2}' "$SERVER_DIR/requests.log" | sort -n | tail -n1)" "400"
    want_eq "a source" "$(docs 'json.dumps(d["source"], sort_keys=True)' | head -n1)" \
        '{"humidity": 30.0, "pm25": 0.0, "pressure": 1000.0, "sensor": "sensor-1", "temperature": 15.0, "time": "2026-11-24T10:00:00.000Z"}'
    verdict "generated: records become index actions with their fields as sources, in bulks of at most max_records, each stored once"
}

case_partial_failures() {
    fresh partial
    readings 300 in.ndjson
    start_server --fail-requests 2 --flaky '"flaky"' --flaky-times 2 --reject '"poison"'
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" 'index: "readings-%Y.%m.%d"' \
        "id_field: id" "backoff_ms: 10" "max_backoff_ms: 50" "max_records: 64"
    run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    local poison=6 # i % 50 == 10 for i < 300
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "$((300 - poison))"
    want_eq "distinct ids" "$(docs 'd["id"]' | sort -u | wc -l | tr -d ' ')" "$((300 - poison))"
    want_eq "ids match sources" "$(docs 'd["id"] == d["source"]["id"]' | sort -u)" "True"
    want_eq "no poison stored" "$(docs 'd["source"].get("note")' | grep -c poison)" "0"
    want_eq "flaky stored" "$(docs 'd["source"].get("note")' | grep -c flaky)" "42" # r10 is poison
    want_eq "rejected" "$(lines rejects.ndjson)" "$poison"
    want_in rejects.ndjson '"note":"poison".*"error":"mapper_parsing_exception \(status 400\): failed to parse field'
    want_in rejects.ndjson '"component":"es"'
    want_in "$WORK/stderr" 'HTTP 503.*retry 1$'
    want_in "$WORK/stderr" 'es_rejected_execution_exception \(status 429\).*retry'
    want_eq "days" "$(docs 'd["index"]' | sort -u | tr '\n' ' ')" \
        "readings-2026.11.24 readings-2026.11.25 readings-2026.11.26 "
    want_eq "day of r30" "$(docs 'd["index"] if d["id"] == "r30" else ""' | grep .)" "readings-2026.11.25"
    verdict "partial failures: 503 requests and 429 items are retried (only the failed items), 400 items go to .errors with type and reason; every other record is stored exactly once"
}

case_lost_answers() {
    fresh lost
    readings 200 in.ndjson
    start_server --lose-answers 2
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" 'index: "r"' "id_field: id" \
        "backoff_ms: 10"
    run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "200"
    want_eq "rejected" "$(lines rejects.ndjson)" "0"
    want_in "$SERVER_DIR/requests.log" '^200 200 '
    want_in "$WORK/stderr" 'retry 2$'
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "stored after a second run" "$(lines "$SERVER_DIR/docs.ndjson")" "200"
    want_eq "rejected after a second run" "$(lines rejects.ndjson)" "0"
    verdict "idempotent _id: a bulk stored but unanswered is sent again as create; 409 means already there, so nothing is duplicated or rejected"
}

case_index_templates() {
    fresh templates
    start_server
    cat >in.ndjson <<'EOF'
{"app": "web", "time": "2025-01-31T23:59:59Z", "n": 1}
{"app": "db", "time": "2026-12-01T00:00:00+02:00", "n": 2}
{"app": "web", "n": 3}
{"n": 4}
{"app": {"nested": true}, "n": 5}
{"app": 7, "when": "2024-02-29T12:00:00Z", "n": 6}
EOF
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" 'index: "{app}-%Y.%m.%d-%H%%"'
    run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    local today
    today=$(date -u +%Y.%m.%d)
    local hour='[0-9]{2}%'
    want_eq "dated indexes" "$(docs '"%d %s" % (d["source"]["n"], d["index"])' | sort | head -n2)" \
        "$(printf '1 web-2025.01.31-23%%\n2 db-2026.11.30-22%%')"
    want_in <(docs '"%d %s" % (d["source"]["n"], d["index"])') "^3 web-$today-$hour$"
    want_in <(docs '"%d %s" % (d["source"]["n"], d["index"])') "^6 7-$today-$hour$"
    want_eq "rejected" "$(lines rejects.ndjson)" "2"
    want_in rejects.ndjson '"n":4,.*no field .app.'
    want_in rejects.ndjson '"n":5,.*field .app. is map'
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" 'index: "x-%Y"' 'timestamp_field: when'
    rm -f "$SERVER_DIR/docs.ndjson"
    run "$SLUICE" run p.yaml
    want_eq "timestamp_field" "$(docs '"%d %s" % (d["source"]["n"], d["index"])' | sort | tr '\n' ' ')" \
        "1 x-$(date -u +%Y) 2 x-$(date -u +%Y) 3 x-$(date -u +%Y) 4 x-$(date -u +%Y) 5 x-$(date -u +%Y) 6 x-2024 "
    verdict "index templates: %Y %m %d %H from the record's time in UTC (or now), {field} from a field; records lacking the field go to .errors"
}

case_gzip_basic_auth() {
    fresh gzip_auth
    readings 50 in.ndjson
    start_server --gzip --user 'elastic:pa ss'
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" "gzip: true" 'index: "g"' \
        "auth: {user: elastic, password: \"\${ES_PASSWORD}\"}" "retries: 0"
    ES_PASSWORD='pa ss' run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "50"
    want_in "$SERVER_DIR/requests.log" '^200 50 gzip /_bulk$'
    ES_PASSWORD='wrong' run "$SLUICE" run p.yaml
    want_status 0
    want_eq "stored after a wrong password" "$(lines "$SERVER_DIR/docs.ndjson")" "50"
    want_eq "rejected" "$(lines rejects.ndjson)" "50"
    want_in rejects.ndjson '"error":"HTTP 401: .*security_exception'
    verdict "gzip and basic auth: compressed bodies and the Authorization header are accepted; a refused login sends the records to .errors"
}

case_api_key_pipeline_urls() {
    fresh api_key
    readings 30 in.ndjson
    start_server --api-key 'aWQ6a2V5'
    local closed
    closed=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    json_pipeline in.ndjson "urls: [\"http://127.0.0.1:$closed\", \"http://127.0.0.1:$PORT\"]" \
        'index: "k"' "pipeline: enrich readings" "auth: {api_key: aWQ6a2V5}" "backoff_ms: 10"
    run "$SLUICE" run p.yaml
    want_status 0
    want_no_violations
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "30"
    want_eq "pipeline" "$(docs 'd["pipeline"]' | sort -u)" "enrich readings"
    want_in "$SERVER_DIR/requests.log" '/_bulk\?pipeline=enrich%20readings$'
    want_in "$WORK/stderr" "127.0.0.1:$closed.*retry 1$"
    verdict "api key, ingest pipeline, several urls: a node that refuses connections is skipped for the next"
}

case_give_up() {
    fresh give_up
    readings 20 in.ndjson
    start_server --fail-requests 1000
    json_pipeline in.ndjson "url: http://127.0.0.1:$PORT" 'index: "never"' "retries: 2" \
        "backoff_ms: 10"
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "requests" "$(lines "$SERVER_DIR/requests.log")" "3"
    want_eq "stored" "$(lines "$SERVER_DIR/docs.ndjson")" "0"
    want_eq "rejected" "$(lines rejects.ndjson)" "20"
    want_in rejects.ndjson '"error":"gave up after 3 attempts: HTTP 503: .*unavailable_shards_exception'
    verdict "outage: retries are bounded by the setting, then the records go to .errors with the last error"
}

case_validate() {
    fresh validate
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 1
sinks:
  a:
    type: elasticsearch
    inputs: [gen]
    url: localhost:9200
    index: "logs-%Q"
  b:
    type: elasticsearch
    inputs: [gen]
    index: "logs-{"
  c:
    type: elasticsearch
    inputs: [gen]
    url: http://localhost:9200
    auth: {user: u, api_key: k}
EOF
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "p.yaml:10:12: .*'%Q' in the index"
    want_in "$WORK/stderr" "p.yaml:14:12: .*needs a field name"
    want_in "$WORK/stderr" "p.yaml:19:11: .*either user \(and password\) or api_key"
    verdict "validate: bad index templates, urls and credentials are reported with positions"
}

case_generated
case_partial_failures
case_lost_answers
case_index_templates
case_gzip_basic_auth
case_api_key_pipeline_urls
case_give_up
case_validate

stop_test_server
finish es
