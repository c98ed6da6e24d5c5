#!/usr/bin/env bash
# timeout: 300
# asan: no (23 s under ASan; relay/deliver/park.c runs under ASan in test_park and its fuzz
# target, and make test must stay under 25 minutes)
# Points a cluster refuses for their database or retention policy alone never hold
# back anyone else's. 10,000 points of database good, 200 with rp=nope and 300 of a
# database InfluxDB does not have (create_database off), interleaved in the same
# series and so the same partitions: every good point reaches InfluxDB while the
# cluster stays ready with normal lag; the refused ones are parked and shown with their
# reason in /status, /metrics and tsrelayctl status, and stay parked across a relay
# restart. CREATE RETENTION POLICY on InfluxDB: the scheduled retry delivers the 200;
# CREATE DATABASE through the relay's /query while InfluxDB is out of reach: answered
# at once, it runs on InfluxDB when it is back, its log names the database, and the 300
# arrive. Counted at InfluxDB (count and sum of values) and at a
# proxy in front of it (lines accepted per database: none twice), and at a
# VictoriaMetrics without deduplication that took everything at once.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
export VM_FLAGS=-dedup.minScrapeInterval=0s
. "$(dirname "$0")/../lib/forward.sh"

start_kafka
start_influxdb
start_victoriametrics
influx_query good 'CREATE DATABASE good' >/dev/null
start_faultproxy "$INFLUX_URL"
accepted() { proxy_stat accepted "$1"; }

relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$PROXY_URL]
    # Back from down, the relay resends the last 10 s by default (a TSDB killed hard
    # loses acknowledged writes): off, so that the proxy's counts show every resend.
    recovery_rewind_ms: 0
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
start_relay
wait_cluster_ready influx 30 || fail "influx not in sync at start: $(cluster_field influx reason)"
wait_cluster_ready vm 30 || fail "vm not in sync at start"

# parked: "DB/RP:POINTS:REASON" per parked key of cluster influx, sorted
parked() {
    curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" | python3 -c "
import json, sys
c = next(c for c in json.load(sys.stdin)['clusters'] if c['name'] == 'influx')
print(' '.join(sorted('%s/%s:%d:%s' % (k['db'], k['rp'], k['points'], k['reason'].replace(' ', '_'))
                      for k in c['parked'])))"
}

# good i in 0..9999, nope 100000.., other 200000..: lpsend's lines (tests/tools/lpsend.py),
# the same 707 series in every database, so each partition holds all three.
python3 - "$RELAY_HTTP_PORT" >"$TSR_TMP/send.log" 2>&1 <<'PY' &
import http.client, sys, time
T0, STEP = 1_700_000_000_000_000_000, 1_000_000
def line(i):
    return f'm{i % 7},dc=d{i % 3},host=h{i % 101} fi={i}i,ff={i}.5,fs="s{i}" {T0 + i * STEP}\n'
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
def post(path, lo, hi):
    c.request("POST", path, "".join(line(i) for i in range(lo, hi)).encode())
    r = c.getresponse()
    r.read()
    assert r.status == 204, (path, r.status)
for r in range(40):
    post("/write?db=good", r * 250, r * 250 + 250)
    post("/write?db=good&rp=nope", 100000 + r * 5, 100000 + r * 5 + 5)
    if r % 4 == 0:
        post("/write?db=other", 200000 + r // 4 * 30, 200000 + r // 4 * 30 + 30)
    time.sleep(0.15)
print("sent")
PY
watch_cluster influx $! || fail "sending failed: $(cat "$TSR_TMP/send.log")"
log "influx while points were parked: max lag ${MAX_LAG}s, not-ready samples $NOT_READY"
assert_eq "$NOT_READY" 0 "samples where influx was not ready"
awk -v l="$MAX_LAG" 'BEGIN { exit !(l < 2) }' || fail "influx lag reached ${MAX_LAG}s"
wait_counts influx "$(expected_counts 10000)" 30 good
counts_influx good --sample 0 --sample 4321 --sample 9999 >/dev/null || fail "good sampled values differ"
wait_cluster_ready influx 10 || fail "influx not in sync: $(cluster_field influx reason)"

want_vm_good="10200 10200 $((49995000 + 200 * 100000 + 199 * 100))"
want_vm_other="300 300 $((300 * 200000 + 299 * 150))"
for ((i = 0; i < 60; i++)); do
    vm_good=$(counts_vm_raw_db good)
    vm_other=$(counts_vm_raw_db other)
    [ "$vm_good" = "$want_vm_good" ] && [ "$vm_other" = "$want_vm_other" ] && break
    sleep 0.5
done
assert_eq "$vm_good" "$want_vm_good" "vm (raw count sum) of good, nope included"
assert_eq "$vm_other" "$want_vm_other" "vm (raw count sum) of other"

p=$(parked)
log "parked: $p"
[[ $p =~ ^good/nope:200:.*retention_policy_not_found.*\ other/:300:.*database_not_found ]] ||
    fail "parked keys: $p"
assert_eq "$(relay_metric 'tsrelay_cluster_parked_keys{cluster="influx"}')" 2 "parked keys metric"
assert_eq "$(relay_metric 'tsrelay_cluster_points_parked_total{cluster="influx"}')" 500 "points parked"
assert_eq "$(relay_metric 'tsrelay_cluster_parked_keys{cluster="vm"}')" 0 "vm parks nothing"
ctl status >"$TSR_TMP/ctl-status" || fail "tsrelayctl status failed"
grep -q "^influx *good/nope *200 .*retention policy not found" "$TSR_TMP/ctl-status" ||
    fail "tsrelayctl status does not show good/nope parked: $(cat "$TSR_TMP/ctl-status")"
grep -q "^influx *other/ *300 .*database not found" "$TSR_TMP/ctl-status" ||
    fail "tsrelayctl status does not show other parked"

# The lanes went past the parked points and committed; the parked keys go with the
# commit, so a restarted relay parks them again at the same place.
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
start_relay
for ((i = 0; i < 40; i++)); do
    [[ $(parked) =~ ^good/nope:.*\ other/: ]] && break
    sleep 0.25
done
[[ $(parked) =~ ^good/nope:.*\ other/: ]] || fail "parked keys after a restart: $(parked)"
wait_cluster_ready influx 30 || fail "influx not in sync after restart: $(cluster_field influx reason)"
assert_eq "$(accepted good/)" 10000 "good lines InfluxDB accepted (restart resent none)"
assert_eq "$(accepted good/nope)" 0 "nope lines accepted before the policy exists"

log "CREATE RETENTION POLICY nope on InfluxDB itself: the scheduled retry finds it"
influx_query good 'CREATE RETENTION POLICY nope ON good DURATION 1000w REPLICATION 1' >/dev/null
t0=$(date +%s)
for ((i = 0; i < 90; i++)); do
    [ "$(counts_influx good --rp nope)" = "200 $((200 * 100000 + 199 * 100))" ] && break
    sleep 0.5
done
assert_eq "$(counts_influx good --rp nope)" "200 $((200 * 100000 + 199 * 100))" "good.nope (count sum)"
log "the 200 arrived $(($(date +%s) - t0))s after the policy was created"
# (points: what this relay's lanes skipped since it started; none since the restart)
for ((i = 0; i < 20; i++)); do
    [[ $(parked) =~ ^other/:0: ]] && break
    sleep 0.25
done
[[ $(parked) =~ ^other/:0:.*database_not_found ]] || fail "parked after the drain: $(parked)"
assert_eq "$(accepted good/nope)" 200 "nope lines InfluxDB accepted"

# InfluxDB out of reach (the proxy refuses connections) while the statement comes: it is
# durable and answered at once, and runs when the cluster is back.
proxy_mode '{"mode":"refuse"}'
for ((i = 0; i < 100; i++)); do
    [ "$(cluster_field influx state)" = down ] && break
    sleep 0.1
done
assert_eq "$(cluster_field influx state)" down "influx state behind a refusing proxy"
log "CREATE DATABASE other through the relay, influx down"
answer=$(curl -s -w ' %{http_code}' -XPOST "http://127.0.0.1:$RELAY_HTTP_PORT/query" \
    --data-urlencode 'q=CREATE DATABASE "other"' | tr -d '\n')
assert_eq "$answer" '{"results":[{"statement_id":0}]} 200' "the answer to CREATE DATABASE"
sleep 1
influx_query other 'SHOW DATABASES' | grep -q '"other"' && fail "database other created while influx was out of reach"
proxy_mode '{"mode":"pass"}'
for ((i = 0; i < 60; i++)); do
    [ "$(counts_influx other)" = "300 $((300 * 200000 + 299 * 150))" ] && break
    sleep 0.5
done
assert_eq "$(counts_influx other)" "300 $((300 * 200000 + 299 * 150))" "other (count sum)"
grep -q "cluster 'influx': created database 'other'" "$RELAY_LOG" || fail "no log line names the database created"
for ((i = 0; i < 20; i++)); do
    [ -z "$(parked)" ] && break
    sleep 0.25
done
assert_eq "$(parked)" "" "parked keys at the end"
assert_eq "$(accepted other/)" 300 "other lines InfluxDB accepted"
assert_eq "$(accepted good/)" 10000 "good lines InfluxDB accepted"
# One relay parked 500 before the restart; the new one counted what it delivered.
assert_eq "$(relay_metric 'tsrelay_cluster_points_unparked_total{cluster="influx"}')" 500 "points unparked"
assert_eq "$(relay_metric 'tsrelay_cluster_parked_keys{cluster="influx"}')" 0 "parked keys metric at the end"
assert_eq "$(counts_vm_raw_db good)" "$want_vm_good" "vm good at the end (nothing twice)"
assert_eq "$(counts_vm_raw_db other)" "$want_vm_other" "vm other at the end"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
