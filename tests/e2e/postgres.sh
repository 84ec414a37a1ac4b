#!/usr/bin/env bash
# tests/e2e/postgres.sh BINARY: end-to-end tests of the postgres sink
# against a real PostgreSQL server.
#
# The script makes a throwaway cluster (initdb into a scratch directory, as
# the unprivileged user `postgres` when run as root), starts it on loopback
# on a free port with password authentication, runs pipelines into it, and
# checks the tables with psql. The server is stopped and the directory
# removed at the end, whatever happens. Each case prints "ok NAME" or
# "FAIL NAME" with what differed; the last line is
# "postgres: N passed, M failed", and the exit status is non-zero on failure.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
WORK=$(mktemp -d)
chmod 755 "$WORK"
PGHOME=$WORK/pg          # owned by the server's user: data, socket, log
PGDATA=$PGHOME/data
export PGTEST_PASSWORD="s3cret-$$"
trap 'stop_pg; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM HUP   # so that the EXIT trap runs

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- The server ------------------------------------------------------------

# as_pg CMD...: runs CMD as the owner of the cluster (PostgreSQL refuses root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_pg() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGHOME/log" -w -t 30 \
        -o "-k $PGHOME -p $PGPORT -h 127.0.0.1" start >/dev/null
}

stop_pg() {
    [ -f "$PGDATA/postmaster.pid" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1
}

init_pg() {
    mkdir -p "$PGHOME"
    printf '%s\n' "$PGTEST_PASSWORD" >"$PGHOME/pwfile"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$PGHOME"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --pwfile="$PGHOME/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; return 1; }
    PGPORT=$(free_port)
    start_pg || { cat "$PGHOME/log" >&2; return 1; }
}

if [ -z "$PGBIN" ] || ! init_pg; then
    echo "postgres: cannot start a PostgreSQL server (PGBIN=$PGBIN)" >&2
    echo "postgres: 0 passed, 1 failed"
    exit 1
fi

# psql QUERY: the rows, columns separated by |, over TCP with the password.
q() {
    PGPASSWORD=$PGTEST_PASSWORD psql -X -q -At -h 127.0.0.1 -p "$PGPORT" -U postgres \
        -d "$DB" -c "$1" 2>&1
}

# newdb NAME: a fresh database for one case, in $DB.
newdb() {
    DB=$1
    PGPASSWORD=$PGTEST_PASSWORD PGOPTIONS="-c client_min_messages=warning" psql -X -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
}

# ---- Running and checking --------------------------------------------------

run() {
    timeout 120 "$@" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { head -c 600 "$1" 2>/dev/null | tr '\n' '|'; }

fresh() {
    rm -rf "${WORK:?}/$1"
    mkdir -p "$WORK/$1"
    cd "$WORK/$1" || exit 1
}

# The connection every case uses: the password comes from the environment.
conninfo() {
    echo "host=127.0.0.1 port=$PGPORT dbname=$1 user=postgres password=\${PGTEST_PASSWORD}"
}

# ---- Cases -----------------------------------------------------------------

case_types() {
    fresh types
    newdb types
    cat >in.ndjson <<'EOF'
{"id": 1, "name": "a\tb\\c\nd", "ok": true, "ratio": 0.5, "tags": ["x", "y"], "meta": {"k": 1}}
{"id": 2, "name": "é ü", "ok": false, "ratio": 2, "tags": [], "meta": null}
EOF
    cat >p.yaml <<EOF
sources:
  gen:
    type: generate
    count: 2500
  file:
    type: file
    path: in.ndjson
transforms:
  json:
    type: parse_json
    inputs: [file]
sinks:
  readings:
    type: postgres
    inputs: [gen]
    conninfo: "$(conninfo types)"
    table: readings
  things:                       # the separate settings override conninfo's
    type: postgres
    inputs: [json]
    conninfo: "host=nowhere.invalid dbname=nothing connect_timeout=5"
    host: 127.0.0.1
    port: $PGPORT
    dbname: types
    user: postgres
    password: \${PGTEST_PASSWORD}
    table: Things
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rows" "$(q 'SELECT count(*), count(DISTINCT time) FROM readings')" "2500|2500"
    want_eq "reading types" "$(q "SELECT string_agg(column_name || ':' || data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'readings'")" \
        "time:timestamp with time zone sensor:text temperature:double precision humidity:double precision pressure:double precision pm25:double precision"
    want_eq "first time" "$(q "SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') FROM readings ORDER BY time LIMIT 1")" \
        "2026-11-24 10:00:00.000"
    want_eq "thing types" "$(q "SELECT string_agg(column_name || ':' || data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'Things'")" \
        "id:bigint name:text ok:boolean ratio:double precision tags:jsonb meta:jsonb"
    want_eq "values" "$(q "SELECT id, name = E'a\\tb\\\\c\\nd', ok, ratio, tags, meta FROM \"Things\" ORDER BY id")" \
        "$(printf '1|t|t|0.5|["x", "y"]|{"k": 1}\n2|f|f|2|[]|')"
    want_eq "utf-8" "$(q "SELECT name FROM \"Things\" WHERE id = 2")" "é ü"
    verdict "types: a table is made from the first records, with BIGINT, DOUBLE PRECISION, TEXT, BOOLEAN, TIMESTAMPTZ and JSONB columns"
}

case_schema_evolution() {
    fresh evolution
    newdb evolution
    printf '%s\n' '{"a": 1, "b": "x"}' '{"a": 2, "b": "y"}' >one.ndjson
    printf '%s\n' '{"a": 3, "c": 1.5}' '{"a": 4, "b": "z", "d": {"deep": [1]}}' >two.ndjson
    for f in one two; do
        cat >p.yaml <<EOF
sources:
  file:
    type: file
    path: $f.ndjson
transforms:
  json:
    type: parse_json
    inputs: [file]
sinks:
  db:
    type: postgres
    inputs: [json]
    conninfo: "$(conninfo evolution)"
    table: evo
EOF
        run "$SLUICE" run p.yaml
        want_status 0
        want_not_in "$WORK/stderr" 'NOTICE'
    done
    want_eq "columns" "$(q "SELECT string_agg(column_name || ':' || data_type, ' ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'evo'")" \
        "a:bigint b:text c:double precision d:jsonb"
    want_eq "rows" "$(q "SELECT a, coalesce(b, '-'), coalesce(c::text, '-'), coalesce(d::text, '-') FROM evo ORDER BY a")" \
        "$(printf '1|x|-|-\n2|y|-|-\n3|-|1.5|-\n4|z|-|{"deep": [1]}')"
    verdict "schema evolution: new fields become new columns (ADD COLUMN IF NOT EXISTS); older rows read NULL"
}

case_bad_rows() {
    fresh bad_rows
    newdb badrows
    q 'CREATE TABLE checked (n BIGINT PRIMARY KEY, v BIGINT CHECK (v >= 0), note TEXT)' >/dev/null
    : >in.ndjson
    for i in $(seq 1 300); do
        case $i in
        17) echo "{\"n\": $i, \"v\": -1, \"note\": \"negative\"}" ;;
        150) echo "{\"n\": 5, \"v\": 1, \"note\": \"duplicate key\"}" ;;
        222) echo "{\"n\": $i, \"v\": \"many\", \"note\": \"string\"}" ;;
        299) echo "{\"n\": $i, \"v\": 1, \"note\": \"nul \\u0000 byte\"}" ;;
        *) echo "{\"n\": $i, \"v\": $i, \"note\": \"fine\"}" ;;
        esac
    done >in.ndjson
    cat >p.yaml <<EOF
sources:
  file:
    type: file
    path: in.ndjson
transforms:
  json:
    type: parse_json
    inputs: [file]
sinks:
  db:
    type: postgres
    inputs: [json]
    conninfo: "$(conninfo badrows)"
    table: checked
  rejects:
    type: file
    inputs: [db.errors]
    path: rejects.ndjson
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rows written" "$(q 'SELECT count(*), sum(n) FROM checked')" "296|$((300 * 301 / 2 - 17 - 150 - 222 - 299))"
    want_eq "rejected" "$(lines rejects.ndjson)" "4"
    want_in rejects.ndjson '"n":17,.*check constraint'
    want_in rejects.ndjson '"note":"duplicate key".*duplicate key value'
    want_in rejects.ndjson '"n":222,.*field .v. is string, column \\"v\\" is BIGINT'
    want_in rejects.ndjson '"n":299,.*NUL byte'
    want_in rejects.ndjson '"component":"db"'
    verdict "bad rows: rows the server refuses and values that do not fit go to .errors with the reason; the rest of the batch is written"
}

case_restart() {
    fresh restart
    newdb restart
    cat >p.yaml <<EOF
sources:
  gen:
    type: generate
    count: 6000
    rate: 2000
sinks:
  db:
    type: postgres
    inputs: [gen]
    conninfo: "$(conninfo restart)"
    table: events
    backoff_ms: 50
    max_backoff_ms: 500
    retries: 100
EOF
    timeout 120 "$SLUICE" run p.yaml >"$WORK/stdout" 2>"$WORK/stderr" &
    local pid=$!
    sleep 1
    stop_pg
    sleep 1.5
    start_pg
    wait "$pid"
    status=$?
    want_status 0
    want_in "$WORK/stderr" 'retry'
    want_eq "rows after the restart" "$(q 'SELECT count(*), count(DISTINCT time) FROM events')" "6000|6000"
    want_in "$WORK/stderr" '6000 written'
    verdict "restart: the server stops and starts mid-run; batches are retried on a new connection and every record arrives once"
}

case_unreachable() {
    fresh unreachable
    cat >p.yaml <<EOF
sources:
  gen:
    type: generate
    count: 10
sinks:
  db:
    type: postgres
    inputs: [gen]
    conninfo: "host=127.0.0.1 port=$PGPORT dbname=postgres user=postgres password=wrong"
    retries: 1
    backoff_ms: 10
  rejects:
    type: file
    inputs: [db.errors]
    path: rejects.ndjson
EOF
    run "$SLUICE" run p.yaml
    want_status 0
    want_eq "rejected" "$(lines rejects.ndjson)" "10"
    want_in rejects.ndjson 'gave up after 2 attempts: cannot connect: .*password authentication failed'
    verdict "unreachable: a server refusing the login sends the records to .errors after the retries, with libpq's reason"
}

case_validate() {
    fresh validate
    cat >p.yaml <<'EOF'
sources:
  gen:
    type: generate
    count: 1
sinks:
  db:
    type: postgres
    inputs: [gen]
    table: ""
EOF
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "p.yaml:9:12: .*table name must have 1 to 63 bytes"
    want_in "$WORK/stderr" "p.yaml:7:5: .*say where the database is"
    sed -i 's/table: ""/conninfo: "dbname=x"\n    retries: -3/' p.yaml
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in "$WORK/stderr" "p.yaml:10:14: 'retries' must be between -1"
    verdict "validate: a missing connection, an empty table name and bad numbers are reported with positions"
}

case_types
case_schema_evolution
case_bad_rows
case_restart
case_unreachable
case_validate

finish postgres
