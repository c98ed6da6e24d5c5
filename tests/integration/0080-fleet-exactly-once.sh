#!/usr/bin/env bash
# timeout: 180
# asan: yes
# Three relays of one datacenter share delivery of a 12-partition topic: 300,000 points
# sent through all three at once (a distinct range each) arrive in both clusters exactly
# once: VictoriaMetrics, without deduplication, holds exactly 300,000 samples; InfluxDB's
# count and sum are exact; the relays' delivered counters add up to 300,000 per cluster,
# so no point was delivered by two relays; each relay owns some of the 12 partitions of
# each cluster and together they own all 12.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

N=300000
export KAFKA_PARTITIONS=12
fleet_servers
fleet_start 1
fleet_start 2
fleet_start 3
fleet_wait_shares 30 1 2 3
log "the fleet formed in ${FLEET_WAITED_MS} ms: influx $(fleet_shares influx 1 2 3); vm $(fleet_shares vm 1 2 3)"

pids=()
for i in 1 2 3; do
    fleet_send "$i" $(((i - 1) * N / 3)) $((N / 3)) &
    pids+=($!)
    track_pid "$!" "lpsend$i"
done
for i in 1 2 3; do
    wait "${pids[i - 1]}" || fail "writes to relay$i not all acknowledged"
    unset "TSR_PIDS[${pids[i - 1]}]"
done
assert_eq "$(fleet_sent)" "$(expected_counts $N)" "acknowledged points (count sum)"
log "$N points acknowledged by the three relays"

fleet_wait_delivered 120
assert_eq "$FLEET_VM_RAW" "$N" "victoriametrics raw samples (duplicates would exceed $N)"
counts_vm_raw --sample 0 --sample 99999 --sample 100000 --sample 299999 --step-ns 1000000 >/dev/null ||
    fail "vm sampled values differ"
counts_influx tsrtest --sample 1 --sample 150000 --sample 299998 --step-ns 1000000 >/dev/null ||
    fail "influx sampled values differ"

for c in influx vm; do
    per=""
    for i in 1 2 3; do per+=" relay$i=$(fleet_metric "$i" "tsrelay_cluster_points_delivered_total{cluster=\"$c\"}")"; done
    log "$c delivered:$per"
    assert_eq "$(fleet_sum "tsrelay_cluster_points_delivered_total{cluster=\"$c\"}" 1 2 3)" "$N" \
        "points delivered to $c by the three relays together"
    log "$c partitions owned: $(fleet_shares "$c" 1 2 3)"
    fleet_shared "$c" 1 2 3 || fail "$c: the three relays do not each own some and together all 12 partitions: $(fleet_shares "$c" 1 2 3)"
done
assert_eq "$(fleet_sum 'tsrelay_cluster_points_resent_total{cluster="vm"}' 1 2 3)" 0 "points resent to vm"

fleet_stop 1
fleet_stop 2
fleet_stop 3
