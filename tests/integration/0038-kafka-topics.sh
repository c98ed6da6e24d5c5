#!/usr/bin/env bash
# timeout: 180
# The relay's topics as a managed dependency (relay/kafka/topics.h), against a broker
# with auto.create.topics.enable=false:
# 0. with replication_factor 3 on one broker the topic cannot be created: the relay
#    says why, once a minute rather than at every retry, and is not ready;
# 1. the relay creates its topic (kafka.partitions 3, retention 2d) and dead-letter
#    topic (1 partition) itself; /status shows the settings the broker describes, with
#    no warning; every point written reaches VictoriaMetrics through it.
# 2. restarted with promises the topic cannot keep (replication_factor 3,
#    min_insync_replicas 2, min_retention 30d on a one-broker topic with RF 1), the
#    relay reports each in the log and /status, and goes on serving.
# `tsrelay --check-config --live` describes the topic on the broker: exit 0 for 1., and
# 1 with the three warnings for 2.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"

KAFKA_AUTO_CREATE=false start_kafka
start_victoriametrics
KAFKA_PARTITIONS=3 RELAY_KAFKA_EXTRA="  retention: 2d" relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
# 0. Promises one broker cannot keep: the topic is not created, the relay says why once
#    (not every second as it retries) and is not ready.
sed 's/^  replication_factor: 1$/  replication_factor: 3/' "$TSR_TMP/relay.yaml" >"$TSR_TMP/rf3.yaml"
"$TSRELAY_BIN" -c "$TSR_TMP/rf3.yaml" >"$TSR_TMP/rf3.log" 2>&1 &
rf3=$!
track_pid "$rf3" tsrelay-rf3
for ((i = 0; i < 100; i++)); do
    grep -q "kafka: cannot create topic 'metrics': .*[Rr]eplication factor" "$TSR_TMP/rf3.log" && break
    sleep 0.1
done
grep -q "kafka: cannot create topic 'metrics': .*[Rr]eplication factor" "$TSR_TMP/rf3.log" ||
    fail "no log line saying why the topic cannot be created: $(tail -5 "$TSR_TMP/rf3.log")"
sleep 3
assert_eq "$(grep -c "cannot create topic 'metrics'" "$TSR_TMP/rf3.log")" 1 "lines about the failed creation in 3 s"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/ready")" 503 \
    "/ready without a topic"
stop_pid "$rf3" 30

start_relay
wait_relay_log "kafka: created topic 'metrics': 3 partitions, replication factor 1" 10 ||
    fail "no log line for the topic's creation"
grep -q "kafka: created topic 'metrics.dlq': 1 partition" "$RELAY_LOG" ||
    fail "no log line for the dead-letter topic's creation"
kcat -L -b "$KAFKA_BROKERS" -t metrics.dlq | grep -q 'topic "metrics.dlq" with 1 partitions' ||
    fail "metrics.dlq does not have 1 partition: $(kcat -L -b "$KAFKA_BROKERS" -t metrics.dlq)"
topic() { admin_get /status | python3 -c 'import json, sys; k = json.load(sys.stdin)["kafka"]; print(json.dumps([k["topic_settings"], k["topic_warnings"]], sort_keys=True))'; }
for ((i = 0; i < 100; i++)); do
    [ "$(topic)" != '[null, []]' ] && break
    sleep 0.1
done
assert_eq "$(topic)" '[{"min_insync_replicas": 1, "partitions": 3, "replication_factor": 1, "retention_ms": 172800000}, []]' \
    "/status kafka topic settings and warnings"
send --lines 3000 >/dev/null || fail "lpsend failed"
wait_counts vm "$(expected_counts 3000)" 60
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
rc=0
out=$("$TSRELAY_BIN" --check-config --live -c "$TSR_TMP/relay.yaml" 2>&1) || rc=$?
assert_eq "$rc" 0 "--check-config --live exit code on a good topic ($out)"
grep -q "kafka topic 'metrics': 3 partitions, replication factor 1, min.insync.replicas 1, retention 172800000 ms" <<<"$out" ||
    fail "--check-config --live does not describe the topic: $out"

# --- 2. promises the topic cannot keep ----------------------------------------------------
sed -i 's/^  replication_factor: 1$/  replication_factor: 3/; s/^  min_insync_replicas: 1$/  min_insync_replicas: 2/' \
    "$TSR_TMP/relay.yaml"
sed -i 's/^  retention: 2d$/  retention: 2d\n  min_retention: 30d/' "$TSR_TMP/relay.yaml"
rc=0
out=$("$TSRELAY_BIN" --check-config --live -c "$TSR_TMP/relay.yaml" 2>&1) || rc=$?
assert_eq "$rc" 1 "--check-config --live exit code on a topic below the promises ($out)"
[ "$(grep -c '^warning: ' <<<"$out")" = 3 ] || fail "--check-config --live does not print 3 warnings: $out"
start_relay
for ((i = 0; i < 100; i++)); do
    [ "$(topic | python3 -c 'import json, sys; print(len(json.load(sys.stdin)[1]))')" = 3 ] && break
    sleep 0.1
done
warnings=$(topic)
log "warnings: $warnings"
grep -q "has replication factor 1, below kafka.replication_factor 3" <<<"$warnings" ||
    fail "no warning for the replication factor: $warnings"
grep -q "has min.insync.replicas 1, below kafka.min_insync_replicas 2" <<<"$warnings" ||
    fail "no warning for min.insync.replicas: $warnings"
grep -q "keeps records 172800000 ms, less than kafka.min_retention 2592000000 ms" <<<"$warnings" ||
    fail "no warning for the retention: $warnings"
grep -q "warn kafka: topic 'metrics' has replication factor 1" "$RELAY_LOG" ||
    fail "the replication factor warning is not in the log"
send --start 3000 --lines 2000 >/dev/null || fail "lpsend after the warnings failed"
wait_counts vm "$(expected_counts 5000)" 60
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
