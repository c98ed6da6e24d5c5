#!/usr/bin/env bash
# timeout: 400
# Kafka retention deletes records past a cluster's checkpoint (the cluster down, the
# relay stopped, a tiny retention.ms meanwhile): when the relay starts again it reports
# the exact gap (per partition: first retained offset minus the checkpoint) in the log,
# /status, /metrics and the ledger, and goes on; it never skips silently. (While the
# relay runs, records it has already read are delivered from memory even if Kafka
# deletes them, so no gap arises there.) Delivery then goes on from the oldest record
# retained, and a replay --since earliest covers exactly the records Kafka retains.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
export KAFKA_EXTRA_CONFIG="log.retention.check.interval.ms=500
log.segment.delete.delay.ms=0"
start_kafka
start_victoriametrics
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    recovery_rewind_ms: 0"
start_relay
send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --batch 500 "$@" >/dev/null; }
topic_config() {
    java -cp "$(kafka_libs)/*" -Dlog4j.configuration=file:"$KAFKA_DIR/log4j.properties" \
        kafka.admin.ConfigCommand --bootstrap-server "$KAFKA_BROKERS" --alter \
        --entity-type topics --entity-name "$RELAY_TOPIC" "$@" >>"$TSR_TMP/configs.log" 2>&1
}

send --lines 2000
wait_cluster_ready vm 30 || fail "vm not in sync"
wait_counts vm "$(expected_counts 2000)" 30
positions=$(curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" |
    python3 -c "import json,sys; print(' '.join(str(p['position']) for p in json.load(sys.stdin)['clusters'][0]['partitions']))")
log "vm checkpoint positions: $positions"

stop_victoriametrics
send --start 2000 --lines 20000
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
log "relay stopped; deleting the backlog: retention.ms=1000, segment.ms=200"
topic_config --add-config retention.ms=1000,segment.ms=200
sleep 1.5
# Kafka deletes only closed segments, and a segment closes (after segment.ms) on the
# next append: keep appending one record per partition until the old ones are gone.
for ((i = 0; i < 60; i++)); do
    for p in 0 1 2 3; do echo "roll v=1i 1" | kcat -P -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -p $p; done
    low=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -W | awk '$2 > 0' | wc -l)
    [ "$low" -eq 4 ] && break
    sleep 1
done
[ "$low" -eq 4 ] || fail "retention did not delete the old segments"
topic_config --delete-config retention.ms,segment.ms
read -r -a lows <<<"$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -W | sort -n | awk '{ printf "%s ", $2 }')"
read -r -a pos <<<"$positions"
want=0
for p in 0 1 2 3; do want=$((want + lows[p] - pos[p])); done
log "low watermarks now: ${lows[*]}; expected gap: $want records"

start_victoriametrics
start_relay
for ((i = 0; i < 300; i++)); do
    [ "$(cluster_field vm gap_records)" -ge "$want" ] && break
    sleep 0.1
done
assert_eq "$(cluster_field vm gap_records)" "$want" "gap reported in /status"
assert_eq "$(relay_metric 'tsrelay_cluster_gap_records_total{cluster="vm"}')" "$want" "gap metric"
grep -q "kafka retention deleted records" "$RELAY_LOG" || fail "gap not logged"
gaps=$(curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" | python3 -c "
import json, sys
c = json.load(sys.stdin)['clusters'][0]
print(sum(e['to_offsets'][p] - e['from_offsets'][p] for e in c['ledger'] if e['kind'] == 'gap' for p in range(len(e['to_offsets']))))")
assert_eq "$gaps" "$want" "gap records in the ledger"
wait_cluster_ready vm 60 || fail "vm not in sync after the gap: $(cluster_field vm reason)"

# Delivery goes on after the gap: lines written now reach vm, which then holds the
# 2,000 from before the outage and these 400, nothing of what retention deleted.
send --start 100000 --lines 400
wait_cluster_ready vm 30 || fail "vm not in sync after the last lines: $(cluster_field vm reason)"
wait_counts vm "2400 $((2000 * 1999 / 2 + 400 * 100000 + 400 * 399 / 2))" 30

# A replay from the earliest record covers exactly what Kafka still retains (retention
# may have deleted every record before the last lines, the roll records too).
retained=0
while read -r _ lo hi; do retained=$((retained + hi - lo)); done \
    <<<"$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -W)"
[ "$retained" -gt 0 ] || fail "no record retained after the last lines"
ctl --json replay start --cluster vm --since earliest --dry-run --wait >"$TSR_TMP/dry.json" ||
    fail "dry run from the earliest record: $(cat "$TSR_TMP/dry.json")"
assert_eq "$(python3 -c "import json,sys; print(json.load(sys.stdin)['records_total'])" <"$TSR_TMP/dry.json")" \
    "$retained" "records of a replay --since earliest (high - low watermarks)"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
