#!/usr/bin/env bash
# timeout: 240
# The admin listener with admin.tokens: /health and /ready stay open; everything else
# needs a Bearer token (401 without, or with an unknown one); a read token shows status,
# metrics and replays but may not start, pause or cancel one (403); an operate token
# may, and the replay's audit trail names the token, not what the client claimed. A
# replay started with a token delivers every point (counted at VictoriaMetrics). The
# status page, rendered in headless Chromium, asks for a token. No answer and no log
# line holds a configured secret, nor the password in a cluster's URL.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/chromium.sh"

start_kafka
start_victoriametrics
OP=op-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
RD=rd-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$OP" >"$TSR_TMP/op.token"
printf '%s\n' "$RD" >"$TSR_TMP/rd.token"
export TSR_TEST_READ_TOKEN=$RD
# Credentials in the cluster's URL (VictoriaMetrics ignores them): never shown.
VM_AUTH_URL="http://relay:pa55-$OP@${VM_URL#http://}"
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_AUTH_URL]
admin:
  tokens:
    - {name: oncall, role: operate, token_file: $TSR_TMP/op.token}
    - {name: grafana, role: read, token_env: TSR_TEST_READ_TOKEN}"
start_relay
admin=http://127.0.0.1:$RELAY_ADMIN_PORT
ADMIN_TOKEN=$RD # for the harness's own reads (cluster_ready, relay_metric)
wait_cluster_ready vm 30 || fail "vm not in sync at start"

# code [CURL ARGS...] URL: the HTTP status; the body goes to $TSR_TMP/body (and is kept
# in $TSR_TMP/answers for the secrets check).
code() {
    curl -s -o "$TSR_TMP/body" -D "$TSR_TMP/headers" -w '%{http_code}' "$@"
    cat "$TSR_TMP/body" "$TSR_TMP/headers" >>"$TSR_TMP/answers"
}
op=(-H "Authorization: Bearer $OP")
rd=(-H "Authorization: Bearer $RD")

assert_eq "$(code "$admin/health")" 200 "/health without a token"
assert_eq "$(code "$admin/ready")" 200 "/ready without a token"
assert_eq "$(code "$admin/")" 200 "the status page's HTML without a token"
for p in status metrics replays clusters/vm/ready; do
    assert_eq "$(code "$admin/$p")" 401 "/$p without a token"
    grep -qi '^www-authenticate: Bearer' "$TSR_TMP/headers" || fail "/$p: 401 without WWW-Authenticate"
    assert_eq "$(code -H "Authorization: Bearer $OP-x" "$admin/$p")" 401 "/$p with an unknown token"
    assert_eq "$(code "${rd[@]}" "$admin/$p")" 200 "/$p with the read token"
    assert_eq "$(code "${op[@]}" "$admin/$p")" 200 "/$p with the operate token"
done
grep -q '"error":"unknown admin token"' <(code -H "Authorization: Bearer nope" "$admin/status"; cat "$TSR_TMP/body") ||
    fail "401 body: $(cat "$TSR_TMP/body")"

python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns 1000000 --lines 3000 >/dev/null ||
    fail "points not acknowledged"
wait_counts vm "$(expected_counts 3000)" 30

start='{"cluster":"vm","since_ms":0,"started_by":"mallory"}'
assert_eq "$(code "${rd[@]}" -X POST -H 'Content-Type: application/json' -d "$start" "$admin/replays")" 403 \
    "starting a replay with the read token"
grep -q 'role operate' "$TSR_TMP/body" || fail "403 body: $(cat "$TSR_TMP/body")"
assert_eq "$(code -X POST -H 'Content-Type: application/json' -d "$start" "$admin/replays")" 401 \
    "starting a replay without a token, from loopback"
assert_eq "$(code "${op[@]}" -X POST -H 'Content-Type: application/json' -d "$start" "$admin/replays")" 201 \
    "starting a replay with the operate token"
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TSR_TMP/body")
for ((i = 0; i < 300; i++)); do
    code "${rd[@]}" "$admin/replays/$id" >/dev/null
    state=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["state"])' "$TSR_TMP/body")
    [ "$state" = done ] && break
    sleep 0.1
done
python3 - "$TSR_TMP/body" <<'PY' || fail "the replay: $(cat "$TSR_TMP/body")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["state"] == "done", j
assert j["started_by"] == "oncall", ("started_by", j["started_by"])
assert j["points_sent"] == 3000, ("points_sent", j["points_sent"])
PY
log "replay $id done with the operate token, started_by oncall"
assert_eq "$(code "${rd[@]}" -X POST "$admin/replays/$id/cancel")" 403 "cancelling with the read token"
wait_counts vm "$(expected_counts 3000)" 30

log "the status page asks for a token"
chromium_run --dump-dom "$admin/" >"$TSR_TMP/dom.html" || fail "chromium --dump-dom failed"
grep -q 'id="token-form"' "$TSR_TMP/dom.html" || fail "the status page shows no token form"
grep -q 'needs an admin token' "$TSR_TMP/dom.html" || fail "the status page does not say it needs a token"

# tsrelayctl with the tokens (TSRELAY_TOKEN, --token-file) against the real relay.
TSRELAY_TOKEN=$RD ctl status >"$TSR_TMP/ctl.out" 2>&1 || fail "tsrelayctl status with the read token: $(cat "$TSR_TMP/ctl.out")"
grep -q '^vm ' "$TSR_TMP/ctl.out" || fail "tsrelayctl status shows no cluster vm"
ctl status >"$TSR_TMP/ctl.out" 2>&1 && fail "tsrelayctl status without a token succeeded"
grep -q '401' "$TSR_TMP/ctl.out" || fail "tsrelayctl without a token: $(cat "$TSR_TMP/ctl.out")"
ctl --token-file "$TSR_TMP/op.token" replay start --cluster vm --since "$(rfc3339 0)" --dry-run --wait \
    >"$TSR_TMP/ctl.out" 2>&1 || fail "tsrelayctl replay start with the operate token: $(cat "$TSR_TMP/ctl.out")"
TSRELAY_TOKEN=$RD ctl replay start --cluster vm --since "$(rfc3339 0)" --dry-run >"$TSR_TMP/ctl.out" 2>&1 &&
    fail "tsrelayctl replay start with the read token succeeded"
grep -q '403' "$TSR_TMP/ctl.out" || fail "tsrelayctl with the read token: $(cat "$TSR_TMP/ctl.out")"
cat "$TSR_TMP/ctl.out" >>"$TSR_TMP/answers"

grep -q "\"url\":\"$VM_URL\"" <(code "${rd[@]}" "$admin/status"; cat "$TSR_TMP/body") ||
    fail "/status does not show vm's URL without its credentials"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
grep -q "admin: 2 tokens configured" "$RELAY_LOG" || fail "no start-up line about the admin tokens"
for s in "$OP" "$RD" "pa55-"; do
    if grep -qF "$s" "$TSR_TMP/answers" "$RELAY_LOG" "$TSR_TMP/dom.html"; then
        fail "a configured token appears in an answer, the page or the log"
    fi
done
