#!/usr/bin/env bash
# bench/pipeline/run.sh: the pipeline benchmark (issue 4), run by
# `make bench` after the engine benchmark.
#
#   bash bench/pipeline/run.sh [BUILD/sluice] [LINES]
#
# Sends LINES (default 2,000,000) CSV lines over loopback TCP to
# `sluice run` with four pipelines, each tcp -> parse_csv -> ... -> file:
#   function:    the Wasm pass-through function on ABI v1 (passthrough.c,
#                columnar JSON) in windows of 1,000, adding is_anomaly;
#   function_v2: the same on ABI v2 (passthrough_v2.c, binary columns; the
#                pipeline under test);
#   native:      the same field added by the native `fields` transform;
#   plain:       no third node.
# For each it prints records/s (from the first byte sent to the last record
# in the output file), sluice's CPU seconds and CPU us per record (user +
# system, from /proc/PID/stat), and its peak RSS (VmHWM); then the function
# pipelines' ratios to the baselines measured in the same run, and checks
# both functions' output: every record, with is_anomaly false and the
# fields it was sent with.
# Everything built or written goes to BUILD/bench/pipeline/.
set -euo pipefail

cd "$(dirname "$0")/../.."
sluice=$(realpath "${1:-build/sluice}")
lines=${2:-2000000}
here=bench/pipeline
out=$(dirname "$sluice")/bench/pipeline
mkdir -p "$out"
warnings=(-std=c17 -Wall -Wextra -Werror)

# Without libc: the SDK's own number conversions and allocator are faster
# than wasi-libc's strtod/snprintf/malloc for this function.
clang-19 --target=wasm32 -O2 "${warnings[@]}" -ffreestanding -nostdlib -mbulk-memory \
    -Wl,--no-entry -Isdk/c -o "$out/passthrough.wasm" "$here/passthrough.c"
clang-19 --target=wasm32 -O2 "${warnings[@]}" -ffreestanding -nostdlib -mbulk-memory \
    -Wl,--no-entry -Isdk/c -o "$out/passthrough_v2.wasm" "$here/passthrough_v2.c"
clang-19 -O2 "${warnings[@]}" -o "$out/send" "$here/send.c"

# A free port: asking the kernel for one would need a helper; the chance of a
# collision in this range is small, and a busy port fails the run loudly.
port=$((20000 + RANDOM % 20000))
ticks=$(getconf CLK_TCK)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null' EXIT    # a failed run leaves no sluice

# stat_cpu PID: user + system CPU ticks of PID so far (fields 14 and 15;
# the command name, field 2, may hold spaces, so count after its ')').
stat_cpu() {
    local rest
    rest=$(sed 's/.*) //' "/proc/$1/stat")
    awk '{ print $12 + $13 }' <<< "$rest"
}

# new_lines FILE FROM TO: the newlines in bytes FROM..TO of FILE. (dd, not
# tail | head, whose SIGPIPE would fail the pipeline.)
new_lines() {
    dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count=$(($3 - $2)) bs=1M status=none |
        tr -cd '\n' | wc -c
}

# wait_lines FILE N PID: waits until FILE has N lines (or sluice died),
# counting only the bytes added since the last look, so that watching a
# file of hundreds of MB takes little CPU from the pipeline.
wait_lines() {
    local seen=0 count=0 size
    while [ "$count" -lt "$2" ]; do
        kill -0 "$3" 2>/dev/null || { echo "pipeline: sluice exited early" >&2; return 1; }
        size=$(stat -c %s "$1" 2>/dev/null || echo 0)
        if [ "$size" -gt "$seen" ]; then
            count=$((count + $(new_lines "$1" "$seen" "$size")))
            seen=$size
        else
            sleep 0.01
        fi
    done
}

# run NAME: runs NAME.yaml once; sets rate, cpu, us and rss.
run() {
    local name=$1 output=$out/$1.ndjson first last ticks_used
    rm -f "$output"
    PORT=$port OUT=$(realpath -m "$output") MODULE=$(realpath "$out/passthrough.wasm") \
        MODULE_V2=$(realpath "$out/passthrough_v2.wasm") "$sluice" run --quiet "$here/$name.yaml" 2> "$out/$name.log" &
    pid=$!
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { cat "$out/$name.log" >&2; return 1; }
        sleep 0.05
    done
    first=$("$out/send" 127.0.0.1 "$port" "$lines" 2> "$out/$name.send")
    wait_lines "$output" "$lines" "$pid"
    last=$(date +%s%N)
    ticks_used=$(stat_cpu "$pid")
    rss=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || { echo "pipeline: $name: sluice failed" >&2; cat "$out/$name.log" >&2; return 1; }
    pid=
    rate=$(awk -v n="$lines" -v ns=$((last - first)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
    cpu=$(awk -v t="$ticks_used" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz }')
    us=$(awk -v c="$cpu" -v n="$lines" 'BEGIN { printf "%.2f", c * 1e6 / n }')
    rss=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
    printf '  %-11s %10s records/s  %6s s CPU  %5s us/record  %5s MB peak RSS   (%s)\n' \
        "$name" "$rate" "$cpu" "$us" "$rss" "$(cat "$out/$name.send")"
}

# verify NAME: NAME's output holds every line sent, in order, each with
# is_anomaly false; compared field by field with what plain.yaml wrote.
verify() {
    local bad
    bad=$(paste -d '\t' "$out/plain.ndjson" "$out/$1.ndjson" | awk -F '\t' -v n="$lines" '
        { sub(/}$/, ",\"is_anomaly\":false}", $1) }
        $1 != $2 { bad++; if (bad == 1) first = NR }
        END { if (NR != n) print "expected " n " records, found " NR
              else if (bad) print bad " records differ, the first at line " first }')
    if [ -n "$bad" ]; then
        echo "pipeline: FAIL $1 output: $bad" >&2
        return 1
    fi
    echo "  $1 output: $lines records, each with its fields and is_anomaly false: ok"
}

# ratio A B: A / B to two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "== pipeline: $lines CSV lines over loopback TCP -> parse_csv -> ... -> file"
for name in plain native function function_v2; do
    run "$name"
    eval "${name}_rate=$rate ${name}_us=$us ${name}_rss=$rss"
done
# compare NAME BASE: NAME's figures as multiples of BASE's.
compare() {
    local ar=$1_rate br=$2_rate au=$1_us bu=$2_us am=$1_rss bm=$2_rss
    printf '  %-11s vs %-6s %5sx records/s, %5sx CPU/record, %5sx RSS\n' "$1" "$2" \
        "$(ratio "${!ar}" "${!br}")" "$(ratio "${!au}" "${!bu}")" "$(ratio "${!am}" "${!bm}")"
}
for name in function function_v2; do
    compare "$name" plain
    compare "$name" native
done
echo "  targets: >= 1000000 records/s, <= 30 MB RSS" \
     "(Fluent Bit with its WASM filter: ~190000 records/s, 7 us/record, 33 MB)"
verify function
verify function_v2
