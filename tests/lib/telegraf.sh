# tests/lib/telegraf.sh — the real Telegraf in an integration test (sourced after
# harness.sh).
#
#   telegraf_bin     print the Telegraf binary: $TELEGRAF_BIN, else the one
#                    tools/telegraf/build.sh (run by tools/setup.sh) put in the cache;
#                    fails the test, naming the fix, when there is none
#   start_telegraf CONF   run `telegraf --config CONF` in the background (log in
#                    $TSR_TMP/telegraf.log, tracked for cleanup); sets TELEGRAF_PID
#   stop_telegraf    SIGTERM (Telegraf flushes its outputs first) and wait
#
# Environment read: TELEGRAF_BIN, TSRELAY_CACHE ($HOME/.cache/tsrelay).

telegraf_bin()
{
    if [ -n "${TELEGRAF_BIN:-}" ]; then
        echo "$TELEGRAF_BIN"
        return
    fi
    local v bin
    v=$(sed -n 's/^version=//p' "$REPO_ROOT/tools/telegraf/build.sh")
    bin=${TSRELAY_CACHE:-$HOME/.cache/tsrelay}/telegraf-$v/telegraf
    [ -x "$bin" ] || fail "telegraf $v missing at $bin: run tools/setup.sh"
    echo "$bin"
}

start_telegraf()
{
    spawn telegraf "$(telegraf_bin)" --config "$1"
    TELEGRAF_PID=$SPAWN_PID
}

stop_telegraf()
{
    [ -n "${TELEGRAF_PID:-}" ] || return 0
    stop_pid "$TELEGRAF_PID" 20
    [ "$TSR_STOP_KILLED" = 0 ] || fail "telegraf did not stop within 20s of SIGTERM"
    TELEGRAF_PID=
}
