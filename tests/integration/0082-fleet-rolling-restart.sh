#!/usr/bin/env bash
# timeout: 180
# A rolling restart of a fleet of three under continuous writes: each relay in turn is
# stopped with SIGTERM (it must exit 0 having finished and committed what it had in
# flight) and started again with the same instance name and state_dir, while the other
# two keep taking writes; it takes its partitions back. At the end both clusters hold
# every acknowledged point exactly once: InfluxDB count and sum exact, VictoriaMetrics
# (no deduplication) exactly as many samples as points sent: a clean restart re-sends
# nothing.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

export KAFKA_PARTITIONS=12
fleet_servers
fleet_start 1
fleet_start 2
fleet_start 3
fleet_wait_shares 30 1 2 3

# Each load loop gets its own range of lines, so every point is distinct.
base=0
load() { base=$((base + 1000000)); fleet_load_start "$1" "$base"; }
load 1
load 2
load 3
sleep 3

for r in 1 2 3; do
    fleet_load_stop "$r" # its writes go elsewhere: the other two relays keep theirs
    t0=$(date +%s%3N)
    fleet_stop "$r"
    fleet_start "$r"
    fleet_wait_shares 30 1 2 3
    log "relay$r restarted; all three share the partitions again $(($(date +%s%3N) - t0)) ms after its SIGTERM: vm $(fleet_shares vm 1 2 3)"
    load "$r"
    sleep 3
done

fleet_load_stop 1
fleet_load_stop 2
fleet_load_stop 3
read -r sent _ <<<"$(fleet_sent)"
log "$sent points acknowledged in all, over $(wc -l <"$TSR_TMP/sent.ranges") rounds"

fleet_wait_delivered 120
log "vm: $FLEET_VM_RAW raw samples for $sent points; resent counted: $(fleet_sum 'tsrelay_cluster_points_resent_total{cluster="vm"}' 1 2 3)"
assert_eq "$FLEET_VM_RAW" "$sent" "victoriametrics raw samples (more means points sent twice)"

fleet_stop 1
fleet_stop 2
fleet_stop 3
