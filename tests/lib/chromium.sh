# tests/lib/chromium.sh — the status page as a browser shows it (sourced after
# harness.sh): chromium_run ARGS... URL runs one headless Chromium with a fresh profile.

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "headless chromium not found at $CHROMIUM: run tools/setup.sh"

# chromium_run ARGS... URL: one headless Chromium run with a fresh profile, stdout to
# the caller, stderr (with the page's console) to $TSR_TMP/chromium.log. The page polls
# every 2 s, so it never goes idle: --virtual-time-budget lets its timers and fetches
# run for 5 s of virtual time (network waits pause virtual time) before the DOM or the
# screenshot is taken. A JavaScript exception on the page fails the test.
chromium_run()
{
    local profile rc=0
    profile=$(mktemp -d "$TSR_TMP/chromium-profile.XXXXXX")
    : >"$TSR_TMP/chromium-run.log"
    timeout -k 5 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --no-default-browser-check --disable-background-networking \
        --disable-component-update --disable-sync --disable-extensions \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=5000 "$@" \
        2>"$TSR_TMP/chromium-run.log" </dev/null || rc=$?
    cat "$TSR_TMP/chromium-run.log" >>"$TSR_TMP/chromium.log"
    if grep -a 'CONSOLE.*Uncaught' "$TSR_TMP/chromium-run.log" >&2; then
        fail "JavaScript error on the status page"
    fi
    return "$rc"
}

