#!/usr/bin/env bash
# timeout: 420
# Fresh first (fresh_first_after_ms): two clusters, VictoriaMetrics (no deduplication, so
# a point sent twice shows) and InfluxDB, are down while a backlog goes into Kafka:
# 500,000 points for vm, 20,000 for influx. When they return with a live load running,
# the newest points are queryable before the backlog is through (catchup_rate holds
# back the backlog only), and the backlog fills in behind: exact counts and values, no
# point twice, across a SIGTERM and restart of the relay in the middle of the fill (the
# fill's cursors travel in the group's commits). In influx one point of the backlog is
# written again with another value right after the jump: the later write wins in the
# end (the pass again after the backlog), where strictly by cursor the older value
# would have arrived last.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

BULK=500000
CROSS=20000
LIVE1=1500
LIVE2=1500
STEP=1000000
start_kafka
start_victoriametrics
stop_victoriametrics
start_influxdb
influx_query cross 'CREATE DATABASE cross' >/dev/null
stop_influxdb
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    compression: none
    databases: [bulk, live]
    fresh_first_after_ms: 3s
    catchup_rate: 30000
    recovery_rewind_ms: 0
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
    databases: [cross]
    fresh_first_after_ms: 3s
    catchup_rate: 4000
    recovery_rewind_ms: 0"
start_relay
send --db bulk --lines $BULK >/dev/null || fail "bulk points not acknowledged"
send --db cross --lines $CROSS >/dev/null || fail "cross points not acknowledged"
log "backlog in kafka: $BULK points for vm, $CROSS for influx"
sleep 3 # older than fresh_first_after_ms

LIVE_LOG=$TSR_TMP/live1.log
# Live points are newer than the backlog, in their own time too (lines from $BULK on).
send --db live --start $BULK --lines $LIVE1 --batch 100 --pause 0.1 >"$LIVE_LOG" 2>&1 &
LIVE_PID=$!
start_victoriametrics
BACK=$(date +%s%N)
start_influxdb

# The newest points are queryable while the backlog is still filling in.
fresh_s= bulk_then=
for ((i = 0; i < 120; i++)); do
    read -r raw _ <<<"$(counts_vm_raw_db live)"
    if [ "${raw:-0}" -gt 0 ]; then
        fresh_s=$(python3 -c "print(f'{($(date +%s%N) - $BACK) / 1e9:.1f}')")
        read -r bulk_then _ <<<"$(counts_vm bulk)"
        break
    fi
    sleep 0.25
done
[ -n "$fresh_s" ] || fail "no live point in vm within 30 s of its return"
log "vm: the newest points queryable ${fresh_s} s after its return, with $bulk_then of $BULK backlog points in"
[ "$bulk_then" -lt $BULK ] || fail "the backlog was through before the newest points ($bulk_then)"
grep -q "cluster 'vm': new points go first" "$RELAY_LOG" || fail "vm did not jump to the newest"

# influx: once it jumped, write the last point of its backlog again, with another value.
for ((i = 0; i < 120; i++)); do
    [ "$(admin_get /status | jq '.clusters[] | select(.name=="influx") | .fill.jumps')" -ge 1 ] && break
    sleep 0.25
done
grep -q "cluster 'influx': new points go first" "$RELAY_LOG" || fail "influx did not jump"
LAST=$((CROSS - 1))
TS=$((1700000000000000000 + LAST * STEP))
curl -sf -o /dev/null --data-binary "m$((LAST % 7)),dc=d$((LAST % 3)),host=h$((LAST % 101)) fi=-1i,ff=0.5,fs=\"again\" $TS" \
    "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=cross" || fail "the second write was refused"

wait "$LIVE_PID" || { cat "$LIVE_LOG" >&2; fail "live load (1) failed"; }

# SIGTERM in the middle of vm's fill; the restarted relay goes on from the commit.
left=$(admin_get /status | jq '.clusters[] | select(.name=="vm") | .fill.records')
[ "$left" -gt 0 ] || fail "vm's backlog was through before the restart: make it longer"
log "restarting the relay with $left records of vm's backlog to fill"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code at the restart"
start_relay
wait_relay_log "cluster 'vm': partition [0-9]* comes with a backlog filling in behind" 30 ||
    fail "the restarted relay did not take the fill over"
send --db live --start $((BULK + LIVE1)) --lines $LIVE2 --batch 100 >/dev/null || fail "live load (2) failed"

wait_cluster_ready vm 120 || fail "vm not in sync: $(cluster_field vm reason)"
wait_cluster_ready influx 120 || fail "influx not in sync: $(cluster_field influx reason)"
wait_counts vm "$(expected_counts $BULK)" 60 bulk
raw=$(counts_vm_raw_db bulk)
assert_eq "$raw" "$BULK $(expected_counts $BULK)" "vm bulk: raw samples, distinct points, sum"
want=$((LIVE1 + LIVE2))
assert_eq "$(counts_vm_raw_db live)" "$want $want $(((2 * BULK + want - 1) * want / 2))" \
    "vm live: raw samples, distinct points, sum"
counts_vm bulk --sample 0 --sample 250000 --sample $((BULK - 1)) --step-ns $STEP >/dev/null ||
    fail "vm sampled values differ"

# influx: every point of the backlog, and the later of the two writes of the last one.
sum=$((CROSS * (CROSS - 1) / 2 - LAST - 1))
wait_counts influx "$CROSS $sum" 60 cross
got=$(influx_query cross "SELECT fi FROM m$((LAST % 7)) WHERE host='h$((LAST % 101))' AND time = $TS" |
    jq -c '.results[0].series[0].values[0][1]')
assert_eq "$got" "-1" "influx: the value of the point written twice (the later write)"
refilled=$(admin_get /status | jq '.clusters[] | select(.name=="influx") | .fill.points_refilled')
log "influx: $refilled points sent again after its backlog"
[ "$refilled" -ge 1 ] || fail "influx sent nothing again after its backlog"
assert_eq "$(admin_get /status | jq '[.clusters[].fill.partitions] | add')" 0 "fills left running"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
