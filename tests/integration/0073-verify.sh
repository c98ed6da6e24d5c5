#!/usr/bin/env bash
# timeout: 400
# tsrelayctl verify [--repair]: 200,000 points over 20 minutes of point time reach
# InfluxDB and VictoriaMetrics; two 1-minute windows are deleted from InfluxDB
# (DELETE WHERE time ...) and one series from VictoriaMetrics (delete_series). verify
# names exactly those windows with exactly the values missing (3 fields a point), the
# others equal, exit 1; --repair
# replays exactly those windows by point time and a second verify exits 0 for both.
# The periodic verify (verify_interval_ms on influx): 48,000 points of the last minutes
# verify equal; a minute deleted from InfluxDB shows at the next runs as that window,
# missing exactly its values, in the metric and in the ledger once; a repair makes the
# next run equal again. Every result, tsrelayctl's among them, is in GET /verifies.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

N=200000
STEP_NS=6000000 # 200,000 points over 20 minutes
T0_MS=1700000000000
start_two_clusters "    verify_interval_ms: 2s
    verify_lookback_ms: 30m
    verify_window_ms: 1m
    verify_delay_ms: 0"
python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns "$STEP_NS" --batch 5000 \
    --lines "$N" >/dev/null || fail "writes not acknowledged"
for c in influx vm; do wait_counts "$c" "$(expected_counts "$N")" 120; done

CTL=$(dirname "$TSRELAY_BIN")/tsrelayctl
verify() { "$CTL" -a "127.0.0.1:$RELAY_ADMIN_PORT" --json verify -c "$TSR_TMP/relay.yaml" \
    --since "$(rfc3339 $T0_MS)" --until "$(rfc3339 $((T0_MS + 1200000)))" --window 1m "$@"; }

rc=0
verify --cluster influx >"$TSR_TMP/v0.json" || rc=$?
assert_eq "$rc" 0 "verify of an intact influx"

log "deleting minutes 3 and 10 from influx, series m3_fi{host=h5} from vm"
for m in 3 10; do
    influx_query tsrtest "DELETE WHERE time >= '$(rfc3339 $((T0_MS + m * 60000)))' AND time < '$(rfc3339 $((T0_MS + (m + 1) * 60000)))'" >/dev/null
done
curl -sf -o /dev/null "$VM_URL/api/v1/admin/tsdb/delete_series" --data-urlencode 'match[]=m3_fi{host="h5"}' ||
    fail "delete_series"

# expect CLUSTER: the missing values per window, computed from lpsend's lines
expect()
{
    python3 - "$1" "$N" "$STEP_NS" <<'PY'
import sys
cluster, n, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
miss = [0] * 20
for i in range(n):
    w = i * step // 60_000_000_000
    if cluster == "influx" and w in (3, 10):
        miss[w] += 3
    if cluster == "vm" and i % 7 == 3 and i % 101 == 5:
        miss[w] += 1
print(" ".join(map(str, miss)))
PY
}
# missing FILE: the missing values per window verify reported
missing() { python3 -c 'import json,sys; print(" ".join(str(w["missing"]) for w in json.load(open(sys.argv[1]))["windows"]))' "$1"; }
extra() { python3 -c 'import json,sys; print(sum(w["extra"] for w in json.load(open(sys.argv[1]))["windows"]))' "$1"; }

for c in influx vm; do
    rc=0
    verify --cluster "$c" >"$TSR_TMP/v-$c.json" || rc=$?
    assert_eq "$rc" 1 "verify of $c after the deletions"
    assert_eq "$(missing "$TSR_TMP/v-$c.json")" "$(expect "$c")" "$c: missing values per window"
    assert_eq "$(extra "$TSR_TMP/v-$c.json")" 0 "$c: extra values"
done
"$CTL" verify -c "$TSR_TMP/relay.yaml" --cluster influx --since "$(rfc3339 $T0_MS)" \
    --until "$(rfc3339 $((T0_MS + 1200000)))" --window 1m >"$TSR_TMP/v-text.out" 2>&1 || true
cat "$TSR_TMP/v-text.out" >&2
grep -q "^2023-11-14T22:16:20.* missing 30,000$" "$TSR_TMP/v-text.out" || fail "the text report names minute 3"
grep -q "^verify: 100% of [0-9,]* records of kafka read ([0-9,]*) ETA " "$TSR_TMP/v-text.out" ||
    fail "no progress line on stderr"
grep -q "^cluster 'influx': 2 of 20 windows of .* differ; 600,000 values in kafka, 540,000 in the cluster$" "$TSR_TMP/v-text.out" ||
    fail "the text summary"

log "--repair"
for c in influx vm; do
    rc=0
    verify --cluster "$c" --repair >"$TSR_TMP/r-$c.json" || rc=$?
    assert_eq "$rc" 0 "verify --repair of $c"
    rc=0
    verify --cluster "$c" >"$TSR_TMP/v2-$c.json" || rc=$?
    assert_eq "$rc" 0 "verify of $c after the repair"
done
wait_counts influx "$(expected_counts "$N")" 30
ctl --json replay list | python3 -c "
import json, sys
jobs = [j for j in json.load(sys.stdin)['replays'] if j['started_by'] == 'tsrelayctl verify --repair']
got = sorted((j['cluster'], j['points_since_ms'] - $T0_MS, j['points_until_ms'] - $T0_MS) for j in jobs)
# influx: exactly the two minutes; vm: the deleted series has points in every minute,
# so one replay of the whole range
assert [g for g in got if g[0] == 'influx'] == [('influx', 180000, 240000), ('influx', 600000, 660000)], got
assert [g for g in got if g[0] == 'vm'] == [('vm', 0, 1200000)], got
assert all(j['state'] == 'done' for j in jobs), jobs
print('repair jobs:', got)" >&2 || fail "the repair's replays"

log "the periodic verify"
influx_query recent 'CREATE DATABASE recent' >/dev/null
BASE=$((($(date +%s) - 9 * 60) / 60 * 60 * 1000)) # a minute boundary, 9-10 minutes ago
python3 - "$RELAY_HTTP_PORT" "$BASE" <<'PY' || fail "recent points not acknowledged"
import sys, urllib.request
port, base = int(sys.argv[1]), int(sys.argv[2])
for b in range(0, 48000, 6000):  # a point every 10 ms for 8 minutes
    body = "".join(f"rv,host=h{i % 10} v={i} {base + i * 10}\n" for i in range(b, b + 6000))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/write?db=recent&precision=ms", body.encode())
    assert urllib.request.urlopen(req, timeout=30).status == 204
PY
# newest_verify JQ_FILTER T: wait T s for influx's newest verify result to pass the filter
newest_verify()
{
    local i
    for ((i = 0; i < $2 * 2; i++)); do
        admin_get /status | jq -e ".clusters[] | select(.name==\"influx\") | .verify | $1" >/dev/null && return 0
        sleep 0.5
    done
    admin_get /status | jq -c '.clusters[] | select(.name=="influx") | .verify' >&2
    return 1
}
newest_verify '.report.kafka == 48000 and .report.equal' 30 || fail "no periodic verify saw the recent points equal"
ledger_verify() { admin_get /status | jq -c '[.clusters[] | select(.name=="influx") | .ledger[] | select(.kind=="verify")]'; }
before=$(ledger_verify | jq length)
log "deleting minute 2 of the recent points from influx"
influx_query recent "DELETE WHERE time >= '$(rfc3339 $((BASE + 120000)))' AND time < '$(rfc3339 $((BASE + 180000)))'" >/dev/null
newest_verify ".report.differ == 1 and .report.missing == 6000 and .report.extra == 0 and .report.windows[0].start_ms == $((BASE + 120000)) and .started_by == \"tsrelay: periodic verify\"" 30 ||
    fail "the periodic verify did not name minute 2 with its 6,000 values"
assert_eq "$(relay_metric 'tsrelay_verify_windows_differ{cluster="influx"}')" 1 "the metric of windows that differ"
assert_eq "$(relay_metric 'tsrelay_verify_missing_values{cluster="influx"}')" 6000 "the metric of missing values"
id=$(admin_get /status | jq '.clusters[] | select(.name=="influx") | .verify.id')
newest_verify ".id >= $((id + 2))" 30 || fail "no more periodic runs"
entries=$(ledger_verify)
log "ledger entries of the periodic verify: $entries"
assert_eq "$(jq length <<<"$entries")" $((before + 1)) "ledger entries: one for the divergence, at whichever run saw it first"
assert_eq "$(jq -c ".[-1] | [.from_ms - $BASE, .to_ms - $BASE]" <<<"$entries")" "[120000,180000]" "the ledger entry's window"
jq -e '.[-1].reason | test("6000 values missing, 0 extra")' <<<"$entries" >/dev/null || fail "the ledger entry's reason"
rc=0
"$CTL" -a "127.0.0.1:$RELAY_ADMIN_PORT" verify -c "$TSR_TMP/relay.yaml" --cluster influx --db recent \
    --since "$(rfc3339 "$BASE")" --until "$(rfc3339 $((BASE + 480000)))" --window 1m --repair >&2 || rc=$?
assert_eq "$rc" 0 "tsrelayctl verify --repair of the recent points"
newest_verify '.report.equal and .report.kafka == 48000 and .started_by == "tsrelay: periodic verify"' 30 ||
    fail "the periodic verify did not see the repair"
assert_eq "$(relay_metric 'tsrelay_verify_windows_differ{cluster="influx"}')" 0 "the metric after the repair"
admin_get /verifies | jq -e '[.verifies[] | select(.started_by == "tsrelayctl verify --repair" and .report.cluster == "influx" and .report.equal)] | length >= 1' >/dev/null ||
    fail "tsrelayctl's result is not in GET /verifies"
admin_get /verifies | jq -e '[.verifies[] | select(.started_by == "tsrelayctl verify" and .report.differ == 2)] | length == 1' >/dev/null ||
    fail "the result of the first tsrelayctl verify of influx is not in GET /verifies"

rc=0
"$CTL" verify -c "$TSR_TMP/relay.yaml" --cluster nosuch --since -1h >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "an unknown cluster"
rc=0
"$CTL" verify -c "$TSR_TMP/relay.yaml" --cluster influx --since -1h --window 5x >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "a bad --window"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
