#!/usr/bin/env bash
# timeout: 300
# A cluster that is already down when the relay starts: its reader is paused on the
# first tick like any down cluster's, though it never changed state; 60,000 points go into
# Kafka meanwhile, and once VictoriaMetrics is started the cluster catches up with every
# point, values included: pausing a reader that has not read anything yet loses nothing.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

N=60000
STEP=1000000
start_kafka
start_victoriametrics
stop_victoriametrics # its port and URL stay for the restart below
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    compression: none"
start_relay
wait_relay_log "cluster 'vm': reading from kafka paused" 10 || fail "vm's reader not paused while down"
assert_eq "$(cluster_field vm state)" down "vm state before it ever answered"

send --lines $N >/dev/null || fail "points not acknowledged"
log "$N points in kafka; starting victoriametrics"
start_victoriametrics
wait_cluster_ready vm 120 || fail "vm not in sync within 120s: $(cluster_field vm reason)"
wait_counts vm "$(expected_counts $N)" 60
counts_vm tsrtest --sample 0 --sample 29999 --sample 59999 --step-ns $STEP >/dev/null ||
    fail "vm sampled values differ"
grep -q "cluster 'vm': reading from kafka resumed" "$RELAY_LOG" || fail "vm's reader not resumed"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
