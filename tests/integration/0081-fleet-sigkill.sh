#!/usr/bin/env bash
# timeout: 180
# Three relays deliver; relay3 is killed with SIGKILL while delivering, with writes
# flowing into relays 1 and 2. After kafka.session_timeout_ms (6 s here) the two survivors
# own all 12 partitions of both clusters (within 30 s; the time is printed), and every
# acknowledged point is in both clusters: InfluxDB count and sum exact; VictoriaMetrics
# (no deduplication) has every point, and its samples beyond the points sent, the
# duplicates, are at most what the survivors counted as resent.
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
log "fleet formed: vm $(fleet_shares vm 1 2 3)"

# A first part through every relay, so relay3 has its own writes behind it too.
for i in 1 2 3; do
    fleet_send "$i" $(((i - 1) * 30000)) 30000 || fail "writes to relay$i not acknowledged"
done

# Writes keep flowing into the survivors-to-be, across the kill and the takeover.
fleet_load_start 1 1000000
fleet_load_start 2 2000000
# relay3 must be delivering the load (its share of the partitions) when it dies.
sleep 1
d0=$(fleet_metric 3 'tsrelay_cluster_points_delivered_total{cluster="vm"}')
sleep 2
d1=$(fleet_metric 3 'tsrelay_cluster_points_delivered_total{cluster="vm"}')
owned3=$(fleet_metric 3 'tsrelay_cluster_partitions_owned{cluster="vm"}')
log "relay3 before the kill: owns $owned3 vm partitions, delivered $d0 then $d1 points to vm"
[ "$owned3" -gt 0 ] || fail "relay3 owned no vm partition before the kill"
[ "$d1" -gt "$d0" ] || fail "relay3 delivered nothing of the load in the 2 s before the kill; nothing tested"
fleet_kill 3
t_kill=$(date +%s%3N)

fleet_wait_shares 30 1 2
takeover=$(($(date +%s%3N) - t_kill))
log "relays 1 and 2 own all 12 partitions $takeover ms after the kill (session timeout $FLEET_SESSION_TIMEOUT_MS ms): influx $(fleet_shares influx 1 2); vm $(fleet_shares vm 1 2)"
sleep 3 # the survivors deliver the taken-over partitions while writes still come in
fleet_load_stop 1
fleet_load_stop 2
read -r sent _ <<<"$(fleet_sent)"
log "$sent points acknowledged in all"

fleet_wait_delivered 120
resent=$(fleet_sum 'tsrelay_cluster_points_resent_total{cluster="vm"}' 1 2)
dups=$((FLEET_VM_RAW - sent))
log "vm: $FLEET_VM_RAW raw samples for $sent points: $dups duplicates; the survivors counted $resent resent"
[ "$dups" -ge 0 ] || fail "vm has fewer samples ($FLEET_VM_RAW) than points sent ($sent)"
[ "$dups" -le "$resent" ] || fail "vm has $dups duplicates, more than the $resent points counted as resent"
counts_vm_raw --sample 0 --sample 89999 --step-ns 1000000 >/dev/null || fail "vm sampled values differ"

fleet_stop 1
fleet_stop 2
