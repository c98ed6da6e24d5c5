#!/usr/bin/env bash
# timeout: 600
# Two clusters (InfluxDB, VictoriaMetrics) fed 300,000 points. VictoriaMetrics is killed
# (SIGKILL) after the first third and started again once the rest was sent: both end
# with every point (counts and the sum of values compared, and sampled values), VM's
# /clusters/vm/ready turns 200 only once it caught up, and InfluxDB stayed in sync the
# whole time (ready, lag under 2 s).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

N=300000
STEP=1000000 # 1 ms between points: VictoriaMetrics stores milliseconds
start_two_clusters "    compression: none" "    compression: gzip"
wait_cluster_ready influx 30 || fail "influx not in sync at start: $(cluster_field influx reason)"
wait_cluster_ready vm 30 || fail "vm not in sync at start: $(cluster_field vm reason)"

send --lines $((N / 3)) >/dev/null || fail "first third not acknowledged"
log "first third sent; killing victoriametrics"
stop_pid "$VM_PID" 5 KILL
VM_PID=

# The rest, while VM is down: InfluxDB must stay in sync throughout.
send --start $((N / 3)) --lines $((N - N / 3)) --pause 0.05 >"$TSR_TMP/send2" &
watch_cluster influx $! || fail "second part not acknowledged: $(cat "$TSR_TMP/send2")"
log "influx during the VM outage: max lag ${MAX_LAG}s, not-ready samples $NOT_READY"
assert_eq "$NOT_READY" 0 "samples where influx was not ready while vm was down"
awk -v l="$MAX_LAG" 'BEGIN { exit !(l < 2) }' || fail "influx lag reached ${MAX_LAG}s"
assert_eq "$(cluster_ready vm)" 503 "vm ready while down"
state=$(cluster_field vm state)
[ "$state" = down ] || fail "vm state while killed: $state"
# A down cluster's reader is paused (it would hold a full read-ahead all the outage);
# the exact counts below show that resuming lost and skipped nothing.
grep -q "cluster 'vm': reading from kafka paused" "$RELAY_LOG" || fail "vm's reader not paused while down"
wait_cluster_ready influx 10 || fail "influx not in sync at the end of ingest"
wait_counts influx "$(expected_counts $N)" 30

log "starting victoriametrics again"
t0=$(date +%s.%N)
start_victoriametrics
# Catch-up must start promptly: a down URL is probed every 200 ms.
first=$(counts_vm | cut -d' ' -f1)
wait_cluster_ready vm 120 || fail "vm not back in sync within 120s: $(cluster_field vm reason)"
t1=$(date +%s.%N)
log "vm caught up in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s (had $first points when it came back)"
wait_counts vm "$(expected_counts $N)" 60
grep -q "cluster 'vm': reading from kafka resumed" "$RELAY_LOG" || fail "vm's reader not resumed"
counts_vm tsrtest --sample 0 --sample 99999 --sample 100000 --sample 299999 --step-ns $STEP >/dev/null ||
    fail "vm sampled values differ"
counts_influx tsrtest --sample 0 --sample 150001 --sample 299999 --step-ns $STEP >/dev/null ||
    fail "influx sampled values differ"

# The outage is in vm's ledger, closed; influx has none.
ledger=$(curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" | python3 -c "
import json, sys
d = json.load(sys.stdin)
c = {c['name']: c for c in d['clusters']}
print(len(c['vm']['ledger']), c['vm']['ledger'][-1]['to_ms'] > 0 if c['vm']['ledger'] else '-', len(c['influx']['ledger']))")
log "ledger (vm entries, last closed, influx entries): $ledger"
[[ $ledger =~ ^[1-9][0-9]*\ True\ 0$ ]] || fail "ledger: $ledger"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
