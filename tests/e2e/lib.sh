# tests/e2e/lib.sh: what the end-to-end suites share; each sources it.
#
# A case collects what went wrong in the array `problems`, then calls
# `verdict NAME`; the suite ends with `finish SUITE`, which prints
# "SUITE: N passed, M failed" and fails if any case did. Also here: a
# comparison of two strings, a free loopback port, and waiting for a file to
# reach a number of lines.

passed=0
failed=0
problems=()

# verdict NAME: prints "ok NAME", or "FAIL NAME" and the problems, and
# counts the case.
verdict() {
    if [ ${#problems[@]} -eq 0 ]; then
        echo "ok $1"
        passed=$((passed + 1))
    else
        echo "FAIL $1"
        printf '    %s\n' "${problems[@]}"
        failed=$((failed + 1))
    fi
    problems=()
}

# finish SUITE: the closing line; the status is non-zero if a case failed.
finish() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# want_eq WHAT GOT WANTED: a problem unless GOT is WANTED.
want_eq() { # WHAT GOT WANTED: a problem of the case unless equal
    [ "$2" = "$3" ] || problems+=("$1: got '$(printf %s "$2" | tr '\n' '|')', wanted '$(printf %s "$3" | tr '\n' '|')'")
}

# free_port: a loopback TCP port nobody listens on right now.
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# lines FILE: the number of lines of FILE, 0 if it does not exist.
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }

# wait_for_lines FILE N SECONDS: waits until FILE has N lines, SECONDS at
# most.
wait_for_lines() {
    local tenths=0
    while [ "$(lines "$1")" -lt "$2" ] && [ "$tenths" -lt $(($3 * 10)) ]; do
        sleep 0.1
        tenths=$((tenths + 1))
    done
}
