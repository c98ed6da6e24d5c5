#!/usr/bin/env bash
# timeout: 600
# Forwarding with the relay killed with SIGKILL in the middle and restarted: it resumes
# from its LMDB checkpoints, both clusters end with every point (counts and value sums),
# and a cluster down across the crash still catches up afterwards.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

N=200000
STEP=1000000
start_two_clusters

send --lines $((N / 2)) >/dev/null || fail "first half not acknowledged"
# VM goes down too, so the crash happens with a backlog for one cluster.
stop_victoriametrics
sleep 1
kill_relay
log "relay killed with SIGKILL; influx delivered $(counts_influx | cut -d' ' -f1) points so far"
[ -s "$TSR_TMP/state/state.mdb" ] || fail "no checkpoint store in state_dir"

start_relay
send --start $((N / 2)) --lines $((N / 2)) >/dev/null || fail "second half not acknowledged"
wait_cluster_ready influx 60 || fail "influx not in sync after the restart: $(cluster_field influx reason)"
wait_counts influx "$(expected_counts $N)" 30
start_victoriametrics
wait_cluster_ready vm 120 || fail "vm not in sync: $(cluster_field vm reason)"
wait_counts vm "$(expected_counts $N)" 60
counts_vm tsrtest --sample 1 --sample $((N / 2)) --sample $((N - 1)) --step-ns $STEP >/dev/null ||
    fail "vm sampled values differ"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
