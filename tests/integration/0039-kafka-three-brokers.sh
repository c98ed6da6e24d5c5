#!/usr/bin/env bash
# timeout: 300
# acks=all across replicas, against a real three-broker KRaft cluster (tests/lib/kafka3.sh)
# with the topic the relay creates itself: replication factor 3, min.insync.replicas 2.
# A. broker 2 killed: every write still gets 204 (two copies in sync remain);
# B. broker 3 killed too: one copy is not enough, so Kafka fails the writes; they go to
#    the spool (204) or get 503, and a 204 is never later missing;
# C. both back: writes get 204 again, and the spool drains.
# Every line answered 204 is in InfluxDB and in VictoriaMetrics at the end, each once.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/kafka3.sh"

start_kafka3
start_influxdb
start_victoriametrics
influx_query "" 'CREATE DATABASE tsrtest' >/dev/null
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
sed -i 's/^  replication_factor: 1$/  replication_factor: 3/; s/^  min_insync_replicas: 1$/  min_insync_replicas: 2/' \
    "$TSR_TMP/relay.yaml"
start_relay
topic() { admin_get /status | python3 -c 'import json, sys; k = json.load(sys.stdin)["kafka"]; print(json.dumps([k["topic_settings"], k["topic_warnings"]], sort_keys=True))'; }
for ((i = 0; i < 100; i++)); do
    settings=$(topic)
    [ "$settings" != '[null, []]' ] && break
    sleep 0.1
done
assert_eq "$settings" '[{"min_insync_replicas": 2, "partitions": 4, "replication_factor": 3, "retention_ms": 604800000}, []]' \
    "the topic the relay created on three brokers"

phase() { # phase NAME START LINES: lpsend, recording the acknowledged lines
    send --start "$2" --lines "$3" --batch 1000 --pause 0.05 --acked "$TSR_TMP/acked" \
        --statuses "$TSR_TMP/$1.statuses" --tolerate-errors >/dev/null
    log "phase $1: $(sort "$TSR_TMP/$1.statuses" | uniq -c | tr '\n' ' ')"
}
kill_broker 2
phase A 0 20000
assert_eq "$(sort -u "$TSR_TMP/A.statuses")" 204 "answers with broker 2 down"
kill_broker 3
phase B 20000 4000
grep -qvE '^(204|503)$' "$TSR_TMP/B.statuses" && fail "phase B: answers other than 204 or 503"
spooled=$(relay_metric tsrelay_spool_records_spooled_total)
log "phase B: $spooled records spooled"
[ "$spooled" -gt 0 ] || fail "nothing spooled with one broker of three: min.insync.replicas 2 did not hold"
b204=$(grep -c '^204$' "$TSR_TMP/B.statuses" || true)
start_broker 3
start_broker 2
wait_server kafka "${KAFKA3_PID[2]}" 90 eval '[ "$(brokers_up)" = 3 ]'
for ((i = 0; i < 300; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/ready")" = 200 ] && break
    sleep 0.1
done
phase C 30000 10000
assert_eq "$(sort -u "$TSR_TMP/C.statuses")" 204 "answers with all three brokers back"
wait_spool_empty 60

# Every acknowledged line, once, in both TSDBs. Lines answered 503 in phase B may be
# there too (a write whose answer was a timeout is unknown), but only those.
assert_eq "$(wc -l <"$TSR_TMP/acked")" $((30000 + 1000 * b204)) "lines acknowledged (phases A, B and C)"
for ((i = 0; i < 60; i++)); do
    out=$(check_acked_once "$TSR_TMP/acked" 20000 24000) && break
    sleep 1
done
log "$out"
check_acked_once "$TSR_TMP/acked" 20000 24000 >/dev/null || fail "$out"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
