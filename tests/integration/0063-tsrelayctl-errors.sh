#!/usr/bin/env bash
# timeout: 300
# tsrelayctl against a real relay: a time range with no data, an unknown cluster, an
# inverted range, and an admin endpoint that is down each give a clear message and a
# non-zero exit code; status, checkpoints and ledger print the clusters.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

start_vm_relay
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --lines 1000 >/dev/null
wait_cluster_ready vm 30 || fail "vm not in sync"

# expect_fail CODE REGEX ARGS...
expect_fail()
{
    local want=$1 re=$2 rc=0
    shift 2
    ctl "$@" >"$TSR_TMP/out" 2>&1 || rc=$?
    assert_eq "$rc" "$want" "exit code of tsrelayctl $*"
    grep -qiE "$re" "$TSR_TMP/out" || fail "tsrelayctl $*: message lacks /$re/: $(cat "$TSR_TMP/out")"
    log "ok: tsrelayctl $* -> $rc: $(head -n 1 "$TSR_TMP/out")"
}
expect_fail 1 "no data" replay start --cluster vm --since 2001-01-01T00:00:00Z --until 2001-01-02T00:00:00Z
expect_fail 1 "no such cluster 'nope'" replay start --cluster nope --since -1h
# An inverted range is a usage error, caught before asking the relay (exit 2); the
# relay refuses one too, for other clients.
expect_fail 2 "not after --since" replay start --cluster vm --since -1h --until -2h
code=$(curl -s -o "$TSR_TMP/inv" -w '%{http_code}' -X POST -d '{"cluster":"vm","since_ms":5000,"until_ms":1000}' \
    "http://127.0.0.1:$RELAY_ADMIN_PORT/replays")
assert_eq "$code" 400 "the relay's answer to an inverted range"
grep -q "inverted" "$TSR_TMP/inv" || fail "relay message: $(cat "$TSR_TMP/inv")"
expect_fail 2 "since" replay start --cluster vm --since yesterday-ish
expect_fail 1 "no replay job" replay show 99
ctl status >"$TSR_TMP/status" || fail "status"
grep -q "vm" "$TSR_TMP/status" && grep -q "in_sync" "$TSR_TMP/status" || fail "status: $(cat "$TSR_TMP/status")"
ctl checkpoints --cluster vm >/dev/null || fail "checkpoints"
ctl ledger --cluster vm >/dev/null || fail "ledger"
stop_relay
expect_fail 3 "cannot reach" status
expect_fail 3 "cannot reach" replay list
