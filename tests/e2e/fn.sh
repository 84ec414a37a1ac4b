#!/usr/bin/env bash
# tests/e2e/fn.sh BINARY: end-to-end tests of `sluice fn run|test|new|build`
# and of the function ABI (docs/abi.md), through the real binary.
#
# The guests are tests/e2e/fn/*.wat, built with wat2wasm into build/e2e/fn/:
# one well-behaved function (echo) and one module per way of breaking the
# contract or the limits. `fn new` projects are built with clang-19 (C) and
# /usr/bin/cargo (Rust) when those are installed. Each case prints "ok NAME"
# or "FAIL NAME" with what differed; the last line is
# "fn: N passed, M failed", and the exit status is non-zero if anything
# failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CASES=$HERE/fn
W=$ROOT/build/e2e/fn
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$W"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_guests() {
    local src name
    for src in "$CASES"/*.wat; do
        name=$(basename "${src%.wat}")
        [ "$W/$name.wasm" -nt "$src" ] && continue
        wat2wasm "$src" -o "$W/$name.wasm" || echo "fn: could not build $src" >&2
    done
}

# ---- Checking (as in run.sh) ---------------------------------------------

# run [--stdin FILE] CMD...: runs CMD with a time limit ($limit seconds,
# longer for builds), capturing its standard output, standard error and
# exit status.
limit=60
run() {
    local input=/dev/null
    if [ "$1" = --stdin ]; then input=$2; shift 2; fi
    timeout "$limit" "$@" <"$input" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { head -c 400 "$WORK/$1" | tr '\n' '|'; }

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_stdout() {
    [ "$(cat "$WORK/stdout")" = "$1" ] ||
        problems+=("stdout '$(show stdout)', wanted '$(printf %s "$1" | tr '\n' '|')'")
}

want_in() { # STREAM REGEX
    grep -Eq -- "$2" "$WORK/$1" || problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_not_in() {
    ! grep -Eq -- "$2" "$WORK/$1" || problems+=("$1 '$(show "$1")' has /$2/")
}

# fails GUEST STATUS REGEX [OPTIONS...]: `fn run` of the guest on {} ends
# with STATUS and one error line matching REGEX, and prints nothing.
fails() {
    local guest=$1 want=$2 regex=$3
    shift 3
    run "$SLUICE" fn run "$@" "$W/$guest.wasm" --input "$WORK/empty.json"
    want_status "$want"
    want_in stderr "^sluice: fn $guest: $regex"
    want_stdout ""
}

# stable_memory MODULE INPUT: the guest memory after 100,000 calls in one
# instance is what it was after 1,000 (no leak in the guest or the host).
stable_memory() {
    local n early
    for n in 1000 100000; do
        run "$SLUICE" fn run --repeat $n --stats --log-level none "$1" --input "$2"
        want_status 0
        want_in stderr "stats: calls $n, failed 0, "
        [ $n = 1000 ] && early=$(grep -o 'guest memory [0-9]* bytes' "$WORK/stderr")
    done
    [ -n "$early" ] && grep -q "$early" "$WORK/stderr" ||
        problems+=("after 1,000 calls: $early; after 100,000: $(show stderr)")
}

# ---- fn run ----------------------------------------------------------------

case_echo() {
    echo '{"a": [1, "two", null]}' >"$WORK/in.json"
    run "$SLUICE" fn run "$W/echo.wasm" --input "$WORK/in.json"
    want_status 0
    want_stdout '{"input":{"a": [1, "two", null]}
,"config":{}}'
    want_in stderr '^sluice: fn echo: debug: echo called$'
    run --stdin "$WORK/in.json" "$SLUICE" fn run --input - "$W/echo.wasm"
    want_status 0
    want_in stdout '"input":\{"a": \[1, "two", null\]\}'
    stable_memory "$W/echo.wasm" "$WORK/in.json"
    verdict "run: the output on stdout, logs on stderr, input from a file or stdin; no leak"
}

case_config() {
    printf '{"unit": "ppm"}' >"$WORK/cfg.json"
    run "$SLUICE" fn run "$W/echo.wasm" --input "$WORK/empty.json" --config "$WORK/cfg.json"
    want_status 0
    want_stdout '{"input":{},"config":{"unit": "ppm"}}'
    printf '[1, 2]' >"$WORK/list.json"
    run "$SLUICE" fn run "$W/echo.wasm" --input "$WORK/empty.json" --config "$WORK/list.json"
    want_status 2
    want_in stderr "list.json:1:1: not a JSON object"
    verdict "run: --config reaches sluice_init; a config that is no object is refused"
}

case_guest_error() {
    fails fails 1 "error: bad_input: field 'x' is missing$"
    verdict "run: an error reported by the guest, with its kind (exit 1)"
}

case_escaping() {
    fails noisy 1 'error: bad\\x00kind: line one\\x0aline two \\x1b\[31mred$'
    want_in stderr '^sluice: fn noisy: warn: line one\\x0aline two \\x1b\[31mred$'
    verdict "run: control bytes in guest logs and errors are shown escaped, one line each"
}

case_trap() {
    fails trap 1 'trap: unreachable \(in sluice_execute\)$'
    verdict "run: a trap is a trap error with the engine's message (exit 1)"
}

case_fuel_timeout() {
    fails spin 1 'limit: out of fuel \(1000000 instructions\)' --fuel 1000000
    local start=$SECONDS
    fails spin 1 'limit: deadline of 300 ms passed' --timeout 300
    [ $((SECONDS - start)) -le 5 ] || problems+=("took $((SECONDS - start)) s")
    fails startloop 1 'limit: deadline of 300 ms passed in instantiation' --timeout 300
    fails startloop 1 'limit: out of fuel \(5000 instructions\) in instantiation' --fuel 5000
    verdict "run: an infinite loop is stopped by --fuel and by --timeout (limit), also at start"
}

case_memory() {
    fails bomb 1 'error: oom: memory.grow failed$' --max-memory 2
    # up to the default cap of 256 MiB, a page at a time: slow on a busy machine
    fails bomb 1 'error: oom: memory.grow failed$' --timeout 60000
    fails bigmem 1 'limit: memory 0 needs 16384 pages, the store allows 4096'
    run "$SLUICE" fn run --max-memory 1100 "$W/bigmem.wasm" --input "$WORK/empty.json"
    want_status 0
    verdict "run: memory.grow fails at the cap (guest reports it); too big a memory is a limit"
}

case_output_cap() {
    fails huge 1 'limit: output of 17825792 bytes exceeds the cap of 16777216 bytes'
    fails echo 1 'limit: output of [0-9]+ bytes exceeds the cap of 10 bytes' --max-output 10
    verdict "run: outputs over the cap (16 MiB, --max-output) are limit errors"
}

case_abi_calls() {
    fails twice 3 'abi: sluice_output called twice'
    fails silent 3 'abi: sluice_execute returned 0 without calling sluice_output'
    fails badstatus 3 'abi: sluice_execute returned 7; the ABI knows 0 \(success\) and 1 \(error\)'
    fails badptr 3 'abi: sluice_output: bytes 65000..66000 lie outside guest memory \(65536 bytes\)'
    fails badlog 3 'abi: sluice_log: bytes 16..4294967311 lie outside guest memory'
    verdict "run: output twice or missing, bad status, bad pointers are abi errors (exit 3)"
}

case_abi_load() {
    fails noexec 3 "abi: missing export 'sluice_execute'"
    fails v3 3 'abi: the module implements ABI version 3; this host implements versions 1 to 2'
    fails badimport 3 'abi: unsupported import "env"."get_secret"'
    fails badsig 3 "abi: export 'sluice_execute' has type \(i64, i64\) -> i32; the ABI wants \(i32, i32\) -> i32"
    run "$SLUICE" fn run "$WORK/nothing.wasm" --input "$WORK/empty.json"
    want_status 3
    want_in stderr "^sluice: fn nothing: abi: cannot read $WORK/nothing.wasm: No such file"
    echo "not wasm" >"$WORK/text.wasm"
    run "$SLUICE" fn run "$WORK/text.wasm" --input "$WORK/empty.json"
    want_status 3
    want_in stderr '^sluice: fn text: abi: not a valid WebAssembly module: at byte 0'
    verdict "run: missing export, ABI version 2, unknown import, bad signature, bad file (exit 3)"
}

case_wasi() {
    run "$SLUICE" fn run "$W/wasi.wasm" --input "$WORK/empty.json"
    want_status 0
    want_stdout '{}'
    want_in stderr '^hello from wasi stdout$'
    echo '"exit"' >"$WORK/exit.json"
    run "$SLUICE" fn run "$W/wasi.wasm" --input "$WORK/exit.json"
    want_status 3
    want_in stderr 'abi: sluice_execute called proc_exit\(3\) instead of returning'
    verdict "run: WASI guests link; their stdout goes to stderr; proc_exit is an abi error"
}

case_bad_input() {
    printf '{"a": \n  [1,, 2]}' >"$WORK/bad.json"
    run "$SLUICE" fn run "$W/echo.wasm" --input "$WORK/bad.json"
    want_status 2
    want_in stderr "^sluice: fn run: $WORK/bad.json:2:6: not valid JSON"
    run "$SLUICE" fn run "$W/echo.wasm" --input "$WORK/none.json"
    want_status 2
    want_in stderr "none.json: No such file or directory"
    verdict "run: unreadable or invalid input is reported with file:line:column (exit 2)"
}

case_usage() {
    run "$SLUICE" fn run --help
    want_status 0
    want_in stdout '^usage: sluice fn run'
    want_in stdout '^  3  the module cannot be loaded or breaks the ABI'
    run "$SLUICE" fn run "$W/echo.wasm"
    want_status 2
    want_in stderr 'missing --input FILE'
    run "$SLUICE" fn run --fuel many "$W/echo.wasm" --input x
    want_status 2
    want_in stderr "bad value 'many' for --fuel"
    run "$SLUICE" fn run --log-level loud "$W/echo.wasm" --input x
    want_status 2
    want_in stderr "bad value 'loud' for --log-level"
    run "$SLUICE" fn run --log-level info "$W/echo.wasm" --input "$WORK/empty.json"
    want_status 0
    want_not_in stderr 'debug'
    run "$SLUICE" fn run --bogus "$W/echo.wasm"
    want_status 2
    want_in stderr "unknown option '--bogus'"
    run "$SLUICE" fn test --help
    want_status 0
    want_in stdout '^usage: sluice fn test'
    run "$SLUICE" --help
    want_in stdout 'sluice fn new --lang rust\|c NAME'
    verdict "usage: --help and usage errors (exit 2)"
}

case_doc_example() {
    awk '/^```wat$/ { keep = 1; next } /^```$/ { keep = 0 } keep' \
        "$ROOT/docs/abi.md" >"$WORK/length.wat"
    wat2wasm "$WORK/length.wat" -o "$WORK/length.wasm" ||
        problems+=("the WAT example of docs/abi.md does not build")
    printf '[1, 2, 3]\n' >"$WORK/list3.json"
    run "$SLUICE" fn run "$WORK/length.wasm" --input "$WORK/list3.json"
    want_status 0
    want_stdout '{"length":10}'
    printf 'null' >"$WORK/null.json"
    run "$SLUICE" fn run "$WORK/length.wasm" --input "$WORK/null.json"
    want_status 1
    want_in stderr '^sluice: fn length: error: null_input: the input is null$'
    verdict "run: the example guest of docs/abi.md works as documented"
}

# ---- fn test ---------------------------------------------------------------

case_test_pass() {
    run "$SLUICE" fn test "$W/echo.wasm" "$CASES/echo_cases.yaml"
    want_status 0
    want_in stdout '^ok tolerance on numbers$'
    want_in stdout '^5 passed, 0 failed$'
    run "$SLUICE" fn test "$W/fails.wasm" "$CASES/fails_cases.yaml"
    want_status 0
    want_in stdout '^3 passed, 0 failed$'
    verdict "test: outputs compared as JSON values; errors by kind and message"
}

case_test_fail() {
    run "$SLUICE" fn test "$W/echo.wasm" "$CASES/failing_cases.yaml"
    want_status 1
    want_in stdout '^ok right$'
    want_in stdout '^FAIL wrong output: expected \{"config":\{\},"input":2\}, got \{"config":\{\},"input":1\}$'
    want_in stdout '^FAIL expects an error that does not come: expected kind trap, got '
    want_in stdout '^1 passed, 2 failed$'
    run "$SLUICE" fn test "$W/trap.wasm" "$CASES/fails_cases.yaml"
    want_status 1
    want_in stdout 'got trap: unreachable'
    want_in stdout '^0 passed, 3 failed$'
    verdict "test: failing cases are named with expected and actual, exit 1"
}

case_test_malformed() {
    run "$SLUICE" fn test "$W/echo.wasm" "$CASES/malformed_cases.yaml"
    want_status 2
    want_in stderr 'malformed_cases.yaml:6:9: malformed YAML: '
    run "$SLUICE" fn test "$W/echo.wasm" "$CASES/badkey_cases.yaml"
    want_status 2
    want_in stderr "badkey_cases.yaml:6: unknown key 'ouptut'"
    printf -- '- name: x\n  input: not json\n  output: 1\n' >"$WORK/notjson.yaml"
    run "$SLUICE" fn test "$W/echo.wasm" "$WORK/notjson.yaml"
    want_status 2
    want_in stderr 'notjson.yaml:2: input is not JSON'
    run "$SLUICE" fn test "$W/noexec.wasm" "$CASES/echo_cases.yaml"
    want_status 3
    want_in stderr "abi: missing export 'sluice_execute'"
    verdict "test: malformed cases files are reported as file:line (exit 2)"
}

# ---- fn new and fn build ---------------------------------------------------

case_new_c() {
    if ! command -v clang-19 >/dev/null || [ ! -f "$ROOT/sdk/c/sluice_fn.h" ]; then
        echo "skip fn new --lang c (no clang-19 or no sdk/c)"
        return
    fi
    cd "$WORK" || return
    run "$SLUICE" fn new --lang c scale
    want_status 0
    want_in stdout '^created scale \(C function scale\)'
    [ -f "$WORK/scale/sluice_fn.h" ] || problems+=("the SDK header was not copied")
    run "$SLUICE" fn build "$WORK/scale"
    want_status 0
    want_stdout "$WORK/scale/scale.wasm"
    run "$SLUICE" fn test "$WORK/scale/scale.wasm" "$WORK/scale/cases.yaml"
    want_status 0
    want_in stdout ' passed, 0 failed$'
    printf '{"value": 2.5}' >"$WORK/value.json"
    stable_memory "$WORK/scale/scale.wasm" "$WORK/value.json"
    run "$SLUICE" fn new --lang c scale --dir "$WORK/scale"
    want_status 1
    want_in stderr 'File exists'
    verdict "new/build --lang c: a project that builds, passes its cases, does not leak"
}

case_new_rust() {
    if [ ! -x /usr/bin/cargo ] || [ ! -f "$ROOT/sdk/rust/Cargo.toml" ]; then
        echo "skip fn new --lang rust (no /usr/bin/cargo or no sdk/rust)"
        return
    fi
    run "$SLUICE" fn new --lang rust scaler --dir "$WORK/rs"
    want_status 0
    # The compiled dependencies are kept between runs in build/e2e/fn.
    local target=$W/cargo-target
    CARGO_TARGET_DIR=$target limit=900 run "$SLUICE" fn build "$WORK/rs"
    want_status 0
    want_stdout "$target/wasm32-unknown-unknown/release/scaler.wasm"
    run "$SLUICE" fn test "$target/wasm32-unknown-unknown/release/scaler.wasm" \
        "$WORK/rs/cases.yaml"
    want_status 0
    want_in stdout ' passed, 0 failed$'
    printf '{"value": 2.5}' >"$WORK/value.json"
    stable_memory "$target/wasm32-unknown-unknown/release/scaler.wasm" "$WORK/value.json"
    verdict "new/build --lang rust: a project that builds offline, passes its cases, does not leak"
}

case_new_usage() {
    run "$SLUICE" fn new --lang go thing
    want_status 2
    want_in stderr '\-\-lang wants rust or c'
    run "$SLUICE" fn new --lang c "Bad Name"
    want_status 2
    want_in stderr "bad NAME 'Bad Name'"
    run "$SLUICE" fn build "$WORK/nowhere"
    want_status 1
    mkdir -p "$WORK/emptydir"
    run "$SLUICE" fn build "$WORK/emptydir"
    want_status 1
    want_in stderr 'not a function project'
    verdict "new/build: bad language, bad name, no project"
}

printf '{}' >"$WORK/empty.json"
build_guests
cd "$WORK" || exit 1
for c in echo config guest_error escaping trap fuel_timeout memory output_cap abi_calls \
         abi_load wasi bad_input doc_example usage test_pass test_fail test_malformed \
         new_c new_rust new_usage; do
    "case_$c"
done
finish fn
