#!/usr/bin/env bash
# tests/e2e/wasm.sh BINARY: end-to-end tests of `sluice wasm run` and
# `sluice wasm invoke`, through the real binary.
#
# The guests are built first, into build/e2e/: the C programs in
# tests/e2e/wasm/*.c with clang-19 for wasm32-wasi (wasi-libc), the .wat
# modules with wat2wasm. Each case prints "ok NAME" or "FAIL NAME" with what
# differed; the last line is "wasm: N passed, M failed", and the exit status
# is non-zero if anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/../.." && pwd)/build/e2e
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- Building the guests ---------------------------------------------------

build_guests() {
    local src name
    for src in "$HERE"/wasm/*.c "$HERE"/wasm/*.wat; do
        name=$(basename "${src%.*}")
        [ "$OUT/$name.wasm" -nt "$src" ] && continue
        case "$src" in
        *.c) clang-19 --target=wasm32-wasi --sysroot=/usr -O2 \
                 -o "$OUT/$name.wasm" "$src" ;;
        *) wat2wasm "$src" -o "$OUT/$name.wasm" ;;
        esac || echo "wasm: could not build $src" >&2
    done
}

# ---- Checking --------------------------------------------------------------

# run [--stdin FILE] CMD...: runs CMD with a time limit, capturing its
# standard output, standard error and exit status.
run() {
    local input=/dev/null
    if [ "$1" = --stdin ]; then input=$2; shift 2; fi
    timeout 30 "$@" <"$input" >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { # the first lines of a captured stream, on one line
    head -c 400 "$WORK/$1" | tr '\n' '|'
}

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_stdout() {
    [ "$(cat "$WORK/stdout")" = "$1" ] ||
        problems+=("stdout '$(show stdout)', wanted '$(printf %s "$1" | tr '\n' '|')'")
}

# want_in STREAM REGEX: some line of stdout or stderr matches.
want_in() {
    grep -Eq -- "$2" "$WORK/$1" ||
        problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_not_in() {
    ! grep -Eq -- "$2" "$WORK/$1" ||
        problems+=("$1 '$(show "$1")' has /$2/")
}

want_file() { # PATH CONTENT
    [ -f "$1" ] && [ "$(cat "$1")" = "$2" ] ||
        problems+=("file $1 does not hold '$2'")
}

# ---- The cases -------------------------------------------------------------

W=$OUT
cd "$WORK" || exit 1

case_hello() {
    run "$SLUICE" wasm run "$W/hello.wasm"
    want_status 0
    want_stdout "Hello, world!"
    verdict "hello world via printf"
}

case_args_env() {
    run "$SLUICE" wasm run --env GREETING=hi --env=EMPTY= "$W/args.wasm" \
        one "two words" ""
    want_status 0
    want_stdout "argc=4
argv[0]=$W/args.wasm
argv[1]=one
argv[2]=two words
argv[3]=
env GREETING=hi
env EMPTY="
    verdict "arguments and --env reach the guest, nothing else of the environment"
}

case_stdin() {
    printf 'abc\nxyz\n' >"$WORK/input.txt"
    run --stdin "$WORK/input.txt" "$SLUICE" wasm run "$W/stdin.wasm"
    want_status 0
    want_stdout "ABC
XYZ"
    want_in stderr '^8 bytes, 2 lines$'
    verdict "reading stdin, writing stdout and stderr"
}

case_exit_codes() {
    run "$SLUICE" wasm run "$W/status.wasm" exit 3
    want_status 3
    want_stdout "ending with 3"
    run "$SLUICE" wasm run "$W/status.wasm" return 7
    want_status 7
    want_stdout "ending with 7"
    run "$SLUICE" wasm run "$W/status.wasm" return 0
    want_status 0
    run "$SLUICE" wasm run "$W/status.wasm" exit 300
    want_status 44
    run "$SLUICE" wasm run "$W/status.wasm" abort 0
    want_status 134
    want_stdout "ending with 0"
    want_in stderr '^sluice: .*status.wasm: trap: unreachable$'
    verdict "exit status from exit(3), exit(300) (low 8 bits), main's return, abort() (134)"
}

case_clock_random() {
    run "$SLUICE" wasm run "$W/clock_random.wasm"
    want_status 0
    want_not_in stdout '^bad'
    [ "$(grep -c '^ok' "$WORK/stdout")" -eq 5 ] ||
        problems+=("wanted 5 ok lines: $(show stdout)")
    verdict "clocks and random bytes are plausible"
}

make_sandbox() {
    rm -rf "$WORK/box" "$WORK/secret.txt"
    mkdir -p "$WORK/box/sub"
    echo "inside the box" >"$WORK/box/data.txt"
    echo "nested" >"$WORK/box/sub/nested.txt"
    echo "top secret" >"$WORK/secret.txt"
    ln -s ../secret.txt "$WORK/box/link_out"
    ln -s "$WORK/secret.txt" "$WORK/box/link_abs"
    ln -s sub/nested.txt "$WORK/box/link_in"
}

case_read_granted() {
    make_sandbox
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" read /box/data.txt
    want_status 0
    want_stdout "inside the box"
    run "$SLUICE" wasm run --dir "$WORK/box" "$W/files.wasm" read "$WORK/box/sub/nested.txt"
    want_status 0
    want_stdout "nested"
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" read /box/link_in
    want_status 0
    want_stdout "nested"
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" ls /box
    want_status 0
    [ "$(sort "$WORK/stdout" | tr '\n' ' ')" = "data.txt link_abs link_in link_out sub/ " ] ||
        problems+=("listing '$(show stdout)'")
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" tail /box/data.txt 4
    want_stdout "at 11: box"
    verdict "files are read, listed and sought through --dir (also a symlink inside)"
}

case_relative_dirs() {
    make_sandbox
    cd "$WORK/box" || return
    run "$SLUICE" wasm run --dir .:. "$W/files.wasm" read sub/nested.txt
    want_stdout "nested"
    cd "$WORK" || return
    run "$SLUICE" wasm run --dir box "$W/files.wasm" read box/data.txt
    want_stdout "inside the box"
    verdict "relative paths: --dir .:. and a relative --dir under its own name"
}

case_big_listing() {
    make_sandbox
    mkdir "$WORK/box/many"
    (cd "$WORK/box/many" && touch $(seq -f 'file-with-a-long-name-%04g' 1 600))
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" ls /box/many
    want_status 0
    [ "$(sort -u "$WORK/stdout" | wc -l)" -eq 600 ] ||
        problems+=("listed $(sort -u "$WORK/stdout" | wc -l) distinct names, wanted 600")
    verdict "a 600-entry directory lists completely (fd_readdir cookies)"
}

case_read_denied() {
    make_sandbox
    run "$SLUICE" wasm run "$W/files.wasm" read "$WORK/box/data.txt"
    want_status 1
    want_in stdout '^error: .*\(errno (76|44)\)$'
    want_not_in stdout 'inside the box'
    verdict "without --dir the same file cannot be read (clear errno in the guest)"
}

case_escapes() {
    make_sandbox
    local path
    for path in /box/../secret.txt /box/sub/../../secret.txt /box/link_out /box/link_abs; do
        run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" read "$path"
        want_status 1
        want_in stdout '^error: .*\(errno (76|63|44)\)$'
        want_not_in stdout 'secret'
    done
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" raw-open ../secret.txt
    want_stdout "path_open: errno 76"
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" raw-open "$WORK/secret.txt"
    want_stdout "path_open: errno 76"
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" raw-open link_out
    want_stdout "path_open: errno 76"
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/files.wasm" raw-open sub/../data.txt
    want_stdout "path_open: errno 0"
    verdict "'..', absolute paths and symlinks cannot leave the granted directory"
}

case_writes() {
    make_sandbox
    local box=(--dir "$WORK/box:/box")
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" write /box/new.txt "first"
    want_status 0
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" append /box/new.txt "second"
    want_status 0
    want_file "$WORK/box/new.txt" "first
second"
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" mkdir /box/made
    want_status 0
    [ -d "$WORK/box/made" ] || problems+=("mkdir made nothing")
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" mv /box/new.txt /box/made/moved.txt
    want_status 0
    want_file "$WORK/box/made/moved.txt" "first
second"
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" size /box/made/moved.txt
    want_stdout "13 bytes"
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" rmdir /box/made
    want_status 1
    want_in stdout '\(errno 55\)'
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" rm /box/made/moved.txt
    want_status 0
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" rmdir /box/made
    want_status 0
    [ ! -e "$WORK/box/made" ] || problems+=("rmdir left the directory")
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" write /box/../escaped.txt "x"
    want_status 1
    [ ! -e "$WORK/escaped.txt" ] || problems+=("a write escaped the box")
    run "$SLUICE" wasm run "${box[@]}" "$W/files.wasm" rm /box/link_out
    want_status 0
    [ -f "$WORK/secret.txt" ] || problems+=("removing a link removed its target")
    verdict "writes, mkdir, rename, unlink, rmdir in a granted directory, and only there"
}

case_misc_calls() {
    make_sandbox
    run "$SLUICE" wasm run --dir "$WORK/box:/box" "$W/misc.wasm"
    want_status 0
    want_not_in stdout '^bad'
    [ "$(grep -c '^ok' "$WORK/stdout")" -eq 21 ] ||
        problems+=("wanted 21 ok lines: $(show stdout)")
    [ "$(readlink "$WORK/box/sym")" = pos.txt ] || problems+=("no symlink made")
    verdict "pread/pwrite, truncate, renumber, fcntl, links, utimensat, poll"
}

case_missing_dir() {
    run "$SLUICE" wasm run --dir "$WORK/no/such/dir" "$W/hello.wasm"
    want_status 1
    want_in stderr "cannot open directory '$WORK/no/such/dir'"
    verdict "--dir of a missing directory is a clear error"
}

case_wasi_hostile() {
    run "$SLUICE" wasm run "$W/wasi_raw.wasm" f
    want_status 21
    run "$SLUICE" wasm run "$W/wasi_raw.wasm" r
    want_status 21
    run "$SLUICE" wasm run "$W/wasi_raw.wasm" s
    want_status 52
    run "$SLUICE" wasm run "$W/wasi_raw.wasm" b
    want_status 8
    run "$SLUICE" wasm run "$W/wasi_raw.wasm" w
    want_status 0
    want_stdout "raw ok"
    verdict "out-of-bounds WASI pointers give EFAULT, sockets ENOSYS, bad fds EBADF"
}

case_invoke_numbers() {
    local m=$W/arith.wasm
    run "$SLUICE" wasm invoke "$m" add_i32 2 40
    want_stdout 42
    run "$SLUICE" wasm invoke "$m" add_i32 0x7fffffff 1
    want_stdout -2147483648
    run "$SLUICE" wasm invoke "$m" add_i32 -5 0xffffffff
    want_stdout -6
    run "$SLUICE" wasm invoke "$m" add_i64 9223372036854775807 -1
    want_stdout 9223372036854775806
    run "$SLUICE" wasm invoke "$m" add_i64 0x100000000 -0x1
    want_stdout 4294967295
    run "$SLUICE" wasm invoke "$m" mul_f32 1.5 -2.25
    want_stdout -3.375
    run "$SLUICE" wasm invoke "$m" mul_f32 0.1 1
    want_stdout 0.100000001
    run "$SLUICE" wasm invoke "$m" div_f64 1 3
    want_stdout 0.33333333333333331
    run "$SLUICE" wasm invoke "$m" div_f64 1 0
    want_stdout inf
    run "$SLUICE" wasm invoke "$m" div_f64 -inf 2
    want_stdout -inf
    run "$SLUICE" wasm invoke "$m" div_f64 nan 1
    want_in stdout '^-?nan$'
    want_status 0
    verdict "invoke parses and prints i32, i64, f32, f64 (hex, negative, inf, nan)"
}

case_invoke_multi() {
    run "$SLUICE" wasm invoke "$W/arith.wasm" divmod 17 5
    want_stdout "3
2"
    run "$SLUICE" wasm invoke "$W/arith.wasm" spread -3
    want_stdout "-3
-3
-3
-3"
    run "$SLUICE" wasm invoke "$W/arith.wasm" nothing
    want_status 0
    want_stdout ""
    verdict "invoke prints multiple results, one a line (and none)"
}

case_invoke_wasi() {
    run "$SLUICE" wasm invoke "$W/wasi_raw.wasm" _start
    want_status 0
    want_stdout "raw ok"
    run "$SLUICE" wasm invoke "$W/status.wasm" _start
    want_status 100
    verdict "invoke links WASI imports; proc_exit becomes the exit status"
}

case_invoke_errors() {
    run "$SLUICE" wasm invoke "$W/arith.wasm" no_such 1
    want_status 1
    want_in stderr "no exported function 'no_such'.*add_i32.*div_f64.*spread"
    want_not_in stderr 'memory|counter'
    run "$SLUICE" wasm invoke "$W/arith.wasm" add_i32 1
    want_status 1
    want_in stderr 'add_i32 takes 2 arguments \(i32 i32\), got 1'
    run "$SLUICE" wasm invoke "$W/arith.wasm" add_i32 1 12abc
    want_status 1
    want_in stderr "argument 2 of add_i32: '12abc' is not a valid i32"
    run "$SLUICE" wasm invoke "$W/arith.wasm" add_i32 1 4294967296
    want_status 1
    want_in stderr 'not a valid i32'
    run "$SLUICE" wasm invoke "$W/arith.wasm"
    want_status 2
    want_in stderr 'missing FUNCTION'
    verdict "invoke: unknown function lists the exports; bad arguments are named"
}

case_fuel() {
    run "$SLUICE" wasm invoke --fuel 1000000 "$W/traps.wasm" spin
    want_status 134
    want_in stderr 'traps.wasm: trap: .*fuel'
    run "$SLUICE" wasm invoke --fuel 100 "$W/arith.wasm" add_i32 1 2
    want_status 0
    want_stdout 3
    verdict "--fuel stops an infinite loop with a fuel trap (and lets short calls finish)"
}

case_timeout() {
    local start=$SECONDS
    run "$SLUICE" wasm invoke --timeout 300 "$W/traps.wasm" spin
    want_status 134
    want_in stderr 'traps.wasm: trap: .*deadline'
    [ $((SECONDS - start)) -le 10 ] || problems+=("took $((SECONDS - start)) s")
    start=$SECONDS
    run "$SLUICE" wasm run --timeout 300 "$W/clock_random.wasm" sleep 20
    want_status 134
    want_in stderr 'clock_random.wasm: trap: .*deadline'
    [ $((SECONDS - start)) -le 5 ] || problems+=("sleeping took $((SECONDS - start)) s")
    verdict "--timeout stops an infinite loop, and a long sleep, with a deadline trap"
}

case_traps() {
    run "$SLUICE" wasm invoke "$W/traps.wasm" unreachable
    want_status 134
    want_in stderr 'traps.wasm: trap: unreachable'
    run "$SLUICE" wasm invoke "$W/traps.wasm" load_oob
    want_status 134
    want_in stderr 'traps.wasm: trap: out of bounds memory access'
    run "$SLUICE" wasm invoke "$W/traps.wasm" div_zero 0
    want_status 134
    want_in stderr 'trap: integer divide by zero'
    run "$SLUICE" wasm invoke "$W/traps.wasm" recurse 1
    want_status 134
    want_in stderr 'trap: call stack exhausted'
    verdict "traps (unreachable, out of bounds, divide by zero, stack) are reported"
}

case_bad_files() {
    run "$SLUICE" wasm run "$WORK/nothing-here.wasm"
    want_status 1
    want_in stderr "^sluice: $WORK/nothing-here.wasm: No such file or directory$"
    echo "this is not WebAssembly" >"$WORK/text.wasm"
    run "$SLUICE" wasm run "$WORK/text.wasm"
    want_status 1
    want_in stderr "^sluice: $WORK/text.wasm: at byte 0: .*magic"
    head -c 100 "$W/hello.wasm" >"$WORK/truncated.wasm"
    run "$SLUICE" wasm run "$WORK/truncated.wasm"
    want_status 1
    want_in stderr "^sluice: $WORK/truncated.wasm: at byte [0-9]+: "
    : >"$WORK/empty.wasm"
    run "$SLUICE" wasm invoke "$WORK/empty.wasm" f
    want_status 1
    want_in stderr "^sluice: $WORK/empty.wasm: at byte 0: "
    run "$SLUICE" wasm run "$WORK"
    want_status 1
    want_in stderr "^sluice: $WORK: Is a directory$"
    run "$SLUICE" wasm run /dev/zero
    want_status 1
    want_in stderr "^sluice: /dev/zero: File too large$"
    verdict "missing, non-wasm, truncated, empty and endless modules give clear errors"
}

case_link_errors() {
    run "$SLUICE" wasm run "$W/needs_env.wasm"
    want_status 1
    want_in stderr 'needs_env.wasm: .*missing_function'
    run "$SLUICE" wasm run "$W/arith.wasm"
    want_status 1
    want_in stderr "arith.wasm: .*'_start'"
    verdict "a missing import and a missing _start are reported"
}

case_memory_bomb() {
    run "$SLUICE" wasm invoke --max-memory 16 "$W/bomb.wasm" grow_forever
    want_status 0
    want_stdout 256
    run "$SLUICE" wasm invoke "$W/bomb.wasm" grow_at_once 65535
    want_status 0
    want_stdout -1
    run "$SLUICE" wasm invoke "$W/bomb.wasm" grow_at_once 16384
    want_status 0
    want_stdout -1
    verdict "memory.grow in a loop is refused at the limit (--max-memory, default 1 GiB)"
}

case_usage() {
    run "$SLUICE" wasm run --help
    want_status 0
    want_in stdout '^usage: sluice wasm run'
    want_in stdout '134'
    run "$SLUICE" wasm invoke --help
    want_status 0
    want_in stdout '^usage: sluice wasm invoke'
    run "$SLUICE" wasm run --fuel
    want_status 2
    want_in stderr '--fuel needs a value'
    run "$SLUICE" wasm run --fuel ten "$W/hello.wasm"
    want_status 2
    want_in stderr 'bad number for --fuel'
    run "$SLUICE" wasm run --bogus "$W/hello.wasm"
    want_status 2
    want_in stderr "unknown option '--bogus'"
    verdict "--help, and usage errors with exit status 2"
}

build_guests
for c in hello args_env stdin exit_codes clock_random \
         read_granted relative_dirs big_listing read_denied escapes writes \
         misc_calls missing_dir wasi_hostile \
         invoke_numbers invoke_multi invoke_wasi invoke_errors \
         fuel timeout traps bad_files link_errors memory_bomb usage; do
    "case_$c"
done
finish wasm
