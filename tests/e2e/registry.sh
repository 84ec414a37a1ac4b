#!/usr/bin/env bash
# tests/e2e/registry.sh BINARY: end-to-end tests of the function registry
# (docs/registry.md): `sluice fn package`, `sluice keygen`, `sluice registry
# serve|token`, `sluice artifact push|pull|ls|show|yank|resolve`, against the
# real server on a free loopback port.
#
# The guests are tests/e2e/registry/*.wat, built with wat2wasm into
# build/e2e/registry/; archives that `fn package` would refuse to make are
# written by registry/mktar.py. Each case prints "ok NAME" or "FAIL NAME"
# with what differed; the last line is "registry: N passed, M failed", and
# the exit status is non-zero if anything failed.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 path/to/sluice" >&2
    exit 2
fi
SLUICE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CASES=$HERE/registry
W=$ROOT/build/e2e/registry
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$W"
# The registry's client settings come from the tests only.
unset SLUICE_REGISTRY_URL SLUICE_REGISTRY_TOKEN
export SLUICE_REGISTRY_CONFIG=$WORK/no-config.yaml HOME=$WORK

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_guests() {
    local src name
    for src in "$CASES"/*.wat; do
        name=$(basename "${src%.wat}")
        [ "$W/$name.wasm" -nt "$src" ] && continue
        wat2wasm "$src" -o "$W/$name.wasm" || echo "registry: could not build $src" >&2
    done
}

# ---- Checking (as in run.sh) ---------------------------------------------

run() {
    timeout 60 "$@" </dev/null >"$WORK/stdout" 2>"$WORK/stderr"
    status=$?
}

show() { head -c 400 "$WORK/$1" | tr '\n' '|'; }

want_status() {
    [ "$status" -eq "$1" ] ||
        problems+=("exit status $status, wanted $1 (stderr: $(show stderr))")
}

want_in() {
    grep -Eq -- "$2" "$WORK/$1" ||
        problems+=("$1 '$(show "$1")' lacks /$2/")
}

want_not_in() {
    ! grep -Eq -- "$2" "$WORK/$1" ||
        problems+=("$1 '$(show "$1")' has /$2/")
}

# ---- The server ------------------------------------------------------------

DATA=$WORK/data

# stop_server: SIGTERM; the server must end cleanly (status 0, and no
# sanitizer report when it is built with them).
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    local code=$?
    SERVER_PID=
    [ "$code" -eq 0 ] || problems+=("the server ended with status $code")
    ! grep -Eq 'Sanitizer|runtime error' "$WORK/serve.err" ||
        problems+=("the server reported: $(head -c 300 "$WORK/serve.err")")
}

# http METHOD PATH [CURL ARGS...]: the status code in $code, the body in
# $WORK/body.
http() {
    local method=$1 path=$2
    shift 2
    code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" "$@" "$URL/api/v1$path")
}

want_code() {
    [ "$code" = "$1" ] || problems+=("HTTP $code, wanted $1 (body: $(show body))")
}

upload() { # ARCHIVE [TOKEN]: POSTs an archive as `artifact push` does
    http POST /artifacts -H "Authorization: Bearer ${2:-$TOKEN}" \
        --data-binary "@$1" -H 'Content-Type: application/gzip'
}

# ---- Making artifacts ------------------------------------------------------

# project DIR NAME VERSION [MANIFEST LINES...]: a function project with the
# length guest.
project() {
    local dir=$1 name=$2 version=$3
    shift 3
    mkdir -p "$dir"
    cp "$W/length.wasm" "$dir/length.wasm"
    {
        echo "name: $name"
        echo "version: $version"
        echo "description: measures its input"
        echo "language: wat"
        echo "abi: 1"
        echo "entry: length.wasm"
        printf '%s\n' "$@"
    } >"$dir/manifest.yaml"
}

# package NAME VERSION [--sign KEY]: $WORK/NAME-VERSION.tar.gz
package() {
    local name=$1 version=$2
    shift 2
    project "$WORK/p-$name-$version" "$name" "$version"
    "$SLUICE" fn package "$WORK/p-$name-$version" -o "$WORK/$name-$version.tar.gz" "$@" \
        >/dev/null 2>"$WORK/package.err" ||
        problems+=("packaging $name@$version failed: $(cat "$WORK/package.err")")
}

push() { "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$@"; }

# ---- The cases -------------------------------------------------------------

case_package() {
    local dir=$WORK/pkg
    mkdir -p "$dir"
    cp "$W/length.wasm" "$dir/"
    echo "# Length" >"$dir/README.md"
    run "$SLUICE" fn package "$dir" --name length --version 1.0.0 \
        --module "$dir/length.wasm" --description "measures its input" \
        --language wat --license MIT --author "Ada" -o "$WORK/length-1.0.0.tar.gz"
    want_status 0
    want_in stdout '^sha256:[0-9a-f]{64}$'
    [ -f "$dir/manifest.yaml" ] || problems+=("no manifest.yaml was written")
    local digest
    digest=$(cat "$WORK/stdout")
    [ "$(tar tzf "$WORK/length-1.0.0.tar.gz" | sort | tr '\n' ' ')" = \
        "README.md length.wasm manifest.yaml " ] ||
        problems+=("archive holds: $(tar tzf "$WORK/length-1.0.0.tar.gz" | tr '\n' ' ')")
    run "$SLUICE" fn package "$dir" -o "$WORK/again.tar.gz"
    want_status 0
    [ "$(cat "$WORK/stdout")" = "$digest" ] ||
        problems+=("packaging twice gave different digests")
    [ "$(sha256sum <"$WORK/again.tar.gz" | cut -d' ' -f1)" = "${digest#sha256:}" ] ||
        problems+=("the digest is not the archive's sha256")
    verdict "fn package makes a manifest from flags; the digest is the archive's sha256, stable"
}

case_package_errors() {
    mkdir -p "$WORK/empty"
    run "$SLUICE" fn package "$WORK/empty"
    want_status 1
    want_in stderr 'manifest.yaml does not exist'
    project "$WORK/badname" "Bad_Name" 1.0.0
    run "$SLUICE" fn package "$WORK/badname"
    want_status 1
    want_in stderr "invalid name 'Bad_Name'"
    project "$WORK/badver" "ok" 1.0
    run "$SLUICE" fn package "$WORK/badver"
    want_status 1
    want_in stderr "'version' must be a string such as 1.2.0"
    project "$WORK/typo" "ok" 1.0.0 "licence: MIT"
    run "$SLUICE" fn package "$WORK/typo"
    want_status 1
    want_in stderr "unknown field 'licence'"
    project "$WORK/noexec" "ok" 1.0.0
    cp "$W/noexecute.wasm" "$WORK/noexec/length.wasm"
    run "$SLUICE" fn package "$WORK/noexec"
    want_status 1
    want_in stderr "missing export 'sluice_execute'"
    run "$SLUICE" fn package --bogus
    want_status 2
    want_in stderr "unknown option '--bogus'"
    verdict "fn package refuses bad names, versions, fields and modules"
}

case_push_pull() {
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/length-1.0.0.tar.gz"
    want_status 0
    want_in stderr 'published length@1.0.0'
    local digest
    digest=$(cat "$WORK/stdout")
    run "$SLUICE" artifact pull length@1.0.0 --registry "$URL" -o "$WORK/pulled.tar.gz"
    want_status 0
    [ "$(cat "$WORK/stdout")" = "$digest" ] || problems+=("pull digest $(show stdout) != $digest")
    cmp -s "$WORK/pulled.tar.gz" "$WORK/length-1.0.0.tar.gz" || problems+=("pulled bytes differ")
    tar xzf "$WORK/pulled.tar.gz" -C "$WORK" length.wasm
    echo '[1, 2, 3]' >"$WORK/input.json"
    run "$SLUICE" fn run "$WORK/length.wasm" --input "$WORK/input.json"
    want_status 0
    want_in stdout '^\{"length":10\}$'
    verdict "push, then pull (digest verified), and the pulled module runs"
}

case_list_show() {
    package length 1.1.0
    package other-fn 0.1.0
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/length-1.1.0.tar.gz"
    want_status 0
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/other-fn-0.1.0.tar.gz"
    want_status 0
    run "$SLUICE" artifact ls --registry "$URL"
    want_status 0
    want_in stdout '^length +1\.1\.0 +measures its input$'
    want_in stdout '^other-fn +0\.1\.0 '
    run "$SLUICE" artifact ls other --registry "$URL"
    want_not_in stdout '^length'
    want_in stdout '^other-fn'
    run "$SLUICE" artifact show length --registry "$URL"
    want_status 0
    [ "$(grep -Eo '^      "version": "[^"]*"' "$WORK/stdout" | tr -s ' ' | tr '\n' '|')" = \
        ' "version": "1.1.0"| "version": "1.0.0"|' ] ||
        problems+=("versions shown: $(show stdout)")
    want_in stdout '"publisher": "ci"'
    run "$SLUICE" artifact show length@latest --registry "$URL"
    want_in stdout '"version": "1.1.0"'
    http GET /artifacts/length/1.0.0
    want_code 200
    grep -q '"entry":"length.wasm"' "$WORK/body" || problems+=("metadata lacks the manifest")
    http GET /artifacts/nothing-here
    want_code 404
    http GET /artifacts/length/1.0.0/nonsense
    want_code 404
    http GET /nothing
    want_code 404
    http DELETE /artifacts/length/1.0.0
    want_code 405
    http POST /artifacts/length/1.0.0/download -H "Authorization: Bearer $TOKEN"
    want_code 405
    run "$SLUICE" artifact show nothing-here@1.0.0 --registry "$URL"
    want_status 1
    want_in stderr 'no artifact nothing-here@1.0.0 \(HTTP 404\)'
    verdict "ls, search, show of versions, metadata and latest; 404 and 405 for unknown names and methods"
}

case_republish() {
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/length-1.0.0.tar.gz"
    want_status 1
    want_in stderr 'length@1.0.0 is already published.*\(HTTP 409\)'
    project "$WORK/changed" length 1.0.0 "license: changed"
    "$SLUICE" fn package "$WORK/changed" -o "$WORK/changed.tar.gz" >/dev/null 2>&1
    upload "$WORK/changed.tar.gz"
    want_code 409
    verdict "re-publishing a version, even with other content, is 409"
}

case_auth() {
    package auth-test 1.0.0
    http POST /artifacts --data-binary "@$WORK/auth-test-1.0.0.tar.gz"
    want_code 401
    grep -q 'needs a token' "$WORK/body" || problems+=("401 body: $(show body)")
    upload "$WORK/auth-test-1.0.0.tar.gz" sluice_0000
    want_code 403
    http POST /artifacts/length/1.0.0/yank -H "Authorization: Bearer wrong"
    want_code 403
    http GET /artifacts/auth-test
    want_code 404
    sqlite3 "$DATA/registry.db" 'SELECT hash FROM tokens' >"$WORK/hashes"
    ! grep -q "${TOKEN#sluice_}" "$WORK/hashes" || problems+=("the token is stored in clear")
    verdict "writes without a token are 401, with a wrong one 403; tokens are stored hashed"
}

case_too_large() {
    head -c 3000000 /dev/urandom >"$WORK/big.bin"
    upload "$WORK/big.bin"
    want_code 413
    grep -q 'larger than this registry.s limit of 2097152 bytes' "$WORK/body" ||
        problems+=("413 body: $(show body)")
    http POST /artifacts -H "Authorization: Bearer $TOKEN" -H 'Transfer-Encoding: chunked' \
        --data-binary "@$WORK/big.bin"
    want_code 413
    verdict "uploads over --max-upload are 413 (announced or chunked)"
}

case_bad_names() {
    local name
    for name in Bad_Name -lead "a/b" ".." "x%2F..%2Fetc" "$(printf 'a%.0s' $(seq 65))"; do
        http GET "/artifacts/$name" --path-as-is
        [ "$code" = 400 ] || [ "$code" = 404 ] || problems+=("GET $name: HTTP $code")
    done
    http GET /artifacts/Bad_Name
    want_code 400
    grep -q "invalid name 'Bad_Name'" "$WORK/body" || problems+=("body: $(show body)")
    http GET /artifacts/length/1.0
    want_code 400
    grep -q "invalid version '1.0'" "$WORK/body" || problems+=("body: $(show body)")
    printf 'name: ../../etc\nversion: 1.0.0\nabi: 1\nentry: length.wasm\n' >"$WORK/m.yaml"
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "manifest.yaml=$WORK/m.yaml" "length.wasm=$W/length.wasm"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "invalid name '../../etc'" "$WORK/body" || problems+=("body: $(show body)")
    verdict "bad names and versions in URLs and manifests are 400 with the reason"
}

case_bad_archives() {
    printf 'name: evil\nversion: 1.0.0\nabi: 1\nentry: length.wasm\n' >"$WORK/m.yaml"
    local mf="manifest.yaml=$WORK/m.yaml" mod="length.wasm=$W/length.wasm"
    head -c 2000 /dev/urandom >"$WORK/junk.bin"
    upload "$WORK/junk.bin"
    want_code 400
    grep -q 'corrupt archive' "$WORK/body" || problems+=("junk: $(show body)")
    head -c 300 "$WORK/length-1.0.0.tar.gz" >"$WORK/cut.tar.gz"
    upload "$WORK/cut.tar.gz"
    want_code 400
    grep -q 'corrupt archive' "$WORK/body" || problems+=("truncated: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mf" "$mod" "../escape.txt=$WORK/m.yaml"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "'../escape.txt': paths are not allowed" "$WORK/body" || problems+=("..: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mf" "$mod" "/etc/x=$WORK/m.yaml"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "paths are not allowed" "$WORK/body" || problems+=("absolute: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mf" "link:length.wasm=/etc/passwd"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "only regular files" "$WORK/body" || problems+=("symlink: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mf" "$mod" "notes.txt=$WORK/m.yaml"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "'notes.txt': unknown file" "$WORK/body" || problems+=("unknown: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mod"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "no manifest.yaml" "$WORK/body" || problems+=("no manifest: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "$mf"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "lacks the entry module 'length.wasm'" "$WORK/body" || problems+=("no module: $(show body)")
    head -c 20000000 /dev/zero >"$WORK/zeros.wasm"
    python3 "$CASES/mktar.py" "$WORK/bomb.tar.gz" "$mf" "length.wasm=$WORK/zeros.wasm"
    upload "$WORK/bomb.tar.gz"
    want_code 400
    grep -q "too large once unpacked" "$WORK/body" || problems+=("bomb: $(show body)")
    http GET /artifacts/evil
    want_code 404
    verdict "corrupt, truncated, ../, absolute, symlink, unknown-file, incomplete and bomb archives are 400"
}

case_bad_modules() {
    printf 'name: badmod\nversion: 1.0.0\nabi: 1\nentry: length.wasm\n' >"$WORK/m.yaml"
    head -c 100 "$W/length.wasm" >"$WORK/cut.wasm"
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "manifest.yaml=$WORK/m.yaml" "length.wasm=$WORK/cut.wasm"
    upload "$WORK/t.tar.gz"
    want_code 422
    grep -Eq 'module length.wasm: not a valid WebAssembly module: at byte [0-9]+: ' "$WORK/body" ||
        problems+=("truncated module: $(show body)")
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "manifest.yaml=$WORK/m.yaml" "length.wasm=$W/noexecute.wasm"
    upload "$WORK/t.tar.gz"
    want_code 422
    grep -q "missing export 'sluice_execute'" "$WORK/body" || problems+=("no export: $(show body)")
    printf 'name: badmod\nversion: 1.0.0\nabi: 2\nentry: length.wasm\n' >"$WORK/m2.yaml"
    python3 "$CASES/mktar.py" "$WORK/t.tar.gz" "manifest.yaml=$WORK/m2.yaml" "length.wasm=$W/length.wasm"
    upload "$WORK/t.tar.gz"
    want_code 400
    grep -q "'abi' must be 1" "$WORK/body" || problems+=("abi 2: $(show body)")
    http GET /artifacts/badmod
    want_code 404
    verdict "modules that fail validation (byte offset) or lack an ABI export are 422"
}

case_yank() {
    run "$SLUICE" artifact yank length@1.1.0 --registry "$URL"
    want_status 1
    want_in stderr 'HTTP 401'
    run "$SLUICE" artifact yank length@1.1.0 --registry "$URL" --token "$TOKEN"
    want_status 0
    run "$SLUICE" artifact show length@latest --registry "$URL"
    want_in stdout '"version": "1.0.0"'
    run "$SLUICE" artifact ls --registry "$URL"
    want_in stdout '^length +1\.0\.0 '
    run "$SLUICE" artifact show length --registry "$URL"
    want_in stdout '"yanked": true'
    run "$SLUICE" artifact pull length@1.1.0 --registry "$URL" -o "$WORK/yanked.tar.gz"
    want_status 0
    want_in stderr 'this version is yanked'
    run "$SLUICE" artifact yank length@9.9.9 --registry "$URL" --token "$TOKEN"
    want_status 1
    want_in stderr 'HTTP 404'
    run "$SLUICE" artifact yank other-fn@0.1.0 --registry "$URL" --token "$TOKEN"
    run "$SLUICE" artifact ls --registry "$URL"
    want_not_in stdout '^other-fn'
    http GET /artifacts/other-fn/latest
    want_code 404
    run "$SLUICE" artifact yank other-fn@0.1.0 --undo --registry "$URL" --token "$TOKEN"
    run "$SLUICE" artifact ls --registry "$URL"
    want_in stdout '^other-fn'
    verdict "yank hides a version from ls and latest; it stays pullable by exact version; --undo"
}

case_concurrent() {
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do package conc 1.0.$i; done
    for i in 1 2 3 4 5 6 7 8; do
        push "$WORK/conc-1.0.$i.tar.gz" >"$WORK/conc-$i.out" 2>&1 &
        pids+=($!)
    done
    local ok=0
    for i in "${pids[@]}"; do wait "$i" && ok=$((ok + 1)); done
    [ "$ok" -eq 8 ] || problems+=("$ok of 8 distinct versions published: $(cat "$WORK"/conc-*.out | tr '\n' '|')")
    http GET /artifacts/conc
    [ "$(grep -o '"version":"1.0.[1-8]"' "$WORK/body" | sort -u | wc -l)" -eq 8 ] ||
        problems+=("the registry lists: $(show body)")
    pids=()
    for i in 1 2 3 4 5 6 7 8; do
        project "$WORK/same-$i" same 1.0.0 "license: variant-$i"
        "$SLUICE" fn package "$WORK/same-$i" -o "$WORK/same-$i.tar.gz" >/dev/null 2>&1
    done
    for i in 1 2 3 4 5 6 7 8; do
        push "$WORK/same-$i.tar.gz" >"$WORK/same-$i.out" 2>&1 &
        pids+=($!)
    done
    ok=0
    for i in "${pids[@]}"; do wait "$i" && ok=$((ok + 1)); done
    [ "$ok" -eq 1 ] || problems+=("$ok of 8 publishes of one version succeeded")
    [ "$(cat "$WORK"/same-*.out | grep -c 'HTTP 409')" -eq 7 ] ||
        problems+=("wanted 7 conflicts: $(cat "$WORK"/same-*.out | tr '\n' '|')")
    [ "$(sqlite3 "$DATA/registry.db" "SELECT count(*) FROM artifacts WHERE name='same'")" = 1 ] ||
        problems+=("the database holds several rows of same@1.0.0")
    local blobs rows
    blobs=$(ls "$DATA/blobs/sha256" | wc -l)
    rows=$(sqlite3 "$DATA/registry.db" 'SELECT count(DISTINCT digest) FROM artifacts')
    [ "$blobs" -eq "$rows" ] || problems+=("$blobs blobs for $rows artifacts: the losers' remain")
    verdict "8 concurrent publishes of distinct versions all succeed; of one version, exactly one"
}

case_signatures() {
    run "$SLUICE" keygen -o "$WORK/alice.key"
    want_status 0
    ALICE=$(cat "$WORK/stdout")
    [ "$(stat -c %a "$WORK/alice.key")" = 600 ] || problems+=("the key file is not private")
    run "$SLUICE" keygen -o "$WORK/alice.key"
    want_status 1
    run "$SLUICE" keygen -o "$WORK/mallory.key"
    MALLORY=$(cat "$WORK/stdout")
    package signed 1.0.0 --sign "$WORK/alice.key"
    want_in package.err "signed by $ALICE"
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/signed-1.0.0.tar.gz"
    want_status 0
    http GET /artifacts/signed/1.0.0
    grep -q "\"signer\":\"$ALICE\"" "$WORK/body" || problems+=("signer not recorded: $(show body)")
    # Tampering: the same signature over a different manifest.
    mkdir -p "$WORK/tamper"
    tar xzf "$WORK/signed-1.0.0.tar.gz" -C "$WORK/tamper"
    sed -i 's/measures its input/does something else/' "$WORK/tamper/manifest.yaml"
    sed -i 's/"1.0.0"/"1.0.1"/' "$WORK/tamper/manifest.yaml"
    (cd "$WORK/tamper" && python3 "$CASES/mktar.py" "$WORK/tampered.tar.gz" \
        manifest.yaml=manifest.yaml length.wasm=length.wasm signature=signature)
    upload "$WORK/tampered.tar.gz"
    want_code 400
    grep -q 'signature does not match' "$WORK/body" || problems+=("tampered: $(show body)")
    http GET /artifacts/signed/1.0.1
    want_code 404
    verdict "keygen; signed packages record their signer; a tampered one is refused"
}

case_resolve() {
    local cache=$WORK/cache
    run "$SLUICE" artifact resolve signed@1.0.0 --cache "$cache" --registry "$URL" --trust "$ALICE"
    want_status 0
    want_in stdout "^$cache/artifacts/[0-9a-f]{64}/length\.wasm$"
    local module
    module=$(cat "$WORK/stdout")
    [ -f "$module" ] || problems+=("no module at $module")
    run "$SLUICE" artifact resolve signed@1.0.0 --cache "$WORK/cache2" --registry "$URL" --trust "$MALLORY"
    want_status 1
    want_in stderr "signed by $ALICE, which is not a trusted signer"
    run "$SLUICE" artifact resolve length@1.0.0 --cache "$WORK/cache2" --registry "$URL" --trust "$ALICE"
    want_status 1
    want_in stderr 'not signed, and the pipeline requires a trusted signer'
    run "$SLUICE" artifact resolve length@latest --cache "$cache" --registry "$URL"
    want_status 0
    want_in stderr '^sluice: length@1\.0\.0$'
    run "$SLUICE" artifact resolve length@1.1.0 --cache "$cache" --registry "$URL"
    want_status 0
    run "$SLUICE" artifact resolve nothing@1.0.0 --cache "$cache" --registry "$URL"
    want_status 1
    want_in stderr 'no artifact nothing@1.0.0'
    [ -z "$(ls -A "$WORK/cache2/artifacts" 2>/dev/null)" ] || problems+=("a refused artifact was cached")
    verdict "resolve downloads into the cache, enforces trusted signers, follows latest"
}

case_offline() {
    local cache=$WORK/cache
    stop_server
    run "$SLUICE" artifact resolve signed@1.0.0 --cache "$cache" --registry "$URL" --trust "$ALICE"
    want_status 0
    want_in stdout 'length\.wasm$'
    run "$SLUICE" artifact resolve length@latest --cache "$cache" --registry "$URL"
    want_status 0
    want_in stderr '^sluice: length@1\.1\.0$'
    run "$SLUICE" artifact resolve length --cache "$cache"
    want_status 0
    run "$SLUICE" artifact resolve other-fn@0.1.0 --cache "$cache" --registry "$URL"
    want_status 1
    want_in stderr 'cannot reach the registry'
    verdict "with the server stopped, resolve works from the cache (exact and latest)"
}

case_cache_tamper() {
    local cache=$WORK/cache3 archive
    run "$SLUICE" artifact resolve length@1.0.0 --cache "$cache" --registry "$URL"
    want_status 0
    archive=$(dirname "$(cat "$WORK/stdout")")/artifact.tar.gz
    printf 'x' >>"$archive"
    run "$SLUICE" artifact resolve length@1.0.0 --cache "$cache"
    want_status 1
    want_in stderr 'does not match its digest'
    verdict "a cached archive that no longer matches its digest is refused"
}

case_crash_recovery() {
    stop_server
    mkdir -p "$DATA/tmp"
    echo partial >"$DATA/tmp/.sluice-tmp-leftover"
    start_registry --max-upload 2097152
    [ ! -e "$DATA/tmp/.sluice-tmp-leftover" ] || problems+=("a leftover upload survived the restart")
    package crash 1.0.0
    # Kill the server while it receives a slow upload: nothing may appear.
    head -c 1500000 /dev/urandom >"$WORK/slow.bin"
    cat "$WORK/crash-1.0.0.tar.gz" "$WORK/slow.bin" >"$WORK/slow.tar.gz"
    curl -s -o /dev/null --limit-rate 100K -H "Authorization: Bearer $TOKEN" \
        --data-binary "@$WORK/slow.tar.gz" "$URL/api/v1/artifacts" &
    local client=$!
    sleep 1
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    wait "$client" 2>/dev/null
    start_registry --max-upload 2097152
    http GET /artifacts/crash
    want_code 404
    [ -z "$(ls -A "$DATA/tmp")" ] || problems+=("tmp holds $(ls "$DATA/tmp")")
    run "$SLUICE" artifact push --registry "$URL" --token "$TOKEN" "$WORK/crash-1.0.0.tar.gz"
    want_status 0
    verdict "a server killed during an upload leaves nothing visible; leftovers are cleaned"
}

case_private_reads() {
    stop_server
    start_registry --max-upload 2097152 --private-reads
    http GET /artifacts
    want_code 401
    http GET /artifacts/length/1.0.0/download -H "Authorization: Bearer wrong"
    want_code 403
    run "$SLUICE" artifact pull length@1.0.0 --registry "$URL" -o "$WORK/private.tar.gz"
    want_status 1
    want_in stderr 'HTTP 401'
    run "$SLUICE" artifact pull length@1.0.0 --registry "$URL" --token "$TOKEN" -o "$WORK/private.tar.gz"
    want_status 0
    run "$SLUICE" artifact resolve other-fn@0.1.0 --cache "$WORK/cache4" --registry "$URL" --token "$TOKEN"
    want_status 0
    stop_server
    start_registry --max-upload 2097152
    verdict "--private-reads: reading needs a token too (pull and resolve send it)"
}

case_shutdown() {
    stop_server
    verdict "the server stops cleanly on SIGTERM"
}

case_usage() {
    run "$SLUICE" registry serve --help
    want_status 0
    want_in stdout '^usage: sluice registry serve'
    run "$SLUICE" registry serve
    want_status 2
    want_in stderr 'missing --data DIR'
    run "$SLUICE" registry serve --data "$WORK/x" --listen nowhere
    want_status 2
    want_in stderr "bad --listen 'nowhere'"
    run "$SLUICE" artifact push --help
    want_status 0
    want_in stdout 'SLUICE_REGISTRY_URL'
    run "$SLUICE" artifact pull length
    want_status 1
    want_in stderr 'no registry URL'
    run "$SLUICE" artifact pull 'Bad@1' --registry "$URL"
    want_status 2
    want_in stderr "invalid name 'Bad'"
    printf 'url: %s\n' "$URL" >"$WORK/no-config.yaml"
    run "$SLUICE" artifact ls
    want_status 0
    want_in stdout '^length '
    rm -f "$WORK/no-config.yaml"
    SLUICE_REGISTRY_URL=$URL run "$SLUICE" artifact ls
    want_status 0
    run "$SLUICE" artifact ls --registry http://127.0.0.1:1
    want_status 1
    want_in stderr 'cannot reach the registry at http://127.0.0.1:1'
    verdict "--help, usage errors, and the registry URL from flag, environment or config file"
}

build_guests
cd "$WORK" || exit 1
TOKEN=$("$SLUICE" registry token add ci --data "$DATA" 2>/dev/null)
start_registry --max-upload 2097152
for c in package package_errors push_pull list_show republish auth too_large \
         bad_names bad_archives bad_modules yank concurrent signatures resolve \
         cache_tamper offline crash_recovery private_reads usage shutdown; do
    "case_$c"
done
finish registry
