#!/usr/bin/env bash
# tools/demo.sh — the main job, locally, in one command (README's first command).
#
# Installs what is missing (tools/setup.sh), builds, starts a local Kafka (KRaft),
# InfluxDB and VictoriaMetrics on free loopback ports, starts tsrelay with
# config/example.yaml (its ports and broker address rewritten to those), sends sample
# metrics over HTTP (InfluxDB line protocol) and Graphite (TCP) and JSON sensor readings
# into a Kafka topic the relay reads (inputs.kafka), and shows what the
# relay reports, what Kafka holds, and what reached InfluxDB and VictoriaMetrics. On a terminal it then waits for Enter so you can
# poke at it (the URLs are printed); everything it started is stopped on exit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tools/setup.sh
make -j2 all >/dev/null
. tests/lib/harness.sh
. tests/lib/relay.sh
export KEEP_TMP=${KEEP_TMP:-}

log "starting kafka, influxdb and victoriametrics"
start_kafka
start_influxdb
VM_FLAGS="-dedup.minScrapeInterval=1ms" start_victoriametrics

RELAY_HTTP_PORT=$(free_port)
RELAY_GRAPHITE_PORT=$(free_port)
RELAY_ADMIN_PORT=$(free_port)
export RELAY_HTTP_PORT RELAY_GRAPHITE_PORT RELAY_ADMIN_PORT
sed -e "s#127.0.0.1:8086 #127.0.0.1:$RELAY_HTTP_PORT #" \
    -e "s#127.0.0.1:2003 #127.0.0.1:$RELAY_GRAPHITE_PORT #" \
    -e "s#127.0.0.1:8093 #127.0.0.1:$RELAY_ADMIN_PORT #" \
    -e "s#brokers: 127.0.0.1:9092#brokers: $KAFKA_BROKERS#" \
    -e "s#http://127.0.0.1:8186#$INFLUX_URL#" \
    -e "s#http://127.0.0.1:8428#$VM_URL#" \
    -e "s#state_dir: ./tmp/state#state_dir: $TSR_TMP/state#" \
    config/example.yaml >"$TSR_TMP/relay.yaml"
# The example's Kafka input, switched on: sensors already publishing JSON into 'oceanic'.
sed -i '/^# inputs:/,/^$/s/^# //' "$TSR_TMP/relay.yaml"
log "a sensor gateway publishes 500 JSON readings into Kafka topic 'oceanic'"
now_ms=$(($(date +%s) * 1000))
for ((i = 0; i < 500; i++)); do
    printf '{"station": "st%d", "ts": %d, "pressure": %d.5, "temperature": 21.5, "visibility": 80.1}\n' \
        $((i % 5)) $((now_ms - 500 + i)) $((1000 + i % 7))
done | kcat -P -q -b "$KAFKA_BROKERS" -t oceanic
bin/tsrelay --check-config -c "$TSR_TMP/relay.yaml"
start_relay
log "tsrelay is up: http :$RELAY_HTTP_PORT, graphite :$RELAY_GRAPHITE_PORT, admin :$RELAY_ADMIN_PORT"

log "sending 10,000 points over HTTP (/write and /api/v2/write) and 1,000 over Graphite"
python3 tests/tools/lpsend.py --port "$RELAY_HTTP_PORT" --lines 10000 --batch 1000 --mix --db demo --step-ns 1000000
python3 - "$RELAY_GRAPHITE_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
now = int(time.time())
s.sendall("".join(f"servers.web{i % 4:02d}.cpu.idle {50 + i % 50} {now - i}\n"
                  for i in range(1000)).encode())
s.close()
PY
printf 'demo,host=a value=1\nthis line is not line protocol\n' |
    curl -s -w '  <- HTTP %{http_code} for a body with one bad line\n' --data-binary @- \
        "http://127.0.0.1:$RELAY_HTTP_PORT/write?db=demo"
sleep 1

echo
echo "== GET /status (admin), abridged =="
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('kafka:', {k: d['kafka'][k] for k in ('ready', 'partitions', 'records', 'errors')})
for n, l in d['listeners'].items():
    print(f'listener {n}:', l)
for i in d['inputs']:
    print(f\"kafka input {i['topic']} ({i['format']} into {i['database']}): {i['state']}, {i['records']} records read, {i['points']} points, lag {i['lag']}\")
for c in d['clusters']:
    print(f\"cluster {c['name']} ({c['type']}): {c['state']}, lag {c['lag_seconds']}s / {c['lag_points']} points, delivered {c['points_delivered']}\")"
echo "== selected /metrics =="
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/metrics" | grep -E '^tsrelay_(points_accepted|points_rejected|kafka_records|kafka_up|dlq_records)'
echo "== in Kafka: topic '$RELAY_TOPIC' =="
echo "lines: $("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" -c)"
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC" | grep -m 3 '^cpu,' || true
echo "dead-letter topic '$RELAY_TOPIC.dlq':"
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H | head -4
echo
echo "== delivered to the clusters =="
for ((i = 0; i < 100; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/clusters/influx/ready")" = 200 ] &&
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_ADMIN_PORT/clusters/vm/ready")" = 200 ] && break
    sleep 0.2
done
sleep 1
vm_flush
echo "InfluxDB $INFLUX_URL, database 'metrics':"
influx_query metrics 'SELECT count(fi) FROM /^m[0-6]$/' | python3 -c "import json,sys; r=json.load(sys.stdin)['results'][0]; print('  points of lpsend:', sum(s['values'][0][1] for s in r.get('series', [])))"
influx_query metrics 'SELECT count(pressure) FROM kafka_consumer' | python3 -c "import json,sys; r=json.load(sys.stdin)['results'][0]; print('  kafka input (JSON) readings:', sum(s['values'][0][1] for s in r.get('series', [])))"
influx_query metrics 'SELECT count(idle) FROM cpu' | python3 -c "import json,sys; r=json.load(sys.stdin)['results'][0]; print('  graphite cpu points:', sum(s['values'][0][1] for s in r.get('series', [])))"
echo "VictoriaMetrics $VM_URL:"
curl -s "$VM_URL/api/v1/export" -d 'match[]={__name__=~"m[0-6]_fi|cpu_idle|kafka_consumer_pressure"}' -d start=0 |
    python3 -c "import json,sys; print('  samples:', sum(len(json.loads(l)['values']) for l in sys.stdin if l.strip()))"
echo
echo "Try: stop VictoriaMetrics (kill $VM_PID), send more, watch /status show it down and its"
echo "backlog grow, start it again and watch it catch up."
if [ -t 0 ]; then
    echo
    echo "Everything is still running. Try:"
    echo "  curl -i --data-binary 'cpu,host=me usage=42' 'http://127.0.0.1:$RELAY_HTTP_PORT/write?db=demo'"
    echo "  curl -s http://127.0.0.1:$RELAY_ADMIN_PORT/metrics"
    read -r -p "Press Enter to stop everything. " _
fi
stop_relay
log "demo finished (tsrelay exit code $RELAY_EXIT)"
