#!/usr/bin/env bash
# tests/e2e/artifact.sh BINARY: end-to-end tests of `artifact:` in a
# function node (docs/function-node.md, docs/registry.md): a real `sluice
# registry serve` on a free loopback port, artifacts made with `sluice fn
# package` and published with `sluice artifact push`, then pipelines (file
# -> parse_csv -> function -> file) run and validated against it, and
# offline from their cache once the server is gone.
#
# The guest is tests/e2e/function/tester.c (it adds `is_anomaly`: value >
# the configured threshold), built with clang-19 into build/e2e/artifact/.
# Its versions differ in the default threshold their manifest gives, so an
# output tells which version ran. Each case prints "ok NAME" or "FAIL NAME"
# with what differed; the last line is "artifact: N passed, M failed", and
# the exit status is non-zero if anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
W=$ROOT/build/e2e/artifact
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$W"
# The registry and cache settings come from the tests only.
unset SLUICE_REGISTRY_URL SLUICE_REGISTRY_TOKEN SLUICE_CACHE XDG_CACHE_HOME
export SLUICE_REGISTRY_CONFIG=$WORK/no-config.yaml HOME=$WORK

. "$HERE/lib.sh"

build_guest() {
    local src=$HERE/function/tester.c
    [ "$W/tester.wasm" -nt "$src" ] && return 0
    compile_guest "$src" "$W/tester.wasm" ||
        { echo "artifact: could not build $src" >&2; exit 1; }
}

# ---- Checking (as in function.sh) --------------------------------------------

run() {
    (cd "$WORK" && timeout -k 5 60 "$@" </dev/null >"$WORK/stdout" 2>"$WORK/stderr")
    status=$?
}

show() { head -c 600 "$WORK/$1" | tr '\n' '|'; }

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_in() { # FILE REGEX
    grep -Eq -- "$2" "$WORK/$1" 2>/dev/null || problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_file() { # FILE CONTENT
    [ "$(cat "$WORK/$1" 2>/dev/null)" = "$2" ] ||
        problems+=("$1 is '$(show "$1")', wanted '$(printf %s "$2" | tr '\n' '|')'")
}

# ---- The server --------------------------------------------------------------

DATA=$WORK/data

stop_server() {
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
}

# publish NAME VERSION MANIFEST_LINE [fn package ARGS...]: packages the
# tester guest as NAME@VERSION (with one more manifest line) and pushes it.
publish() {
    local name=$1 version=$2 extra=$3 dir=$WORK/p-$1-$2
    shift 3
    mkdir -p "$dir"
    cp "$W/tester.wasm" "$dir/"
    printf '%s\n' "name: $name" "version: $version" "abi: 1" "entry: tester.wasm" \
        "$extra" >"$dir/manifest.yaml"
    "$SLUICE" fn package "$dir" -o "$WORK/$name-$version.tar.gz" "$@" >/dev/null 2>"$WORK/err" &&
        "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" \
            "$WORK/$name-$version.tar.gz" >/dev/null 2>>"$WORK/err" ||
        { echo "artifact: cannot publish $name@$version: $(cat "$WORK/err")" >&2; exit 1; }
}

# ---- Pipelines ---------------------------------------------------------------

# fn_pipeline SETTINGS: p.yaml, readings.csv parsed, then the function node
# `fn` with SETTINGS (YAML lines, indented 4; the first is line 12), writing
# out.ndjson and errors.ndjson (removing those of the pipeline before).
fn_pipeline() {
    rm -f "$WORK"/*.ndjson
    function_pipeline "$1" >"$WORK/p.yaml"
}

# Three readings: 0, 150, 2. is_anomaly tells the threshold: 1 (tester@1.0.0
# by its manifest), 100 (2.0.0) or 1000 (3.0.0, yanked).
printf '%s\n' 2026-11-24T10:00:00Z,s1,0 2026-11-24T10:00:01Z,s2,150 \
    2026-11-24T10:00:02Z,s1,2 >"$WORK/readings.csv"
flags() { # the is_anomaly column of out.ndjson, as "false true ... "
    grep -o '"is_anomaly":[a-z]*' "$WORK/out.ndjson" 2>/dev/null | cut -d: -f2 | tr '\n' ' '
}
want_flags() { # EXPECTED ("false true true ")
    [ "$(flags)" = "$1" ] || problems+=("is_anomaly is '$(flags)', wanted '$1' (stderr: $(show stderr))")
}
V1="false true true "
V2="false true false "
NONE="false false false "

# ---- The cases ---------------------------------------------------------------

case_exact() {
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" validate p.yaml
    want_status 0
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V1"
    [ -f "$WORK/cache/refs/tester/1.0.0" ] || problems+=("tester@1.0.0 is not in the cache")
    verdict "artifact: NAME@1.0.0 is resolved, cached, and runs with its manifest's config"
}

case_default_cache() {
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL"
    run "$SLUICE" validate p.yaml
    XDG_CACHE_HOME=$WORK/xdg run "$SLUICE" validate p.yaml
    SLUICE_CACHE=$WORK/sc XDG_CACHE_HOME=$WORK/xdg2 run "$SLUICE" validate p.yaml
    local dir
    for dir in .cache/sluice xdg/sluice sc; do
        [ -f "$WORK/$dir/refs/tester/1.0.0" ] || problems+=("tester@1.0.0 is not cached in $dir")
    done
    [ ! -e "$WORK/xdg2" ] || problems+=("SLUICE_CACHE did not win over XDG_CACHE_HOME")
    verdict "the cache: SLUICE_CACHE, else XDG_CACHE_HOME/sluice, else ~/.cache/sluice"
}

case_node_config_wins() {
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL
    cache_dir: cache
    config: {threshold: 1000}"
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$NONE"
    verdict "the node's config overrides the manifest's default config, key by key"
}

case_latest() {
    fn_pipeline "    artifact: tester@latest
    cache_dir: cache"
    SLUICE_REGISTRY_URL=$URL run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V2"
    [ "$(cat "$WORK/cache/refs/tester/2.0.0" 2>/dev/null)" = "$(cat "$WORK/digest-2.0.0")" ] ||
        problems+=("the cache does not map tester@2.0.0 to its digest")
    verdict "@latest is the newest version not yanked; the registry from SLUICE_REGISTRY_URL"
}

case_manifest_limits() {
    printf '%s\n' 2026-11-24T10:00:00Z,s1,-99 2026-11-24T10:00:01Z,s2,1 >"$WORK/loop.csv"
    fn_pipeline "    artifact: looper@1.0.0
    registry: $URL
    cache_dir: cache"
    sed -i 's/readings.csv/loop.csv/' "$WORK/p.yaml"
    run "$SLUICE" run p.yaml
    want_status 0
    want_in errors.ndjson '"value":-99,"error":"function tester: limit: '
    want_in out.ndjson '"value":1,"is_anomaly":false'
    verdict "the manifest's limits apply (its fuel stops an endless loop)"
}

case_manifest_limit_range() {
    fn_pipeline "    artifact: bigmem@1.0.0
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:12:15: fn: artifact bigmem: its manifest's limit max_memory_mib: 0 is outside 1..4096; set limits.memory_mib on the node"
    fn_pipeline "    artifact: bigmem@1.0.0
    registry: $URL
    cache_dir: cache
    limits: {memory_mib: 64}"
    run "$SLUICE" validate p.yaml
    want_status 0
    verdict "a manifest limit the node cannot take is an error at artifact:, unless the node sets it"
}

case_unknown_version() {
    fn_pipeline "    artifact: tester@9.9.9
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr '^.*p.yaml:12:15: fn: artifact tester@9.9.9: .*(no|not)'
    fn_pipeline "    artifact: nosuch@latest
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr 'p.yaml:12:15: fn: artifact nosuch@latest: '
    fn_pipeline "    artifact: Not_A_Name@1
    cache_dir: cache"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:12:15: fn: 'artifact' is NAME@VERSION or NAME@latest: invalid name 'Not_A_Name'"
    verdict "validate: an unknown version or artifact, a bad reference, at file:line:col"
}

case_signed() {
    fn_pipeline "    artifact: signed@1.0.0
    registry: $URL
    cache_dir: cache-signed
    trusted_signers: [$ALICE]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V1"
    fn_pipeline "    artifact: signed@1.0.0
    registry: $URL
    cache_dir: cache-mallory
    trusted_signers: [$MALLORY]"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:12:15: fn: artifact signed@1.0.0: .*signed by $ALICE, which is not a trusted signer"
    run "$SLUICE" run p.yaml
    want_status 1
    want_in stderr "which is not a trusted signer"
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL
    cache_dir: cache
    trusted_signers: [$ALICE]"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:12:15: fn: artifact tester@1.0.0: .*not signed, and the pipeline requires a trusted signer"
    fn_pipeline "    artifact: signed@1.0.0
    cache_dir: cache
    trusted_signers: [not-a-key]"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:14:23: fn: a trusted signer is a public key: 64 lowercase hex digits"
    verdict "trusted_signers: its signer's key works, another key or no signature is refused"
}

case_module_and_artifact() {
    fn_pipeline "    module: $W/tester.wasm
    artifact: tester@1.0.0"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "p.yaml:13:15: fn: give either 'module' or 'artifact', not both"
    fn_pipeline "    config: {threshold: 1}"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr "fn: missing 'module' \(a .wasm file\) or 'artifact'"
    verdict "both module and artifact, or neither: a config error at the node"
}

case_offline() {
    stop_server
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V1"
    fn_pipeline "    artifact: tester@latest
    registry: $URL
    cache_dir: cache"
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V2"
    fn_pipeline "    artifact: signed@1.0.0
    cache_dir: cache-signed
    trusted_signers: [$ALICE]"
    run "$SLUICE" run p.yaml
    want_status 0
    want_flags "$V1"
    fn_pipeline "    artifact: tester@1.0.0
    registry: $URL
    cache_dir: cache-empty"
    run "$SLUICE" validate p.yaml
    want_status 1
    want_in stderr 'p.yaml:12:15: fn: artifact tester@1.0.0: .*(cannot reach|reach)'
    verdict "with the server stopped, pipelines run from the cache; an empty cache is an error"
}

build_guest
cd "$WORK" || exit 1
TOKEN=$("$SLUICE" registry token add ci --data "$DATA" 2>/dev/null)
start_registry
ALICE=$("$SLUICE" keygen -o "$WORK/alice.key" 2>/dev/null)
MALLORY=$("$SLUICE" keygen -o "$WORK/mallory.key" 2>/dev/null)
publish tester 1.0.0 "config: {threshold: 1}"
publish tester 2.0.0 "config: {threshold: 100}"
sha256sum <"$WORK/tester-2.0.0.tar.gz" | sed 's/^\([0-9a-f]*\).*/sha256:\1/' >"$WORK/digest-2.0.0"
publish tester 3.0.0 "config: {threshold: 1000}"
"$SLUICE" artifact yank tester@3.0.0 --registry "$URL" --token "$TOKEN" >/dev/null 2>&1 ||
    { echo "artifact: cannot yank tester@3.0.0" >&2; exit 1; }
publish looper 1.0.0 "limits: {fuel: 10000000}"
publish bigmem 1.0.0 "limits: {max_memory_mib: 0}"
publish signed 1.0.0 "config: {threshold: 1}" --sign "$WORK/alice.key"
for c in exact default_cache node_config_wins latest manifest_limits manifest_limit_range unknown_version \
         signed module_and_artifact offline; do
    "case_$c"
done
finish artifact
