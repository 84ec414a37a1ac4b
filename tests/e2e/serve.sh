#!/usr/bin/env bash
# tests/e2e/serve.sh BINARY: end-to-end tests of `sluice serve`
# (docs/console.md), the control plane, against the real binary on a free
# loopback port: the token, components, validation, pipelines (store,
# start, stats, tap, logs, redeploy, stop, crash and restart, restart of
# the server), preview of a function (the C guest of function.sh, built
# with clang-19), the registry mounted under /api/v1/artifacts, and the
# console's static files.
#
# Each case prints "ok NAME" or "FAIL NAME" with what differed; the last
# line is "serve: N passed, M failed", and the exit status is non-zero if
# anything failed. Waits poll a condition with a generous limit: no case
# depends on timing.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/build/e2e/serve
WORK=$(mktemp -d)
DATA=$WORK/data
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$W" "$WORK/web/sub"
unset SLUICE_TOKEN SLUICE_REGISTRY_URL SLUICE_REGISTRY_TOKEN
export SLUICE_REGISTRY_CONFIG=$WORK/no-config.yaml HOME=$WORK

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Helpers ----------------------------------------------------------------

# start_server [ARGS...]: starts the server on a free port; sets URL, API
# and TOKEN.
start_server() {
    local port
    port=$(free_port)
    "$SLUICE" serve --listen "127.0.0.1:$port" --data "$DATA" --web "$WORK/web" "$@" \
        >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    URL=http://127.0.0.1:$port
    API=$URL/api/v1
    wait_for_lines "$WORK/serve.out" 1 20
    grep -q "listening on $URL" "$WORK/serve.out" ||
        { echo "serve: the server did not start:"; cat "$WORK/serve.err"; }
    TOKEN=$(cat "$DATA/token" 2>/dev/null)
}

# stop_server: SIGTERM, and its exit status in server_status.
stop_server() {
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID"
    server_status=$?
    SERVER_PID=
}

# call NAME METHOD PATH [CURL ARGS...]: the body in $WORK/NAME, the status
# in $WORK/NAME.code.
call() {
    local name=$1 method=$2 path=$3
    shift 3
    curl -s -m 60 -o "$WORK/$name" -w '%{http_code}' -X "$method" "$@" "$URL$path" \
        >"$WORK/$name.code"
}

# admin NAME METHOD PATH [CURL ARGS...]: call, with the token.
admin() {
    local name=$1 method=$2 path=$3
    shift 3
    call "$name" "$method" "$path" -H "Authorization: Bearer $TOKEN" "$@"
}

want_code() { want_eq "$1 status" "$(cat "$WORK/$1.code")" "$2"; }

# json FILE EXPR: the Python expression EXPR on the JSON document `d` of
# $WORK/FILE.
json() {
    /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$WORK/$1" "$2" 2>/dev/null
}

want_json() { # FILE EXPR WANTED
    want_eq "$1: $2" "$(json "$1" "$2")" "$3"
}

# status NAME: the pipeline's status in $WORK/status.
status() { call status GET "/api/v1/pipelines/$1"; }

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
    local tenths=0 limit=$(($1 * 10))
    shift
    until "$@"; do
        [ "$tenths" -ge "$limit" ] && return 1
        sleep 0.1
        tenths=$((tenths + 1))
    done
}

is_state() { # NAME STATE
    status "$1"
    [ "$(json status 'd["state"]')" = "$2" ]
}

restarted() { # NAME PID: running again in another child
    status "$1"
    [ "$(json status 'd["state"]')" = running ] && [ "$(json status 'd["pid"]')" != "$2" ]
}

more_lines() { [ "$(lines "$1")" -gt "$2" ]; } # FILE N

grows() { # FILE: comes to have more lines than now
    wait_until 20 more_lines "$1" "$(lines "$1")"
}

# pipeline NAME SINK [RATE]: a generate source at RATE records per second
# into a file sink, as $WORK/NAME.yaml.
pipeline() {
    printf 'sources:\n  gen: {type: generate, rate: %s}\nsinks:\n  out: {type: file, inputs: [gen], path: %s}\n' \
        "${3:-500}" "$2" >"$WORK/$1.yaml"
}

build_guest() {
    local src=$ROOT/tests/e2e/function/tester.c
    [ "$W/tester.wasm" -nt "$src" ] && return
    compile_guest "$src" "$W/tester.wasm" ||
        echo "serve: could not build $src" >&2
}

# ---- Cases ------------------------------------------------------------------

case_usage() {
    "$SLUICE" serve --help >"$WORK/help" 2>&1
    want_eq "--help status" "$?" 0
    for word in --listen --data --token --web SLUICE_TOKEN 'Authorization: Bearer'; do
        grep -q -- "$word" "$WORK/help" || problems+=("--help does not mention $word")
    done
    "$SLUICE" serve --bogus >/dev/null 2>&1
    want_eq "unknown option status" "$?" 2
    "$SLUICE" serve --listen 127.0.0.1:99999 --data "$WORK/bad" >/dev/null 2>"$WORK/bad.err"
    want_eq "bad --listen status" "$?" 1
    grep -q "bad --listen address" "$WORK/bad.err" || problems+=("bad --listen: $(cat "$WORK/bad.err")")
    verdict "--help is complete; bad options are refused"
}

case_token() {
    grep -q "^token: $TOKEN\$" "$WORK/serve.out" || problems+=("the new token was not printed")
    want_eq "token file mode" "$(stat -c %a "$DATA/token")" 600
    pipeline tok "$WORK/tok.ndjson"
    call put401 PUT /api/v1/pipelines/tok --data-binary @"$WORK/tok.yaml"
    want_code put401 401
    want_json put401 '"token" in d["error"]' True
    call wrong PUT /api/v1/pipelines/tok -H 'Authorization: Bearer nope' --data-binary @"$WORK/tok.yaml"
    want_code wrong 401
    call del401 DELETE /api/v1/pipelines/tok
    want_code del401 401
    admin put200 PUT /api/v1/pipelines/tok --data-binary @"$WORK/tok.yaml"
    want_code put200 200
    call list GET /api/v1/pipelines
    want_code list 200
    want_json list '[p["name"] for p in d]' "['tok']"
    admin del200 DELETE /api/v1/pipelines/tok
    want_code del200 200
    verdict "writes need the token (401 without, 200 with); reads are open"
}

case_components() {
    call comps GET /api/v1/components
    want_code comps 200
    want_json comps '[c["kind"] for c in d if c["type"] == "generate"]' "['source']"
    want_json comps '[c for c in d if c["type"] == "generate"][0]["schema"]["properties"]["rate"]["default"]' 0
    want_json comps '[c for c in d if c["type"] == "file" and c["kind"] == "sink"][0]["schema"]["required"]' "['type', 'inputs', 'path']"
    want_json comps 'all(c["doc"] and c["schema"]["type"] == "object" for c in d)' True
    verdict "components: every type with its doc and JSON Schema"
}

case_validate() {
    printf 'sources:\n  gen: {type: generate}\nsinks:\n  out:\n    type: file\n    inputs: [ghost]\n    path: x\n    colour: red\n' >"$WORK/bad.yaml"
    call v POST /api/v1/validate --data-binary @"$WORK/bad.yaml"
    want_code v 200
    want_json v 'd["ok"]' False
    want_json v '[(e["line"], e["column"], e["component"]) for e in d["errors"]]' \
        "[(2, 3, 'gen'), (6, 14, 'out'), (8, 5, 'out')]"
    want_json v '"unknown key" in d["errors"][2]["message"] and "bad.yaml" not in d["errors"][2]["message"]' True
    pipeline good "$WORK/good.ndjson"
    call ok POST /api/v1/validate --data-binary @"$WORK/good.yaml"
    want_eq "valid" "$(json ok 'd["ok"], d["errors"]')" "(True, [])"
    call notyaml POST /api/v1/validate --data-binary ': : ['
    want_json notyaml 'd["ok"], d["errors"][0]["component"]' "(False, None)"
    admin put422 PUT /api/v1/pipelines/bad --data-binary @"$WORK/bad.yaml"
    want_code put422 422
    want_json put422 'd["error"], len(d["errors"]), d["errors"][0]["line"]' "('invalid pipeline', 3, 2)"
    call gone GET /api/v1/pipelines/bad
    want_code gone 404
    admin badname PUT /api/v1/pipelines/Bad.Name --data-binary @"$WORK/good.yaml"
    want_code badname 400
    verdict "validate: structured errors with line, column and component; PUT invalid is 422"
}

case_run() {
    pipeline a "$WORK/a.ndjson" 300
    admin put PUT /api/v1/pipelines/a --data-binary @"$WORK/a.yaml"
    admin start POST /api/v1/pipelines/a/start
    want_code start 200
    wait_until 20 is_state a running || problems+=("a is not running: $(cat "$WORK/status")")
    want_json status 'd["api"].startswith("127.0.0.1:") and d["pid"] > 0 and d["restarts"] == 0' True
    want_json status '"generate" in d["yaml"]' True
    grows "$WORK/a.ndjson" || problems+=("a writes nothing")
    call stats1 GET /api/v1/pipelines/a/stats
    sleep 0.5   # a second sample, to have rates: the value is not checked
    call stats GET /api/v1/pipelines/a/stats
    want_code stats 200
    want_json stats '[(c["name"], c["kind"]) for c in d["components"]]' "[('gen', 'source'), ('out', 'sink')]"
    want_json stats 'd["components"][0]["records_out"] > 0 and d["components"][1]["records_in"] > 0' True
    want_json stats 'd["components"][1]["rate_in"] > 0 and d["components"][1]["bytes_out"] > 0' True
    want_json stats '[(e["from"], e["to"]) for e in d["edges"]], d["edges"][0]["records"] > 0' \
        "([('gen', 'out')], True)"
    call tap GET '/api/v1/pipelines/a/tap?component=gen&limit=3'
    want_code tap 200
    want_eq "tap lines" "$(lines "$WORK/tap")" 3
    want_eq "tap records" "$(/usr/bin/python3 -c 'import json,sys; print(all("sensor" in json.loads(l) for l in open(sys.argv[1])))' "$WORK/tap")" True
    call tapbad GET '/api/v1/pipelines/a/tap?component=nope'
    want_code tapbad 404
    call logs GET /api/v1/pipelines/a/logs
    grep -q 'api listening on' "$WORK/logs" || problems+=("logs: $(head -c 300 "$WORK/logs")")
    verdict "start: running, stats with rates and edges, tap NDJSON, logs"
}

case_redeploy() {
    pipeline r "$WORK/r1.ndjson" 2000
    admin put PUT /api/v1/pipelines/r --data-binary @"$WORK/r.yaml"
    admin start POST /api/v1/pipelines/r/start
    wait_until 20 is_state r running || problems+=("r is not running")
    wait_for_lines "$WORK/r1.ndjson" 500 20
    local old_pid
    old_pid=$(json status 'd["pid"]')
    pipeline r "$WORK/r2.ndjson" 2000
    admin redeploy PUT /api/v1/pipelines/r --data-binary @"$WORK/r.yaml"
    want_code redeploy 200
    want_json redeploy 'd["state"] in ("starting", "running") and d["pid"] != '"$old_pid" True
    call logs GET /api/v1/pipelines/r/logs
    local summary read written
    summary=$(grep -o 'sluice: [0-9]* records read, [0-9]* written by sinks' "$WORK/logs" | head -1)
    read=$(echo "$summary" | awk '{print $2}')
    written=$(echo "$summary" | awk '{print $5}')
    [ -n "$read" ] || problems+=("no summary of the old run in the logs: $(head -c 600 "$WORK/logs")")
    want_eq "written by the old run" "$written" "$read"
    want_eq "lines of the old sink" "$(lines "$WORK/r1.ndjson")" "$read"
    grows "$WORK/r2.ndjson" || problems+=("the new version writes nothing")
    admin stop POST /api/v1/pipelines/r/stop
    verdict "update while running: redeployed, nothing lost across it"
}

case_crash() {
    pipeline b "$WORK/b.ndjson" 300
    admin put PUT /api/v1/pipelines/b --data-binary @"$WORK/b.yaml"
    admin start POST /api/v1/pipelines/b/start
    wait_until 20 is_state b running || problems+=("b is not running")
    local b_pid a_pid
    b_pid=$(json status 'd["pid"]')
    status a
    a_pid=$(json status 'd["pid"]')
    kill -9 "$a_pid"
    wait_until 20 restarted a "$a_pid" || problems+=("a was not restarted: $(cat "$WORK/status")")
    want_json status 'd["restarts"], d["exit_status"]' "(1, 137)"
    want_json status '"signal 9" in (d["error"] or "")' True
    status b
    want_json status 'd["state"], d["pid"]' "('running', $b_pid)"
    grows "$WORK/b.ndjson" || problems+=("b stopped writing")
    grows "$WORK/a.ndjson" || problems+=("a does not write again")
    verdict "a crashed child is restarted; the other pipeline goes on"
}

case_stop() {
    admin stop POST /api/v1/pipelines/b/stop
    want_code stop 200
    want_json stop 'd["state"], d["pid"], d["exit_status"], d["desired_state"]' "('stopped', None, 0, 'stopped')"
    local n
    n=$(lines "$WORK/b.ndjson")
    call stats GET /api/v1/pipelines/b/stats
    want_code stats 409
    want_eq "b.ndjson after the stop" "$(lines "$WORK/b.ndjson")" "$n"
    admin nope POST /api/v1/pipelines/nope/start
    want_code nope 404
    verdict "stop: stopped, drained; stats of a stopped pipeline are 409"
}

case_preview() {
    build_guest
    local b64
    b64=$(base64 -w0 "$W/tester.wasm")
    printf '{"wasm_base64":"%s","config":{"threshold":50},"records":[{"value":10},{"value":70}]}' "$b64" >"$WORK/pv.json"
    call pv POST /api/v1/preview --data-binary @"$WORK/pv.json"
    want_code pv 200
    want_json pv '[(r["value"], r["is_anomaly"]) for r in d["records"]]' "[(10, False), (70, True)]"
    printf '{"wasm_base64":"%s","records":[{"value":1},{"value":-13}]}' "$b64" >"$WORK/trap.json"
    call trap POST /api/v1/preview --data-binary @"$WORK/trap.json"
    want_code trap 422
    want_json trap '"trap" in d["error"]' True
    call garbage POST /api/v1/preview --data-binary '{"records":[]}'
    want_code garbage 400
    call notjson POST /api/v1/preview --data-binary 'nope'
    want_code notjson 400
    verdict "preview: output records; a trap is 422; bad requests 400"
}

case_registry() {
    mkdir -p "$WORK/fn"
    "$SLUICE" fn package "$WORK/fn" --module "$W/tester.wasm" --name tester --version 1.0.0 \
        -o "$WORK/tester.tar.gz" >/dev/null 2>"$WORK/pkg.err" || problems+=("package: $(cat "$WORK/pkg.err")")
    "$SLUICE" artifact push --registry "$URL" "$WORK/tester.tar.gz" >/dev/null 2>"$WORK/push401"
    [ $? -ne 0 ] || problems+=("a push without a token was accepted")
    "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/tester.tar.gz" \
        >/dev/null 2>"$WORK/push.err" || problems+=("push: $(cat "$WORK/push.err")")
    "$SLUICE" artifact ls --registry "$URL" >"$WORK/ls" 2>&1
    grep -q 'tester' "$WORK/ls" || problems+=("ls: $(cat "$WORK/ls")")
    call meta GET /api/v1/artifacts/tester/1.0.0
    want_json meta 'd["publisher"]' serve
    printf '{"artifact":"tester@1.0.0","config":{"threshold":5},"records":[{"value":10}]}' >"$WORK/pva.json"
    call pva POST /api/v1/preview --data-binary @"$WORK/pva.json"
    want_code pva 200
    want_json pva 'd["records"]' "[{'value': 10, 'is_anomaly': True}]"
    verdict "registry: push and ls through serve; preview of an artifact"
}

case_static() {
    printf '<!doctype html><title>console</title>\n' >"$WORK/web/index.html"
    printf 'console.log(1);\n' >"$WORK/web/console.js"
    printf 'secret\n' >"$WORK/secret.txt"
    curl -s -D "$WORK/index.head" -o "$WORK/index" "$URL/"
    want_eq "index" "$(cat "$WORK/index")" '<!doctype html><title>console</title>'
    grep -qi '^content-type: text/html' "$WORK/index.head" || problems+=("index is not text/html")
    curl -s -D "$WORK/js.head" -o "$WORK/js" "$URL/console/console.js"
    grep -qi '^content-type: text/javascript' "$WORK/js.head" || problems+=("console.js is not JavaScript")
    for path in /console/../secret.txt /console/%2e%2e/secret.txt /console/sub/../../secret.txt \
                /console/..%2fsecret.txt /console/.hidden; do
        curl -s --path-as-is -o "$WORK/trav" -w '%{http_code}' "$URL$path" >"$WORK/trav.code"
        grep -q secret "$WORK/trav" && problems+=("$path served the file")
        case $(cat "$WORK/trav.code") in 403|404) ;; *) problems+=("$path: $(cat "$WORK/trav.code")") ;; esac
    done
    call missing GET /console/nope.js
    want_code missing 404
    verdict "static: the console's index and files; traversal refused"
}

case_restart() {
    # a runs (restarted after its crash), b was stopped.
    local a_pid
    status a
    a_pid=$(json status 'd["pid"]')
    stop_server
    want_eq "serve exit status" "$server_status" 0
    kill -0 "$a_pid" 2>/dev/null && problems+=("the child of a outlived the server")
    rm -rf "$WORK/web"
    start_server
    grep -q '^token:' "$WORK/serve.out" && problems+=("a new token was made though one was stored")
    wait_until 20 restarted a "$a_pid" || problems+=("a did not start again: $(cat "$WORK/status")")
    status b
    want_json status 'd["state"]' stopped
    grows "$WORK/a.ndjson" || problems+=("a does not write after the restart")
    call notbuilt GET /
    want_code notbuilt 404
    grep -q 'not built' "$WORK/notbuilt" || problems+=("no clear page without a console")
    admin del DELETE /api/v1/pipelines/a
    want_code del 200
    [ -e "$DATA/pipelines/a.yaml" ] && problems+=("a.yaml is still there")
    call gone GET /api/v1/pipelines/a
    want_code gone 404
    verdict "serve restart starts again what was running; delete stops and removes"
}

start_server
case_usage
case_token
case_components
case_validate
case_run
case_redeploy
case_crash
case_stop
case_preview
case_registry
case_static
case_restart
stop_server
finish serve
