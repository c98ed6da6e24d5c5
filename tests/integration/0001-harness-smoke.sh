#!/usr/bin/env bash
# 0001-harness-smoke: the harness starts real Kafka, InfluxDB and VictoriaMetrics on free
# loopback ports, each one answers, and each one stops. Every other integration test
# stands on this, so when it fails, look here first.
# timeout: 180
# asan: no
. "$(dirname "$0")/../lib/harness.sh"

topic_dump=$TOOLS_DIR/topic_dump
[ -x "$topic_dump" ] || fail "$topic_dump not built (make tools)"

start_kafka
start_influxdb
start_victoriametrics

# Kafka: auto-create a topic by producing one record to it, read it back with headers.
printf 'cpu,host=a usage=1 1700000000000000000\n' |
    kcat -b "$KAFKA_BROKERS" -P -t smoke -p 0 -H src=0001 -X topic.request.required.acks=all
out=$("$topic_dump" -b "$KAFKA_BROKERS" -t smoke -H)
assert_eq "$out" $'# src=0001 partition=0 offset=0\ncpu,host=a usage=1 1700000000000000000' \
    "topic_dump -H"
assert_eq "$("$topic_dump" -b "$KAFKA_BROKERS" -t smoke -c)" 1 "topic_dump -c"
partitions=$(kcat -b "$KAFKA_BROKERS" -L -t smoke | grep -c 'partition [0-9]*, leader') || true
assert_eq "$partitions" "${KAFKA_PARTITIONS:-4}" "partitions of an auto-created topic"
# A missing topic is an error with exit code 1, not a hang and not a new topic.
rc=0
"$topic_dump" -b "$KAFKA_BROKERS" -t no-such-topic -T 2 2>/dev/null || rc=$?
assert_eq "$rc" 1 "topic_dump exit code for a missing topic"
if kcat -b "$KAFKA_BROKERS" -L | grep -q '"no-such-topic"'; then
    fail "topic_dump created the topic it was asked to read"
fi

# InfluxDB: create a database, write a point, query it back.
influx_query "" 'CREATE DATABASE smoke' >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$INFLUX_URL/write?db=smoke&precision=s" \
    --data-binary 'cpu,host=a usage=42 1700000000')
assert_eq "$code" 204 "influxdb /write status"
res=$(influx_query smoke 'SELECT usage FROM cpu WHERE host = '"'a'")
case $res in
*'"values":[["2023-11-14T22:13:20Z",42]]'*) ;;
*) fail "influxdb query answered $res" ;;
esac

# VictoriaMetrics: write in line protocol, read back through the export API.
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$VM_URL/write" \
    --data-binary 'cpu,host=a usage=7 1700000000000000000')
assert_eq "$code" 204 "victoriametrics /write status"
vm_flush
res=$(curl -sS -m 10 "$VM_URL/api/v1/export" --data-urlencode 'match[]=cpu_usage{host="a"}')
case $res in
*'"values":[7],"timestamps":[1700000000000]'*) ;;
*) fail "victoriametrics export answered '$res'" ;;
esac

# Kafka restarts on the same port and keeps its data.
restart_kafka
assert_eq "$("$topic_dump" -b "$KAFKA_BROKERS" -t smoke -c)" 1 "records after a kafka restart"

stop_victoriametrics
stop_influxdb
stop_kafka
port_open "$KAFKA_PORT" && fail "kafka still listens after stop_kafka"
port_open "$INFLUX_PORT" && fail "influxdb still listens after stop_influxdb"
port_open "$VM_PORT" && fail "victoriametrics still listens after stop_victoriametrics"
log "ok"
