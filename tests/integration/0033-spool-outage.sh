#!/usr/bin/env bash
# timeout: 600
# asan: no (47 s under ASan; the spool runs under ASan in 0041 and test_spool, and make test
# must stay under 25 minutes)
# The single broker stopped for 15 s while a client writes about 2,000 points/s: every
# request is answered 204 (from the spool, once Kafka is gone); /status, /metrics and
# tsrelayctl show the spool. Broker back: the spool drains into Kafka, and every
# acknowledged point reaches both clusters (InfluxDB and a VictoriaMetrics without
# deduplication, counted and summed), in per-series order: in Kafka each series' values
# only grow, and a point overwritten at the same timestamp by every request holds the
# last acknowledged value in InfluxDB.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
# No deduplication: a point delivered twice shows as two samples.
export VM_FLAGS=-dedup.minScrapeInterval=0s

STEP=1000000
RELAY_MESSAGE_TIMEOUT_MS=5000 start_two_clusters
wait_cluster_ready influx 30 || fail "influx not in sync at start"
wait_cluster_ready vm 30 || fail "vm not in sync at start"

# The writer: requests of 400 lines, then one point of series ovr that every request
# overwrites (same timestamp) with its own number, in a request of its own.
writer()
{
    local i=0 start=0 st
    while [ ! -e "$TSR_TMP/stop" ]; do
        st=$(python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP \
            --start $start --lines 400 --batch 400 --acked "$TSR_TMP/acked.lp" --tolerate-errors)
        echo "$st" >>"$TSR_TMP/statuses"
        st=$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 \
            --data-binary "ovr,k=a v=${i}i 1700000000000000000" \
            "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=tsrtest")
        echo "ovr $i $st" >>"$TSR_TMP/ovr"
        start=$((start + 400))
        i=$((i + 1))
        sleep 0.05
    done
}
writer &
writer_pid=$!
sleep 4
grep -q '204=1' "$TSR_TMP/statuses" || fail "no write acknowledged before the outage"

log "stopping kafka for 15 s"
stop_kafka
mark=$(wc -l <"$TSR_TMP/statuses")
sleep 10
spool_records=$(relay_metric tsrelay_spool_records)
state=$(admin_get /status | python3 -c 'import json,sys; print(json.load(sys.stdin)["spool"]["state"])')
log "10 s into the outage: spool state $state, $spool_records records"
assert_eq "$state" spooling "spool state while kafka is down"
[ "$spool_records" -gt 0 ] || fail "nothing in the spool while kafka is down"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/ready")" 200 \
    "/ready while kafka is down and the spool takes writes"
ctl status >"$TSR_TMP/ctl.out" || fail "tsrelayctl status failed"
grep -q 'spool' "$TSR_TMP/ctl.out" || fail "tsrelayctl status does not show the spool: $(cat "$TSR_TMP/ctl.out")"
sleep 5
during=$(tail -n +"$((mark + 1))" "$TSR_TMP/statuses")
n_during=$(grep -c . <<<"$during" || true)
log "during the outage: $n_during requests of 400 lines: $(sort <<<"$during" | uniq -c | tr -s ' \n' ' ')"
[ "$n_during" -ge 25 ] || fail "the client was not writing during the outage"
grep -qv '^204=1$' <<<"$during" && fail "a request during the outage was not answered 204"

log "starting kafka again"
start_kafka
for ((i = 0; i < 600; i++)); do
    [ "$(relay_metric tsrelay_spool_records)" = 0 ] && break
    sleep 0.1
done
[ "$i" -lt 600 ] || fail "the spool did not drain within 60 s of kafka's return"
log "spool drained $((i * 100)) ms after kafka was back; drained $(relay_metric tsrelay_spool_drained_records_total) records"
wait_relay_log "spool drained into kafka" 10 || fail "no log line for the end of the drain"
sleep 3
touch "$TSR_TMP/stop"
wait "$writer_pid"

grep -qv '204=1' "$TSR_TMP/statuses" && fail "some requests were not answered 204: $(sort "$TSR_TMP/statuses" | uniq -c)"
grep -qv ' 204$' "$TSR_TMP/ovr" && fail "some overwrites were not answered 204: $(grep -v ' 204$' "$TSR_TMP/ovr" | head -3)"
n=$(wc -l <"$TSR_TMP/acked.lp")
last=$(tail -n 1 "$TSR_TMP/ovr" | cut -d' ' -f2)
log "acknowledged: $n lines, $((last + 1)) overwrites"

# In Kafka, partition by partition in offset order: a series' fi values only grow.
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" >"$TSR_TMP/topic.lp"
python3 - "$TSR_TMP/topic.lp" <<'EOF' || fail "a series is out of order in kafka"
import re, sys
last, bad, n = {}, 0, 0
for l in open(sys.argv[1]):
    if l.startswith("ovr,"):
        key, v = "ovr", int(re.search(r" v=(\d+)i", l).group(1))
    else:
        m = re.match(r"(\S+) fi=(\d+)i", l)
        if not m:
            continue
        key, v = m.group(1), int(m.group(2))
    n += 1
    if v < last.get(key, -1):
        bad += 1
        if bad <= 3:
            print(f"{key}: {v} after {last[key]}", file=sys.stderr)
    last[key] = max(v, last.get(key, -1))
print(f"kafka: {n} lines, {bad} out of order", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
LC_ALL=C sort -u "$TSR_TMP/acked.lp" >"$TSR_TMP/want"
grep -v '^ovr,' "$TSR_TMP/topic.lp" | LC_ALL=C sort -u >"$TSR_TMP/got"
assert_eq "$(comm -23 "$TSR_TMP/want" "$TSR_TMP/got" | wc -l)" 0 "acknowledged lines missing from kafka"

# Every acknowledged point in both clusters: the writer's lines are 0..n-1.
want="$n $((n * (n - 1) / 2))"
wait_counts influx "$want" 120
wait_counts vm "$want" 120
raw=$(counts_vm_raw_db tsrtest | cut -d' ' -f1)
log "victoriametrics: $raw samples stored for $n points"
assert_eq "$raw" "$n" "samples in victoriametrics (more: a point delivered twice)"
got=$(influx_query tsrtest 'SELECT last(v) FROM ovr' | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')
assert_eq "$got" "$last" "the overwritten point in influx (the last acknowledged write wins)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
