#!/usr/bin/env bash
# tests/run.sh — the one test runner (`make test` runs `tests/run.sh all`).
#
#   tests/run.sh unit BUILDDIR        every BUILDDIR/tests/test_* (cmocka)
#   tests/run.sh integration [NAME..] tests/integration/[0-9]*.sh in order, or only those
#                                     whose file name contains one of the NAMEs
#   tests/run.sh asan [NAME..]        unit tests from build/asan, then the integration
#                                     tests whose header says '# asan: yes', against
#                                     build/asan/bin/tsrelay (builds nothing itself)
#   tests/run.sh all                  setup, release and ASan+UBSan builds (-Werror), unit
#                                     tests of both, fuzz smoke, config reference check,
#                                     integration tests, ASan integration tests
#
# Each test prints "PASS name (Ns)" or "FAIL name (Ns)"; its output goes to
# build/test-logs/NAME.log and the last 80 lines are printed when it fails. The last
# line is "N passed, N failed" and the exit status is 0 only when nothing failed.
#
# Integration test headers (comment lines near the top of the script):
#   # timeout: N     seconds before the test is killed (default 300)
#   # asan: yes      also run it against the ASan+UBSan build
# Integration tests get REPO_ROOT, TSRELAY_BIN (bin/tsrelay) and TOOLS_DIR
# (build/release/tools) in the environment, and run in their own process group, which
# is swept with SIGKILL after the test so no server outlives it.
set -uo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT" || exit 2
export REPO_ROOT
LOG_DIR=$REPO_ROOT/build/test-logs
mkdir -p "$LOG_DIR"

passed=0
failed=0
current_pgid=
current_name=
tmp=

usage()
{
    sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

# Ctrl-C or a TERM from CI: stop the running test's process group, then report.
on_signal()
{
    [ -z "$current_pgid" ] || kill -TERM -- "-$current_pgid" 2>/dev/null
    sleep 1
    [ -z "$current_pgid" ] || kill -KILL -- "-$current_pgid" 2>/dev/null
    [ -z "$tmp" ] || [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$tmp"
    echo "FAIL ${current_name:-?} (interrupted)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 130
}
trap on_signal INT TERM

# record NAME RC SECONDS LOG [NOTE]
record()
{
    local name=$1 rc=$2 secs=$3 log=$4 note=${5:-}
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name (${secs}s)"
    else
        failed=$((failed + 1))
        echo "FAIL $name (${secs}s)${note:+ $note}"
        if [ -f "$log" ]; then
            echo "--- last 80 lines of ${log#"$REPO_ROOT"/} ---"
            tail -n 80 "$log"
            echo "--- end of ${log#"$REPO_ROOT"/} ---"
        fi
    fi
}

# run_step NAME LOGNAME TIMEOUT CMD...: run CMD with a timeout in its own process group
# (GNU timeout makes one), output to the log, sweep the group afterwards, record it.
run_step()
{
    local name=$1 log=$LOG_DIR/$2.log limit=$3 t0 rc pid note="" secs
    shift 3
    t0=$SECONDS
    # A private TMPDIR (the harness makes $TSR_TMP in it), removed afterwards even when
    # the test was killed before its own cleanup ran. KEEP_TMP=1 keeps it.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsr-run.XXXXXX")
    TMPDIR=$tmp timeout -k 15 "$limit" "$@" >"$log" 2>&1 </dev/null &
    pid=$!
    current_pgid=$pid
    current_name=$name
    wait "$pid" 2>/dev/null # (no "Killed" job notice for a test that died of a signal)
    rc=$?
    # Whatever the test left running (a server its cleanup missed) dies with the group.
    kill -KILL -- "-$pid" 2>/dev/null
    current_pgid=
    [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$tmp"
    secs=$((SECONDS - t0))
    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$secs" -ge "$limit" ]; }; then
        note="(timed out after ${limit}s)"
    elif [ "$rc" -gt 128 ]; then
        note="(killed by signal $((rc - 128)))"
    fi
    record "$name" "$rc" "$secs" "$log" "$note"
    return "$rc"
}

# header FILE KEY: the value of a '# KEY: value' line in the first 30 lines of FILE.
header()
{
    sed -n "1,30s/^#[[:space:]]*$2:[[:space:]]*\([^[:space:]]*\).*/\1/p" "$1" | head -n 1
}

# selected NAME PATTERN...: no patterns, or NAME contains one of them.
selected()
{
    local name=$1 p
    shift
    [ $# -eq 0 ] && return 0
    for p in "$@"; do [[ $name == *"$p"* ]] && return 0; done
    return 1
}

run_unit()
{
    local build=$1 prefix=$2 t name
    for t in "$build"/tests/test_*; do
        if [ ! -f "$t" ] || [ ! -x "$t" ]; then continue; fi
        name=${t##*/}
        # cmocka prints its summary on stderr.
        run_step "$prefix/$name" "$prefix-$name" 300 "$t"
    done
}

# run_integration ASAN_ONLY PREFIX PATTERN...: PREFIX '' or 'asan' names the tests.
run_integration()
{
    local asan_only=$1 prefix=$2 t name limit
    shift 2
    for t in tests/integration/[0-9]*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        selected "$name" "$@" || continue
        if [ "$asan_only" = 1 ] && [ "$(header "$t" asan)" != yes ]; then continue; fi
        limit=$(header "$t" timeout)
        [[ $limit =~ ^[0-9]+$ ]] || limit=300
        run_step "${prefix:+$prefix/}$name" "${prefix:+$prefix-}$name" "$limit" bash "$t"
    done
}

integration_env()
{
    export TSRELAY_BIN=${1:-$REPO_ROOT/bin/tsrelay}
    export TOOLS_DIR=${TOOLS_DIR:-$REPO_ROOT/build/release/tools}
}

# The unit test binaries the Makefile's pattern rule builds, for BUILD dir $1.
unit_targets()
{
    local src
    for src in tests/unit/test_*.c; do
        [ -f "$src" ] || continue
        src=${src##*/}
        echo "$1/tests/${src%.c}"
    done
}

asan_env()
{
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
}

mode=${1:-}
[ $# -gt 0 ] && shift
case $mode in
unit)
    [ $# -eq 1 ] || usage
    run_unit "${1%/}" unit
    ;;
integration)
    integration_env "${TSRELAY_BIN:-}"
    run_integration 0 "" "$@"
    ;;
asan)
    asan_env
    run_unit build/asan asan-unit
    integration_env "$REPO_ROOT/build/asan/bin/tsrelay"
    run_integration 1 asan "$@"
    ;;
all)
    [ $# -eq 0 ] || usage
    run_step setup setup 1800 tools/setup.sh
    release_ok=0
    asan_ok=0
    # shellcheck disable=SC2046
    run_step "build (release)" build-release 1800 \
        make -j2 WERROR=1 all $(unit_targets build/release) && release_ok=1
    # shellcheck disable=SC2046
    run_step "build (asan)" build-asan 1800 \
        make -j2 SANITIZE=1 WERROR=1 all $(unit_targets build/asan) && asan_ok=1
    [ "$release_ok" = 1 ] && run_unit build/release unit
    if [ "$asan_ok" = 1 ]; then
        asan_env
        run_unit build/asan asan-unit
        unset UBSAN_OPTIONS ASAN_OPTIONS
    fi
    if [ -f tests/fuzz/run.sh ]; then
        # Every target for 5 s (about 8 s with its build, a minute in all): a smoke test that
        # the harnesses build and the seeds pass; `make fuzz` / `make fuzz-long` search.
        for target in $(bash tests/fuzz/run.sh --list); do
            run_step "fuzz $target (5s)" "fuzz-$target" 300 bash tests/fuzz/run.sh 5 "$target"
        done
    fi
    if [ "$release_ok" = 1 ]; then
        run_step check-reference check-reference 300 make check-reference
        integration_env
        run_integration 0 ""
    else
        echo "skipping check-reference and integration tests: the release build failed"
    fi
    if [ "$asan_ok" = 1 ] && [ "$release_ok" = 1 ]; then
        asan_env
        integration_env "$REPO_ROOT/build/asan/bin/tsrelay"
        run_integration 1 asan
    fi
    ;;
*)
    usage
    ;;
esac

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
