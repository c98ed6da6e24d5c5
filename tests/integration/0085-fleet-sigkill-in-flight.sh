#!/usr/bin/env bash
# timeout: 240
# A relay killed with SIGKILL while its write requests are in flight: the cluster (a
# VictoriaMetrics without deduplication, behind a proxy that answers each write 2 s
# after it has landed) already holds those points, the relay never learned it. The
# relays that take its partitions over send them again: VictoriaMetrics then holds
# duplicates, exactly what the survivors counted in tsrelay_cluster_points_resent_total
# or fewer, and more than none (this is the path under test); nothing is lost.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

export KAFKA_PARTITIONS=12
fleet_servers
PROXY_PORT=$(free_port)
CONTROL_PORT=$(free_port)
spawn faultproxy python3 "$REPO_ROOT/tests/tools/faultproxy.py" --listen "127.0.0.1:$PROXY_PORT" \
    --upstream "$VM_URL" --control "127.0.0.1:$CONTROL_PORT"
wait_port "$CONTROL_PORT" 10
mode() { curl -sf -o /dev/null -X POST --data "$1" "http://127.0.0.1:$CONTROL_PORT/mode" || fail "mode $1"; }
# The relays write to VictoriaMetrics through the proxy; the counts read it directly.
vm_direct=$VM_URL
VM_URL=http://127.0.0.1:$PROXY_PORT
for i in 1 2 3; do fleet_config "$i"; done
VM_URL=$vm_direct
fleet_start 1
fleet_start 2
fleet_start 3
fleet_wait_shares 30 1 2 3

mode '{"mode":"slow","delay_ms":2000,"path":"/write"}'
fleet_load_start 1 1000000
fleet_load_start 2 2000000
sleep 3 # every relay now has requests to vm in flight, answered 2 s after they landed
inflight3=$(curl -s "http://127.0.0.1:$CONTROL_PORT/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['faulted']['slow'])")
log "slow answers so far: $inflight3; killing relay3"
fleet_kill 3
fleet_wait_shares 30 1 2
log "relays 1 and 2 own every partition again: vm $(fleet_shares vm 1 2)"
sleep 2
mode '{"mode":"pass"}'
fleet_load_stop 1
fleet_load_stop 2
read -r sent _ <<<"$(fleet_sent)"
fleet_wait_delivered 120
resent=$(fleet_sum 'tsrelay_cluster_points_resent_total{cluster="vm"}' 1 2)
dups=$((FLEET_VM_RAW - sent))
log "vm: $FLEET_VM_RAW raw samples for $sent points acknowledged: $dups duplicates; the survivors counted $resent resent"
[ "$dups" -gt 0 ] || fail "no duplicates: relay3 had nothing in flight when killed, nothing tested"
[ "$dups" -le "$resent" ] || fail "vm has $dups duplicates, more than the $resent points counted as resent"
fleet_stop 1
fleet_stop 2
