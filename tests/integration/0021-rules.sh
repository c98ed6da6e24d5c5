#!/usr/bin/env bash
# timeout: 400
# asan: yes
# Rules: at ingest, drop a measurement, drop hosts by a regular expression, rename a tag;
# cluster influx takes database a only, cluster vm drops a field. 100,000 mixed points
# over databases a and b (tests/tools/shape_check.py): InfluxDB and VictoriaMetrics hold
# exactly the points, series, tags and sums the check computes from the points without
# the relay's code. Then influx's databases are emptied and a replay restores them: the
# replay applies the same route (nothing of database b). --test-input says the same of
# sample lines; a config with a bad rule is refused by --check-config, naming it.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
export VM_FLAGS=-dedup.minScrapeInterval=0s # a point sent twice would show

LINES=100000
start_kafka
start_influxdb
start_victoriametrics
for db in a b; do influx_query $db "CREATE DATABASE $db" >/dev/null; done
relay_config "rules:
  - name: no-noise
    match: {measurement: noise}
    action: drop
  - name: no-test-hosts
    match:
      tags: {host: '/^test-\\d+\$/'}
    action: drop
  - name: host-is-node
    action: rename_tags
    tags: {host: node}
clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
    databases: [a]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    rules:
      - name: no-secrets
        action: drop_fields
        names: [secret]"

printf 'cpu,host=test-3,dc=d1 v=1i,secret=2i 1\ncpu,host=h3,dc=d1 v=1i,secret=2i 1\nnoise v=1 1\nmem,host=h1 v=2i 1\n' \
    >"$TSR_TMP/sample.lp"
"$TSRELAY_BIN" --check-config -c "$TSR_TMP/relay.yaml" --test-input "$TSR_TMP/sample.lp" --db b \
    >"$TSR_TMP/test-input.out" || fail "--test-input exited $?"
cat "$TSR_TMP/test-input.out" >&2
python3 - "$TSR_TMP/test-input.out" <<'PY' || fail "--test-input output"
import sys
out = open(sys.argv[1]).read()
blocks = out.split("\nline ")[1:]
assert "dropped at ingest: rule 'no-test-hosts': drop" in blocks[0], blocks[0]
b = blocks[1]
assert "rule 'host-is-node': rename_tags" in b and "-> cpu,dc=d1,node=h3 v=1i,secret=2i 1" in b, b
assert "cluster influx: not sent (database 'b' is not in its databases)" in b, b
assert "cluster vm: rule 'no-secrets': drop_fields\n    -> cpu,dc=d1,node=h3 v=1i 1" in b, b
assert "dropped at ingest: rule 'no-noise': drop" in blocks[2], blocks[2]
PY

start_relay
for c in influx vm; do
    wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions"
done
since=$(rfc3339 $(($(date +%s%3N) - 2000)))
log "sending $LINES mixed points"
python3 "$REPO_ROOT/tests/tools/shape_check.py" send --port "$RELAY_HTTP_PORT" --lines $LINES ||
    fail "writes not acknowledged"
check() { vm_flush; python3 "$REPO_ROOT/tests/tools/shape_check.py" check --influx "$INFLUX_URL" --vm "$VM_URL" --lines $LINES "$@"; }
for ((i = 0; i < 60; i++)); do
    check >"$TSR_TMP/check.out" 2>&1 && break
    sleep 1
done
cat "$TSR_TMP/check.out" >&2
check >/dev/null || fail "the TSDBs do not hold what the rules leave"
dropped=$(relay_metric tsrelay_rules_points_dropped_total)
want=$(python3 -c "
n=$LINES
print(sum(1 for i in range(n) if (i//3)%3 == 2 or i%10 == 0))")
assert_eq "$dropped" "$want" "points dropped by the ingest rules"
admin_get /status | python3 -c 'import json,sys; s=json.load(sys.stdin)["shaping"]; assert s["rules"] == 3, s; print(s)' >&2 ||
    fail "/status shaping"

log "emptying influx's databases, then a replay"
for db in a b; do
    influx_query $db "DROP DATABASE $db" >/dev/null
    influx_query $db "CREATE DATABASE $db" >/dev/null
done
ctl replay start --cluster influx --since "$since" --wait >"$TSR_TMP/replay.out" 2>&1 ||
    { cat "$TSR_TMP/replay.out" >&2; fail "replay did not complete"; }
for ((i = 0; i < 60; i++)); do
    check --influx-only >"$TSR_TMP/check.out" 2>&1 && break
    sleep 1
done
cat "$TSR_TMP/check.out" >&2
check >/dev/null || fail "after the replay the TSDBs do not hold what the rules leave"

log "a bad rule is refused, naming it"
sed 's|/^test-\\d+\$/|/^test-(\\d+\$/|' "$TSR_TMP/relay.yaml" >"$TSR_TMP/bad.yaml"
rc=0
"$TSRELAY_BIN" --check-config -c "$TSR_TMP/bad.yaml" 2>"$TSR_TMP/bad.err" || rc=$?
assert_eq "$rc" 2 "--check-config exit code for a bad rule"
grep -q "rule 'no-test-hosts': match.tags.host: invalid regular expression" "$TSR_TMP/bad.err" ||
    fail "bad rule message: $(cat "$TSR_TMP/bad.err")"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
