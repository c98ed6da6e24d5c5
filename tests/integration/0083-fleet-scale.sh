#!/usr/bin/env bash
# timeout: 180
# Scaling a fleet up and down under writes: one relay alone delivers all 12 partitions;
# relays 2 and 3 join (while relay1 takes writes) and the three share the partitions,
# each delivering some; then relays 2 and 3 are stopped with SIGTERM (exit 0) for good,
# and after kafka.session_timeout_ms relay1 owns all 12 again (the time is printed).
# Nothing is lost: InfluxDB count and sum exact, VictoriaMetrics (no deduplication) has
# every point; its duplicates are printed (a clean handoff should have none).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

export KAFKA_PARTITIONS=12
fleet_servers
fleet_start 1
fleet_wait_shares 30 1
log "relay1 alone: influx $(fleet_shares influx 1); vm $(fleet_shares vm 1)"
fleet_send 1 0 50000 || fail "writes to relay1 not acknowledged"

# Scale up with writes flowing into relay1.
fleet_load_start 1 1000000
fleet_start 2
fleet_start 3
fleet_wait_shares 30 1 2 3
log "scaled up: influx $(fleet_shares influx 1 2 3); vm $(fleet_shares vm 1 2 3)"
fleet_send 2 50000 30000 || fail "writes to relay2 not acknowledged"
fleet_send 3 80000 30000 || fail "writes to relay3 not acknowledged"
sleep 3
for i in 2 3; do
    for c in influx vm; do
        d=$(fleet_metric "$i" "tsrelay_cluster_points_delivered_total{cluster=\"$c\"}")
        [ "$d" -gt 0 ] || fail "relay$i delivered nothing to $c after joining"
    done
done

# Scale down: relays 2 and 3 leave for good; relay1 keeps taking writes.
fleet_stop 2
fleet_stop 3
t_down=$(date +%s%3N)
fleet_send 1 110000 20000 || fail "writes to relay1 after the scale-down not acknowledged"
fleet_wait_shares 30 1
log "relay1 owns all 12 partitions again $(($(date +%s%3N) - t_down)) ms after relays 2 and 3 stopped (session timeout $FLEET_SESSION_TIMEOUT_MS ms)"
fleet_send 1 130000 20000 || fail "writes to relay1 not acknowledged"
fleet_load_stop 1
read -r sent _ <<<"$(fleet_sent)"
log "$sent points acknowledged in all"

fleet_wait_delivered 120
dups=$((FLEET_VM_RAW - sent))
log "vm: $FLEET_VM_RAW raw samples for $sent points: $dups duplicates (relay1 counted $(fleet_metric 1 'tsrelay_cluster_points_resent_total{cluster="vm"}') resent)"
[ "$dups" -ge 0 ] || fail "vm has fewer samples ($FLEET_VM_RAW) than points sent ($sent)"
counts_vm_raw --sample 0 --sample 49999 --sample 149999 --step-ns 1000000 >/dev/null || fail "vm sampled values differ"
counts_influx tsrtest --sample 50000 --sample 129999 --step-ns 1000000 >/dev/null || fail "influx sampled values differ"

fleet_stop 1
