#!/usr/bin/env bash
# timeout: 300
# kafka.topic changed and the relay restarted at once: as a static member back under its
# instance, the cluster's group hands it its previous assignment, partitions of the old
# topic. The relay must not take them (it would commit the old topic's positions to the
# new one and skip its first records): it says so and delivers nothing. Stopped for the
# session timeout and started again, it gets the new topic's partitions and delivers
# every point written to it (count and sum at VictoriaMetrics).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
export RELAY_KAFKA_EXTRA="  session_timeout_ms: 6000"
start_kafka
start_victoriametrics
cluster="clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
RELAY_TOPIC=first
relay_config "$cluster"
start_relay
wait_relay_log "cluster 'vm': delivering" 30 || fail "vm never got its partitions"
send --lines 1000 --db old >/dev/null || fail "writes to the first topic"
wait_counts vm "$(expected_counts 1000)" 60 old
stop_relay

RELAY_TOPIC=second
relay_config "$cluster"
start_relay
wait_relay_log "assigned partitions of topic 'first'" 30 || fail "no error for the old topic's partitions"
send --lines 5000 >/dev/null || fail "writes to the second topic"
sleep 3
assert_eq "$(cluster_field vm points_delivered)" 0 "points delivered from the old topic's assignment"
stop_relay

log "waiting out the session timeout"
sleep 8
start_relay
wait_counts vm "$(expected_counts 5000)" 60
grep -q "cluster 'vm': delivering 4 of 4 partitions of 'second'" "$RELAY_LOG" || fail "no assignment of the new topic"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
