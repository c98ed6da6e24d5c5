#!/usr/bin/env bash
# timeout: 180
# A relay from before the fleet had its positions only in LMDB (state_dir). Upgraded,
# it joins a consumer group with no committed offsets: it must start where its LMDB
# checkpoints stood, neither sending the topic again nor skipping. Simulated by moving
# the relay to a new datacenter name (so a new, empty group) over the same state_dir
# and topic: VictoriaMetrics (no deduplication) then holds every point exactly once.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
. "$(dirname "$0")/../lib/fleet.sh"

export KAFKA_PARTITIONS=12
fleet_servers
fleet_config 1
fleet_start 1
fleet_send 1 0 50000 >/dev/null || fail "writes not acknowledged"
fleet_wait_delivered 60
assert_eq "$FLEET_VM_RAW" 50000 "vm samples before the upgrade"
fleet_stop 1
sed -i 's/^datacenter: test$/datacenter: upgraded/' "$TSR_TMP/relay1.yaml"
grep -q '^datacenter: upgraded$' "$TSR_TMP/relay1.yaml" || fail "config not changed"
fleet_start 1
fleet_send 1 50000 30000 >/dev/null || fail "writes after the upgrade not acknowledged"
fleet_wait_delivered 60
assert_eq "$FLEET_VM_RAW" 80000 "vm samples after the upgrade (none twice, none skipped)"
# From now on the group holds the positions: every partition committed.
committed=$(curl -s "http://127.0.0.1:$(fleet_admin 1)/status" | python3 -c "
import json, sys
c = next(c for c in json.load(sys.stdin)['clusters'] if c['name'] == 'vm')
print(sum(1 for p in c['partitions'] if p['owner'] == 'relay1'))")
assert_eq "$committed" 12 "partitions the group knows relay1 delivers"
fleet_stop 1
