#!/usr/bin/env bash
# timeout: 300
# asan: yes
# Kafka topics as inputs (inputs.kafka), the reference design: Confluent's Python
# client publishes 10,000 JSON sensor readings and 20 malformed messages into topic
# oceanic (3 partitions) while the relay reads it into database sensors; the relay is
# SIGKILLed mid-way and restarted. Every reading reaches InfluxDB and a VictoriaMetrics
# without deduplication with its measurement, tags, fields and time (a reading read
# twice after the kill is the same point); the 20 malformed messages are in the
# dead-letter topic with their reason, topic, partition and offset; lag and counts show
# in /status and /metrics. Two more inputs take line protocol and Graphite lines. A
# second relay joins and the two share the topic's partitions; 3,000 more readings are
# taken between them, each exactly once.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
# No deduplication: a point delivered twice shows as two samples.
export VM_FLAGS=-dedup.minScrapeInterval=0s
. "$(dirname "$0")/../lib/forward.sh"

PYLIB=$("$REPO_ROOT/tools/python/fetch.sh" 2>/dev/null) || fail "confluent-kafka missing: run tools/setup.sh"
produce() { PYTHONPATH=$PYLIB python3 "$REPO_ROOT/tests/tools/kafka_json_producer.py" --brokers "$KAFKA_BROKERS" --topic oceanic "$@"; }

start_kafka
start_influxdb
start_victoriametrics
for db in sensors lp gr; do influx_query "$db" "CREATE DATABASE $db" >/dev/null; done
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
inputs:
  kafka:
    - topic: oceanic
      format: json
      database: sensors
      json:
        measurement: kafka_consumer
        tag_keys: [station]
        time_key: ts
        time_format: unix_ms
    - topic: lp-in
      format: influx
      database: lp
      precision: s
    - topic: gr-in
      format: graphite
      database: gr
      graphite:
        templates: [\"measurement.host.field\"]"

log "--check-config names an input whose time layout cannot be read"
sed 's/time_format: unix_ms/time_format: yesterday/' "$TSR_TMP/relay.yaml" >"$TSR_TMP/bad.yaml"
rc=0
out=$("$TSRELAY_BIN" --check-config -c "$TSR_TMP/bad.yaml" 2>&1) || rc=$?
assert_eq "$rc" 2 "--check-config exit code for a bad time_format"
grep -q "kafka input 'oceanic': time_format 'yesterday' is neither" <<<"$out" || fail "--check-config said: $out"

log "the first 5,000 readings and 10 malformed messages, before the relay starts"
produce --first 0 --count 5000 --bad 10
start_relay
wait_relay_log "kafka input 'oceanic': reading 3 partitions" 30 || fail "the oceanic input got no partitions"
records() { relay_metric 'tsrelay_input_records_total{topic="oceanic"}'; }

log "5,000 more and 10 malformed, paced over 4 s; the relay is SIGKILLed mid-way"
produce --first 5000 --count 5000 --bad 10 --rate 1250 &
producer=$!
sleep 1.5
read_before=$(records)
kill_relay
log "killed after reading $read_before records; restarting"
wait "$producer" || fail "the producer failed"
start_relay

log "line protocol and Graphite inputs: 1,000 lines each, one bad line each"
PYTHONPATH=$PYLIB python3 - "$KAFKA_BROKERS" <<'PY'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
for i in range(0, 1000, 100):
    p.produce("lp-in", "".join(f"lpm,host=h{j % 4} v={j}i {1700000000 + j}\n" for j in range(i, i + 100)).encode())
    p.produce("gr-in", "".join(f"grm.h{j % 4}.v {j} {1700000000 + j}\n" for j in range(i, i + 100)).encode())
p.produce("lp-in", b"lpm,host=x v=1i\nnot line protocol\n")
p.produce("gr-in", b"grm.x.v notanumber 1700000000\n")
assert p.flush(30) == 0
PY

# influx_counts DB QUERY: the first row's values after the time, space-separated
influx_counts()
{
    influx_query "$1" "$2" | python3 -c '
import json, sys
s = json.load(sys.stdin)["results"][0].get("series")
print(" ".join(str(v) for v in s[0]["values"][0][1:]) if s else "none")'
}
# vm_points METRIC: "RAW DISTINCT SUM" — every sample stored, the distinct (series,
# time) points, and the sum of those distinct points' values
vm_points()
{
    vm_flush
    local raw
    raw=$(curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1" -d start=0 -d reduce_mem_usage=1 |
        python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))')
    echo "$raw $(curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1" -d start=0 | python3 -c '
import json, sys
pts = {}
for l in sys.stdin:
    if l.strip():
        d = json.loads(l)
        for t, v in zip(d["timestamps"], d["values"]):
            pts[(json.dumps(d["metric"], sort_keys=True), t)] = v
print(len(pts), int(sum(pts.values())))')"
}
# wait_readings N T WHAT: until both TSDBs hold readings 0..N-1 (count and sum of pressure;
# VictoriaMetrics' distinct points), T seconds at most; sets got_vm ("RAW DISTINCT SUM")
wait_readings()
{
    local want="$1 $(($1 * ($1 - 1) / 2))" got_influx i
    for ((i = 0; i < $2; i++)); do
        got_influx=$(influx_counts sensors "SELECT count(pressure), sum(pressure) FROM kafka_consumer")
        got_vm=$(vm_points 'kafka_consumer_pressure{db="sensors"}')
        [ "$got_influx" = "$want" ] && [ "${got_vm#* }" = "$want" ] && break
        sleep 1
    done
    log "influx: $got_influx; vm (raw distinct sum): $got_vm"
    assert_eq "$got_influx" "$want" "readings in InfluxDB $3 (count sum)"
    assert_eq "${got_vm#* }" "$want" "distinct readings in VictoriaMetrics $3 (count sum)"
}
wait_readings 10000 90 "after the kill"
log "read twice after the kill: $((${got_vm%% *} - 10000)) readings (the uncommitted cycles)"

log "measurement, tags, fields and time as the readings carry them"
assert_eq "$(influx_counts sensors "SELECT count(pressure) FROM kafka_consumer WHERE station = 's3'")" 1000 "readings of station s3"
got=$(influx_query sensors "SELECT pressure, temperature, visibility, loc_depth FROM kafka_consumer WHERE station = 's7' AND time = 1700000001237ms")
grep -q '"2023-11-14T22:13:21.237Z",1237,25,80.1,37' <<<"$got" || fail "reading 1237: $got"
for f in temperature visibility loc_depth; do
    assert_eq "$(vm_points "kafka_consumer_${f}{db=\"sensors\",station=\"s5\"}" | cut -d' ' -f2)" 1000 "vm $f samples of station s5"
done

log "the malformed messages: dead-lettered with reason, topic, partition and offset"
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H)
# topic_dump -H writes a header's spaces as \x20.
hdrs=$(grep 'tsrelay.src=kafka ' <<<"$dlq" | grep 'tsrelay.topic=oceanic ')
origins=$(grep -oE 'tsrelay.partition=[0-2] tsrelay.offset=[0-9]+ ' <<<"$hdrs" | sort -u)
assert_eq "$(wc -l <<<"$origins")" 20 "distinct dead-lettered oceanic records (by partition and offset)"
assert_eq "$(grep -cvF 'tsrelay.reason=invalid\x20JSON\x20at\x20line\x201,\x20column\x20' <<<"$hdrs" || true)" 0 "dead-letter records without the JSON error as their reason"
log "$(wc -l <<<"$hdrs") dead-letter records for 20 malformed messages (a record read again after the kill is dead-lettered again)"

log "line protocol and Graphite inputs"
for ((i = 0; i < 60; i++)); do
    lp=$(influx_counts lp "SELECT count(v), sum(v) FROM lpm")
    gr=$(influx_counts gr "SELECT count(v), sum(v) FROM grm")
    [ "$lp" = "1001 $((1000 * 999 / 2 + 1))" ] && [ "$gr" = "1000 $((1000 * 999 / 2))" ] && break
    sleep 1
done
assert_eq "$lp" "1001 $((1000 * 999 / 2 + 1))" "line protocol input in InfluxDB (count sum)"
assert_eq "$gr" "1000 $((1000 * 999 / 2))" "graphite input in InfluxDB (count sum)"
got=$(influx_query gr "SELECT v FROM grm WHERE host = 'h2' ORDER BY time LIMIT 1")
grep -q '"2023-11-14T22:13:22Z",2' <<<"$got" || fail "graphite h2's first point: $got"
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H)
assert_eq "$(grep 'tsrelay.topic=lp-in ' <<<"$dlq" | grep -c 'tsrelay.line=2 ')" 1 "dead-lettered line protocol lines (line 2)"
grep -qx 'not line protocol' <<<"$dlq" || fail "the bad line is not in the dead-letter record"
assert_eq "$(grep 'tsrelay.topic=gr-in ' <<<"$dlq" | grep -c 'tsrelay.line=1 ')" 1 "dead-lettered graphite lines"

log "lag and counts in /status and /metrics"
for ((i = 0; i < 50; i++)); do
    [ "$(relay_metric 'tsrelay_input_lag{topic="oceanic"}')" = 0 ] && break
    sleep 0.2
done
assert_eq "$(relay_metric 'tsrelay_input_lag{topic="oceanic"}')" 0 "oceanic lag"
assert_eq "$(relay_metric 'tsrelay_input_partitions{topic="oceanic"}')" 3 "oceanic partitions owned"
admin_get /status | python3 -c '
import json, sys
ins = {i["topic"]: i for i in json.load(sys.stdin)["inputs"]}
o = ins["oceanic"]
assert o["format"] == "json" and o["database"] == "sensors" and o["group"] == "tsrelay-test-input-oceanic", o
assert o["state"] == "reading" and o["partitions"] == 3 and o["lag"] == 0, o
assert o["rejected"] >= 1 and o["records"] >= 1 and o["commits"] >= 1 and o["commit_errors"] == 0, o
assert set(ins) == {"oceanic", "lp-in", "gr-in"}, ins.keys()' || fail "/status inputs: $(admin_get /status)"

log "a second relay joins: the two share oceanic's partitions through the input's group"
R2_ADMIN=$(free_port)
sed -e "s/127.0.0.1:$RELAY_HTTP_PORT/127.0.0.1:$(free_port)/" \
    -e "s/127.0.0.1:$RELAY_GRAPHITE_PORT/127.0.0.1:$(free_port)/" \
    -e "s/127.0.0.1:$RELAY_ADMIN_PORT/127.0.0.1:$R2_ADMIN/" \
    -e "s|^state_dir: .*|state_dir: $TSR_TMP/state2|" "$TSR_TMP/relay.yaml" >"$TSR_TMP/relay2.yaml"
echo "instance: second" >>"$TSR_TMP/relay2.yaml"
"$TSRELAY_BIN" -c "$TSR_TMP/relay2.yaml" >>"$TSR_TMP/relay2.log" 2>&1 </dev/null &
R2_PID=$!
track_pid "$R2_PID" tsrelay2
r2_metric() { { curl -s "http://127.0.0.1:$R2_ADMIN/metrics" || true; } | awk -v m="$1" '$1 == m { print $2; f=1 } END { if (!f) print 0 }'; }
for ((i = 0; i < 600; i++)); do
    alive "$R2_PID" || fail "the second relay exited at start: $(tail -n 5 "$TSR_TMP/relay2.log")"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$R2_ADMIN/ready" || true)" = 200 ] && break
    sleep 0.1
done
parts='tsrelay_input_partitions{topic="oceanic"}'
for ((i = 0; i < 300; i++)); do
    a=$(relay_metric "$parts") b=$(r2_metric "$parts")
    [ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ $((a + b)) = 3 ] && break
    sleep 0.1
done
assert_eq "$((a + b)) $((a >= 1)) $((b >= 1))" "3 1 1" "oceanic partitions of the two relays (sum, each at least one)"
log "split $a + $b after $((i / 10)) s; 3,000 more readings"
points='tsrelay_input_points_total{topic="oceanic"}'
p1=$(relay_metric "$points") p2=$(r2_metric "$points")
produce --first 10000 --count 3000
wait_readings 13000 60 "with two relays"
d1=$(($(relay_metric "$points") - p1)) d2=$(($(r2_metric "$points") - p2))
log "the first relay took $d1 of them, the second $d2; vm samples now ${got_vm%% *}"
assert_eq "$((d1 + d2)) $((d1 > 0)) $((d2 > 0))" "3000 1 1" "readings taken by the two relays (sum, each some)"
stop_pid "$R2_PID" 60
assert_eq "$TSR_STOP_KILLED" 0 "the second relay needed SIGKILL"
wait "$R2_PID" && r2_exit=0 || r2_exit=$?
assert_eq "$r2_exit" 0 "the second relay's exit code after SIGTERM"

log "SIGTERM: the relay exits 0 with the offsets committed"
stop_relay 60
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
grep -q "offsets not committed" "$RELAY_LOG" && fail "a commit failed: $(grep 'offsets not committed' "$RELAY_LOG")"
true
