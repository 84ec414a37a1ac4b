#!/usr/bin/env bash
# tests/e2e/sim.sh BINARY [CASE...]: end-to-end tests of `sluice sim bme680`
# and `sluice sim score` (docs/simulator.md), on loopback only.
#
# The simulator's cases check what a consumer relies on: the same seed gives
# the same bytes, the counts and timestamps follow the options, each truth
# row names a reading of the output that really stands out, TCP delivery
# (also to a receiver that comes up late) equals the file output, pacing
# and signals behave. The scorer's cases compare with precision and recall
# worked out by hand. Each case prints "ok NAME" or "FAIL NAME" with what
# differed; the last line is "sim: N passed, M failed", and the exit status
# is non-zero on failure.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice [CASE...]" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
WORK=$(mktemp -d)
# Debian's python3 directly: a version manager's shim costs seconds a call.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
# Only the jobs still running: an exited one's pid may belong to another process by now.
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Checking --------------------------------------------------------------

show() { # the start of a file, on one line
    head -c 300 "$1" 2>/dev/null | tr '\n' '|'
}

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_same() { # FILE1 FILE2
    cmp -s "$1" "$2" || problems+=("$1 and $2 differ: $(diff "$1" "$2" | head -n 4 | tr '\n' '|')")
}

fresh() { # NAME: an empty directory for one case, made the current directory
    rm -rf "${WORK:?}/$1"
    mkdir -p "$WORK/$1"
    cd "$WORK/$1" || exit 1
}

sim() { # ARGS...: sluice sim ARGS, output in stdout and stderr, status in $status
    "$SLUICE" sim "$@" >stdout 2>stderr
    status=$?
}

# ---- A TCP receiver ---------------------------------------------------------

# receiver PORT FILE LINES [CUT]: in the background, accepts connections on
# 127.0.0.1:PORT one after another and appends what they send to FILE until
# LINES lines arrived (or 60 s passed); writes FILE.ready once listening.
# With CUT, it closes the first connection once CUT lines arrived.
receiver() {
    "$PY" - "$1" "$2" "$3" "${4:-0}" <<'PYEOF' &
import socket, sys, time
port, path, want, cut = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen()
open(path + ".ready", "w").close()
deadline = time.time() + 60
got = b""
with open(path, "wb") as out:
    while got.count(b"\n") < want and time.time() < deadline:
        server.settimeout(max(0.1, deadline - time.time()))
        try:
            conn, _ = server.accept()
        except socket.timeout:
            break
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                got += data
                out.write(data)
                out.flush()
                if cut and got.count(b"\n") >= cut:
                    cut = 0
                    break
PYEOF
    RECEIVER_PID=$!
}

wait_for() { # FILE: until it exists (10 s at most)
    for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
    problems+=("$1 never appeared")
}

# ---- The simulator ----------------------------------------------------------

case_help() {
    fresh help
    sim bme680 --help
    want_status 0
    want_in stdout '^usage: sluice sim bme680'
    want_in stdout '--truth FILE'
    sim score --help
    want_status 0
    want_in stdout '^usage: sluice sim score'
    "$SLUICE" --help >stdout 2>stderr
    want_in stdout 'sluice sim bme680'
    verdict help
}

case_bad_arguments() {
    fresh bad_arguments
    local args
    while IFS='|' read -r args message; do
        # shellcheck disable=SC2086
        sim bme680 $args
        want_status 2
        want_in stderr "$message"
    done <<'EOF'
--bogus|unknown argument '--bogus'
--interval 0|--interval wants seconds from 0.001 to 86400, not '0'
--sensors 0|--sensors wants a number from 1 to 100000
--speed 2 --fast|give --speed or --fast, not both
--count 5 --duration 1h|give --duration or --count, not both
--duration 30 --interval 60|--duration is shorter than one --interval
--duration 3x|--duration wants a time such as
--anomalies 0.5|--anomalies wants a rate from 0 to 0.05
--start yesterday|--start wants an RFC 3339 time
--start 2300-01-01T00:00:00Z|--start wants an RFC 3339 time
--connect nowhere --count 1|--connect wants HOST:PORT
--count|--count needs a value
EOF
    sim score --truth x
    want_status 2
    want_in stderr 'missing --truth FILE or --detected FILE'
    verdict bad_arguments
}

case_determinism() {
    fresh determinism
    sim bme680 --fast --count 3000 --seed 7 --truth t1.csv --output o1.csv
    want_status 0
    sim bme680 --fast --count 3000 --seed 7 --truth t2.csv --output o2.csv
    want_same o1.csv o2.csv
    want_same t1.csv t2.csv
    sim bme680 --fast --count 3000 --seed 8 --output o3.csv
    cmp -s o1.csv o3.csv && problems+=("seeds 7 and 8 gave the same readings")
    # A longer run starts with the shorter one; a sensor does not depend on
    # how many others there are, nor on the speed.
    sim bme680 --fast --count 6000 --seed 7 --output long.csv
    head -n 9000 long.csv >head.csv
    want_same o1.csv head.csv
    sim bme680 --count 3000 --seed 7 --sensors 1 --speed 1e9 --output one.csv
    grep ',sensor-1,' o1.csv >s1.csv
    want_same s1.csv one.csv
    verdict determinism
}

case_counts_and_times() {
    fresh counts_and_times
    sim bme680 --fast --sensors 4 --count 50 --output o.csv
    want_eq "lines of --sensors 4 --count 50" "$(lines o.csv)" 200
    want_in stderr '^sluice sim: 200 readings from 4 sensors'
    sim bme680 --fast --duration 2h --interval 60 --sensors 2 --header \
        --start 2026-03-01T12:00:00+01:00
    want_eq "lines of --duration 2h --header" "$(lines stdout)" 241
    want_eq header "$(head -n 1 stdout)" "timestamp,sensor,temperature,humidity,pressure,gas_resistance,iaq"
    want_eq "first reading" "$(sed -n 2p stdout | cut -d, -f1,2)" "2026-03-01T11:00:00.000Z,sensor-1"
    want_eq "last reading" "$(tail -n 1 stdout | cut -d, -f1,2)" "2026-03-01T12:59:00.000Z,sensor-2"
    sim bme680 --fast --count 3 --interval 0.5 --sensors 1
    want_eq "half-second readings" "$(cut -d, -f1 stdout | tr '\n' ' ')" \
        "2026-11-24T00:00:00.000Z 2026-11-24T00:00:00.500Z 2026-11-24T00:00:01.000Z "
    verdict counts_and_times
}

case_line_format() {
    fresh line_format
    sim bme680 --fast --count 2000 --seed 3 --anomalies 0.05 --output o.csv
    local bad
    bad=$(grep -Evc '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z,sensor-[1-3],-?[0-9]+\.[0-9]{2},[0-9]+\.[0-9]{2},[0-9]+\.[0-9]{2},[0-9]+\.[0-9]{2},[0-9]+\.[0-9]$' o.csv)
    want_eq "malformed lines" "$bad" 0
    # Plausible ranges of a room: C, %, hPa, kOhm, index.
    want_eq "values out of range" "$(awk -F, '$3 < 5 || $3 > 40 || $4 < 1 || $4 > 100 ||
        $5 < 950 || $5 > 1070 || $6 < 5 || $6 > 2000 || $7 < 0 || $7 > 500' o.csv | head -n 3)" ""
    verdict line_format
}

# The truth names readings of the output, and each stands out: a spike or
# a drop against both neighbours, a level shift's first reading against the
# reading before it, the three readings of a level shift in a row.
case_truth() {
    fresh truth
    sim bme680 --fast --count 20000 --seed 11 --truth t.csv --output o.csv
    want_status 0
    want_eq "truth header" "$(head -n 1 t.csv)" "timestamp,sensor,kind"
    local rows
    rows=$(($(lines t.csv) - 1))
    [ "$rows" -ge 100 ] && [ "$rows" -le 250 ] ||
        problems+=("$rows truth rows for 60000 readings at rate 0.002, wanted about 140")
    want_in stderr "60000 readings from 3 sensors, $rows anomalous"
    local report
    report=$("$PY" - t.csv o.csv <<'PYEOF'
import csv, sys
truth = list(csv.DictReader(open(sys.argv[1])))
listed = {(r["sensor"], r["timestamp"]): r["kind"] for r in truth}
series = {}
for row in csv.reader(open(sys.argv[2])):
    series.setdefault(row[1], []).append((row[0], float(row[6])))
position = {(s, t): i for s, values in series.items() for i, (t, _) in enumerate(values)}
kinds = {}
problems = []
for row in truth:
    key = (row["sensor"], row["timestamp"])
    kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    if key not in position:
        problems.append("truth row %s not in the output" % (key,))
        continue
    i, values = position[key], series[row["sensor"]]
    iaq = values[i][1]
    if i == 0 or i + 3 >= len(values):
        continue
    if row["kind"] in ("spike", "drop"):
        sign = 1 if row["kind"] == "spike" else -1
        jump = min(sign * (iaq - values[i - 1][1]), sign * (iaq - values[i + 1][1]))
        if jump < 15:
            problems.append("%s at %s stands out by only %.1f" % (row["kind"], key, jump))
    elif row["kind"] == "level_shift":
        if listed.get((row["sensor"], values[i - 1][0])) == "level_shift":
            continue
        if abs(iaq - values[i - 1][1]) < 15:
            problems.append("level shift at %s moves by only %.1f" % (key, iaq - values[i - 1][1]))
        run = [(row["sensor"], values[i + k][0]) for k in range(3)]
        if any(listed.get(k) != "level_shift" for k in run) or \
           listed.get((row["sensor"], values[i + 3][0])) == "level_shift":
            problems.append("level shift at %s is not 3 readings in a row" % (key,))
    else:
        problems.append("unknown kind %s" % row["kind"])
for kind in ("spike", "drop", "level_shift"):
    if not kinds.get(kind):
        problems.append("no %s at all" % kind)
print("\n".join(problems[:5]) if problems else "fine")
PYEOF
)
    want_eq "truth against output" "$report" fine
    sim bme680 --fast --count 5000 --anomalies 0 --truth none.csv --output /dev/null
    want_eq "truth rows at rate 0" "$(lines none.csv)" 1
    verdict truth
}

case_tcp() {
    fresh tcp
    local port
    port=$(free_port)
    "$SLUICE" sim bme680 --fast --count 2000 --seed 5 --header --output want.csv 2>/dev/null
    receiver "$port" got.csv 6001
    wait_for got.csv.ready
    sim bme680 --fast --count 2000 --seed 5 --header --connect "127.0.0.1:$port"
    want_status 0
    wait "$RECEIVER_PID"
    want_same want.csv got.csv
    verdict tcp
}

# The simulator starts first and waits for the receiver.
case_tcp_late_receiver() {
    fresh tcp_late_receiver
    local port pid
    port=$(free_port)
    "$SLUICE" sim bme680 --fast --count 500 --seed 6 --output want.csv 2>/dev/null
    "$SLUICE" sim bme680 --fast --count 500 --seed 6 --connect "127.0.0.1:$port" >stdout 2>stderr &
    pid=$!
    sleep 1
    receiver "$port" got.csv 1500
    wait "$pid"
    status=$?
    want_status 0
    want_in stderr "waiting for 127.0.0.1:$port"
    wait "$RECEIVER_PID"
    want_same want.csv got.csv
    verdict tcp_late_receiver
}

# The receiver drops the connection: the simulator reconnects and goes on.
# Lines in flight when the connection broke may be lost, no line is cut.
case_tcp_reconnect() {
    fresh tcp_reconnect
    local port
    port=$(free_port)
    "$SLUICE" sim bme680 --fast --count 400 --seed 9 --output want.csv 2>/dev/null
    receiver "$port" got.csv 1200 30
    wait_for got.csv.ready
    sim bme680 --count 400 --seed 9 --speed 60000 --connect "127.0.0.1:$port"
    want_status 0
    want_in stderr "connection to 127.0.0.1:$port lost"
    kill "$RECEIVER_PID" 2>/dev/null
    wait "$RECEIVER_PID" 2>/dev/null
    want_eq "lines not sent by the simulator" "$(grep -Fvxf want.csv got.csv | head -n 2)" ""
    want_eq "last line" "$(tail -n 1 got.csv)" "$(tail -n 1 want.csv)"
    [ "$(lines got.csv)" -ge 1000 ] || problems+=("only $(lines got.csv) of 1200 lines arrived")
    verdict tcp_reconnect
}

case_pacing() {
    fresh pacing
    local start end ms
    start=$(date +%s%N)
    # 6 rounds at 60 s simulated each, 600 times real time: 0.5 s of waits.
    sim bme680 --count 6 --interval 60 --speed 600 --output o.csv
    end=$(date +%s%N)
    want_status 0
    ms=$(((end - start) / 1000000))
    [ "$ms" -ge 480 ] && [ "$ms" -lt 3000 ] || problems+=("--speed 600 took $ms ms, wanted about 500")
    start=$(date +%s%N)
    sim bme680 --fast --count 100000 --output /dev/null
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    [ "$ms" -lt 5000 ] || problems+=("--fast took $ms ms for 300000 readings")
    verdict pacing
}

# SIGTERM ends a real-time run cleanly: status 0, whole lines, and a truth
# file that is complete and names only readings that were written.
case_signal() {
    fresh signal
    "$SLUICE" sim bme680 --speed 60000 --anomalies 0.05 --truth t.csv --output o.csv 2>stderr &
    local pid=$! missing
    sleep 1
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    want_status 0
    want_in stderr 'stopped by signal'
    [ "$(lines o.csv)" -gt 30 ] || problems+=("only $(lines o.csv) readings in a second")
    [ "$(lines t.csv)" -gt 1 ] || problems+=("no truth rows after a second at rate 0.05")
    want_eq "last line whole" "$(tail -c 1 o.csv | od -An -c | tr -d ' ')" '\n'
    missing=$(tail -n +2 t.csv | cut -d, -f1,2 | grep -Fvxf <(cut -d, -f1,2 o.csv) | head -n 2)
    want_eq "truth rows not in the output" "$missing" ""
    verdict signal
}

# SIGTERM while waiting for a receiver that never comes: a clean stop too.
case_signal_without_receiver() {
    fresh signal_without_receiver
    local port pid
    port=$(free_port)
    "$SLUICE" sim bme680 --fast --count 100 --connect "127.0.0.1:$port" >stdout 2>stderr &
    pid=$!
    sleep 0.5
    kill -TERM "$pid"
    wait "$pid"
    status=$?
    want_status 0
    want_in stderr "waiting for 127.0.0.1:$port"
    want_in stderr 'stopped with [0-9]+ bytes not sent'
    want_in stderr 'stopped by signal'
    verdict signal_without_receiver
}

# ---- The scorer -------------------------------------------------------------

# A truth of 6 rows: two point anomalies of sensor-1, a level shift of
# sensor-2 (3 readings, 60 s apart), a spike of sensor-3.
write_truth() {
    cat >truth.csv <<'EOF'
timestamp,sensor,kind
2026-11-24T00:10:00.000Z,sensor-1,spike
2026-11-24T00:20:00.000Z,sensor-1,drop
2026-11-24T01:00:00.000Z,sensor-2,level_shift
2026-11-24T01:01:00.000Z,sensor-2,level_shift
2026-11-24T01:02:00.000Z,sensor-2,level_shift
2026-11-24T02:00:00.000Z,sensor-3,spike
EOF
}

case_score_csv() {
    fresh score_csv
    write_truth
    # A hit (spelt differently, and twice), a miss of sensor-1, a reading
    # 2 intervals after the level shift, a hit's time on the wrong sensor.
    cat >detected.csv <<'EOF'
timestamp,sensor
2026-11-24T00:10:00Z,sensor-1
2026-11-24T01:10:00+01:00,sensor-1
2026-11-24T00:30:00.000Z,sensor-1
2026-11-24T01:04:00.000Z,sensor-2
2026-11-24T02:00:00.000Z,sensor-1
EOF
    sim score --truth truth.csv --detected detected.csv
    want_status 0
    want_eq "tolerance 0" "$(cat stdout)" "precision 0.250 recall 0.167 (tp 1, fp 3, fn 5)"
    # Within 2 readings of the last level-shift row: a hit that finds it.
    sim score --truth truth.csv --detected detected.csv --tolerance 2
    want_eq "tolerance 2" "$(cat stdout)" "precision 0.500 recall 0.333 (tp 2, fp 2, fn 4)"
    # Within 4 readings of all three.
    sim score --truth truth.csv --detected detected.csv --tolerance 4
    want_eq "tolerance 4" "$(cat stdout)" "precision 0.500 recall 0.667 (tp 2, fp 2, fn 2)"
    # An interval given: 2 readings of 30 s do not reach 01:04.
    sim score --truth truth.csv --detected detected.csv --tolerance 2 --interval 30
    want_eq "tolerance 2 of 30 s" "$(cat stdout)" "precision 0.250 recall 0.167 (tp 1, fp 3, fn 5)"
    sim score --truth truth.csv --detected detected.csv --require 0.25
    want_status 1
    sim score --truth truth.csv --detected detected.csv --require 0.1
    want_status 0
    verdict score_csv
}

case_score_ndjson() {
    fresh score_ndjson
    write_truth
    cat >detected.ndjson <<'EOF'
{"timestamp":"2026-11-24T00:10:00.000Z","sensor":"sensor-1","iaq":180.5,"is_anomaly":true}
{"timestamp":"2026-11-24T00:20:00.000Z","sensor":"sensor-1","is_anomaly":false}
{"timestamp":"2026-11-24T00:20:00.000Z","sensor":"sensor-1","is_anomaly":true}
{"timestamp":"2026-11-24T01:01:00.000Z","sensor":"sensor-2","is_anomaly":true}
{"timestamp":"2026-11-24T02:00:00.000Z","sensor":"sensor-3"}
{"timestamp":"2026-11-24T05:00:00.000Z","sensor":"sensor-3","is_anomaly":true}

EOF
    sim score --truth truth.csv --detected detected.ndjson
    want_status 0
    want_eq "ndjson" "$(cat stdout)" "precision 0.800 recall 0.667 (tp 4, fp 1, fn 2)"
    sim score --truth truth.csv --detected detected.ndjson --tolerance 1
    want_eq "ndjson, tolerance 1" "$(cat stdout)" "precision 0.800 recall 1.000 (tp 4, fp 1, fn 0)"
    verdict score_ndjson
}

case_score_edges() {
    fresh score_edges
    write_truth
    printf 'timestamp,sensor\n' >nothing.csv
    sim score --truth truth.csv --detected nothing.csv
    want_eq "nothing detected" "$(cat stdout)" "precision 0.000 recall 0.000 (tp 0, fp 0, fn 6)"
    sim score --truth truth.csv --detected truth.csv
    want_eq "the truth itself" "$(cat stdout)" "precision 1.000 recall 1.000 (tp 6, fp 0, fn 0)"
    printf '2026-11-24T00:10:00Z,sensor-1\nyesterday,sensor-1\n' >bad.csv
    sim score --truth truth.csv --detected bad.csv
    want_status 1
    want_in stderr '^sluice sim score: bad.csv:2: the first field is not an RFC 3339 timestamp'
    printf '2026-11-24T00:10:00Z,sensor-1\n9999-12-31T23:59:59Z,sensor-1\n' >far.csv
    sim score --truth truth.csv --detected far.csv
    want_status 1
    want_in stderr '^sluice sim score: far.csv:2: the first field is not an RFC 3339 timestamp'
    printf '{"timestamp":"2026-11-24T00:10:00Z","sensor":"sensor-1","is_anomaly":true}\n{"sensor":"x"}\n' >bad.ndjson
    sim score --truth truth.csv --detected bad.ndjson
    want_status 1
    want_in stderr 'bad.ndjson:2: no RFC 3339 string in field "timestamp"'
    sim score --truth missing.csv --detected truth.csv
    want_status 1
    want_in stderr '^sluice sim score: cannot open missing.csv'
    printf 'timestamp,sensor,kind\n2026-11-24T00:10:00Z,sensor-1,level_shift\n' >single.csv
    sim score --truth single.csv --detected nothing.csv --tolerance 1
    want_status 1
    want_in stderr 'cannot tell the reading interval from single.csv; give --interval SECONDS'
    verdict score_edges
}

# The simulator's truth scores itself perfectly, and the truth of another
# seed scores near zero.
case_score_simulated() {
    fresh score_simulated
    "$SLUICE" sim bme680 --fast --count 10000 --seed 21 --truth t21.csv --output /dev/null 2>/dev/null
    "$SLUICE" sim bme680 --fast --count 10000 --seed 22 --truth t22.csv --output /dev/null 2>/dev/null
    sim score --truth t21.csv --detected t21.csv --tolerance 2
    want_in stdout '^precision 1\.000 recall 1\.000 \(tp [1-9][0-9]*, fp 0, fn 0\)$'
    sim score --truth t21.csv --detected t22.csv --require 0.2
    want_status 1
    verdict score_simulated
}

ALL_CASES="help bad_arguments determinism counts_and_times line_format truth tcp
tcp_late_receiver tcp_reconnect pacing signal signal_without_receiver score_csv score_ndjson score_edges score_simulated"
for c in ${*:-$ALL_CASES}; do "case_$c"; done
finish sim
