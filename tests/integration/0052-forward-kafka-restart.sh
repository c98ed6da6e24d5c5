#!/usr/bin/env bash
# timeout: 600
# asan: yes
# The Kafka broker restarted while the relay forwards: nothing is lost, and forwarding
# resumes by itself (no relay restart) once the broker is back.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

STEP=1000000
start_kafka
start_victoriametrics
relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
    catchup_rate: 20000"
start_relay
send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns $STEP --batch 5000 "$@"; }

# 100,000 points; forwarding is slowed to 20,000/s so the broker goes down mid-stream.
send --lines 100000 >/dev/null || fail "writes not acknowledged"
sleep 1
delivered=$(cluster_field vm points_delivered)
log "delivered before the broker restart: $delivered"
[ "$delivered" -lt 100000 ] || fail "forwarding finished before the broker restart; nothing tested"
stop_kafka
sleep 3
start_kafka
log "broker back; more writes"
for ((i = 0; i < 300; i++)); do
    send --start 100000 --lines 20000 >/dev/null 2>&1 && break
    sleep 0.2
done
[ "$i" -lt 300 ] || fail "writes not acknowledged after the broker restart"
wait_cluster_ready vm 120 || fail "vm not in sync: $(cluster_field vm reason)"
wait_counts vm "$(expected_counts 120000)" 60
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
