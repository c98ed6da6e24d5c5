#!/usr/bin/env bash
# timeout: 300
# A network partition between the relay and one broker of three (tests/tools/tcpproxy.py
# in front of each broker's client listener; the brokers still see each other, so the
# cut-off broker stays the leader of its partitions): writes to its partitions time out
# (kafka.message_timeout_ms 5 s) and go to the spool, 204; delivery of its partitions
# waits. Once the network is back the spool drains and delivery catches up: every line
# answered 204 is in InfluxDB and VictoriaMetrics.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/kafka3.sh"

export KAFKA3_CLIENT_PROXY=1 RELAY_MESSAGE_TIMEOUT_MS=5000
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
for c in influx vm; do
    wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions"
done

phase() { # phase NAME START LINES: lpsend, recording the acknowledged lines
    send --start "$2" --lines "$3" --batch 1000 --pause 0.05 --acked "$TSR_TMP/acked" \
        --statuses "$TSR_TMP/$1.statuses" --tolerate-errors >/dev/null
    log "phase $1: $(sort "$TSR_TMP/$1.statuses" | uniq -c | tr '\n' ' ')"
}
phase A 0 10000
assert_eq "$(sort -u "$TSR_TMP/A.statuses")" 204 "answers before the partition"
log "the network between the relay and broker 1 fails"
cut_broker 1
phase B 10000 20000
grep -qvE '^(204|503)$' "$TSR_TMP/B.statuses" && fail "phase B: answers other than 204 or 503"
spooled=$(relay_metric tsrelay_spool_records_spooled_total)
log "phase B: $spooled records spooled"
[ "$spooled" -gt 0 ] || fail "nothing spooled while a leader was out of reach"
b204=$(grep -c '^204$' "$TSR_TMP/B.statuses" || true)
heal_broker 1
log "the network is back"
phase C 30000 10000
assert_eq "$(sort -u "$TSR_TMP/C.statuses")" 204 "answers after the partition"
wait_spool_empty 60

assert_eq "$(wc -l <"$TSR_TMP/acked")" $((20000 + 1000 * b204)) "lines acknowledged (phases A, B and C)"
for ((i = 0; i < 60; i++)); do
    out=$(check_acked_once "$TSR_TMP/acked" 10000 30000) && break
    sleep 1
done
log "$out"
check_acked_once "$TSR_TMP/acked" 10000 30000 >/dev/null || fail "$out"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
