#!/usr/bin/env bash
# timeout: 240
# The broker away for longer than the session timeout (12 s against 6 s), under two
# relays: their group sessions expire, and librdkafka's static members come back
# fenced by their own old registrations (a fatal consumer error). Each relay replaces
# its consumers under the same instance; afterwards both share the partitions again,
# one is the coordinator, and every point written before and after is in both
# clusters, none twice.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

export KAFKA_PARTITIONS=12
fleet_servers
fleet_start 1
fleet_start 2
fleet_wait_shares 30 1 2
fleet_send 1 0 20000 >/dev/null || fail "writes not acknowledged"
fleet_send 2 20000 20000 >/dev/null || fail "writes not acknowledged"
fleet_wait_delivered 60

stop_kafka
log "kafka stopped for 12 s"
sleep 12
start_kafka
# Each relay answers 503 until its producer is connected again; only 204s count.
send_when_back()
{
    local i
    for ((i = 0; i < 300; i++)); do
        fleet_send "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    fail "writes to relay$1 not acknowledged after kafka came back"
}
send_when_back 1 40000 20000
send_when_back 2 60000 20000
fleet_wait_shares 60 1 2
log "shared again after the outage: vm $(fleet_shares vm 1 2)"
fleet_wait_delivered 120
assert_eq "$FLEET_VM_RAW" 80000 "vm samples (every point once)"
coords=0
for i in 1 2; do
    curl -s "http://127.0.0.1:$(fleet_admin "$i")/status" |
        python3 -c "import json,sys; sys.exit(0 if json.load(sys.stdin)['coordinator'] else 1)" &&
        coords=$((coords + 1))
done
assert_eq "$coords" 1 "coordinators after the outage"
grep -h "unusable" "$TSR_TMP"/relay*.log >&2 || log "no consumer was fenced this time"
fleet_stop 1
fleet_stop 2
