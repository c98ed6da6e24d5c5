#!/usr/bin/env bash
# timeout: 400
# tsrelayctl verify [--repair]: 200,000 points over 20 minutes of point time reach
# InfluxDB and VictoriaMetrics; two 1-minute windows are deleted from InfluxDB
# (DELETE WHERE time ...) and one series from VictoriaMetrics (delete_series). verify
# names exactly those windows with exactly the values missing (3 fields a point), the
# others equal, exit 1; --repair
# replays exactly those windows by point time and a second verify exits 0 for both.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

N=200000
STEP_NS=6000000 # 200,000 points over 20 minutes
T0_MS=1700000000000
start_two_clusters
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

rc=0
"$CTL" verify -c "$TSR_TMP/relay.yaml" --cluster nosuch --since -1h >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "an unknown cluster"
rc=0
"$CTL" verify -c "$TSR_TMP/relay.yaml" --cluster influx --since -1h --window 5x >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 2 "a bad --window"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
