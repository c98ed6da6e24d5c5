#!/usr/bin/env bash
# bench/kafka_input.sh — Kafka topic inputs (inputs.kafka, `make bench`): CPU per point
# of the relay reading a topic of JSON sensor readings (format json, Telegraf's json
# layout: a tag, three numbers and a millisecond time key) against the same points as
# line protocol (format influx), one point a record as devices publish them, and the
# real Telegraf 1.37 reading the same JSON topic (kafka_consumer, data_format json, into
# outputs.discard) in the same run. BENCH_INPUT_RECORDS (500,000) records of
# BENCH_INPUT_SERIES (10,000) series in topics of 4 partitions, written once; each
# round reads them from the start in a new consumer group and makes every point durable
# in the relay's topic (no clusters, as bench/run.sh). CPU of the reader from its start
# until its group has committed every record; each row BENCH_INPUT_ROUNDS (2) times,
# the lowest kept.
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/telegraf.sh"

N=${BENCH_INPUT_RECORDS:-500000}
SERIES=${BENCH_INPUT_SERIES:-10000}
ROUNDS=${BENCH_INPUT_ROUNDS:-2}
PYLIB=$("$REPO_ROOT/tools/python/fetch.sh") || fail "confluent-kafka missing: run tools/setup.sh"
export PYTHONPATH="$PYLIB:$PYTHONPATH"
TELEGRAF=$(telegraf_bin)

start_kafka
log "writing $N records of JSON and of line protocol"
python3 - "$KAFKA_BROKERS" "$N" "$SERIES" <<'PY'
import json, sys
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
brokers, n, series = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
admin = AdminClient({"bootstrap.servers": brokers})  # kept: its futures need it alive
for f in admin.create_topics([NewTopic(t, 4, 1) for t in ("bench-json", "bench-lp")]).values():
    f.result(30)
p = Producer({"bootstrap.servers": brokers, "linger.ms": 20, "batch.num.messages": 10000,
              "queue.buffering.max.messages": 500000})
t0 = 1_700_000_000_000
for i in range(n):
    s, ts = f"s{i % series}", t0 + i
    pr, te, vi = i * 0.5, 20 + i % 7, 80.1
    while True:
        try:
            p.produce("bench-json", json.dumps({"station": s, "ts": ts, "pressure": pr,
                      "temperature": te, "visibility": vi}).encode(), key=s)
            p.produce("bench-lp", f"kafka_consumer,station={s} pressure={pr},temperature={te},"
                      f"visibility={vi} {ts}000000".encode(), key=s)
            break
        except BufferError:
            p.poll(0.05)
    if i % 1000 == 0:
        p.poll(0)
assert p.flush(120) == 0
PY

# committed GROUP TOPIC: records the group has committed, over the topic's partitions
committed()
{
    python3 - "$KAFKA_BROKERS" "$1" "$2" <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2]})
print(sum(max(tp.offset, 0) for tp in c.committed([TopicPartition(sys.argv[3], p) for p in range(4)], timeout=10)))
c.close()
PY
}
# read_all NAME PID GROUP TOPIC: waits until GROUP committed every record of TOPIC;
# prints PID's CPU-us per record from START_CPU to then
read_all()
{
    local i
    for ((i = 0; i < 1200; i++)); do
        alive "$2" || fail "$1 exited"
        [ "$(committed "$3" "$4")" -ge "$N" ] && break
        sleep 0.5
    done
    [ "$i" -lt 1200 ] || fail "$1: $(committed "$3" "$4") of $N records committed after 600 s"
    calc "printf \"%.3f\", ($(cpu_s "$2") - $START_CPU) * 1e6 / $N"
}

relay_round() # FORMAT TOPIC GROUP
{
    local extra=""
    [ "$1" = json ] && extra="
      json:
        tag_keys: [station]
        time_key: ts
        time_format: unix_ms"
    relay_config "inputs:
  kafka:
    - topic: $2
      group: $3
      format: $1
      database: bench$extra"
    start_relay
    START_CPU=$(cpu_s "$RELAY_PID")
    hwm_reset "$RELAY_PID"
    us=$(read_all "tsrelay $1" "$RELAY_PID" "$3" "$2")
    hwm=$(hwm_mb "$RELAY_PID")
    stop_relay >/dev/null
    echo "$us $hwm"
}

telegraf_round() # GROUP
{
    cat >"$TSR_TMP/telegraf.conf" <<CONF
[agent]
  interval = "1s"
  flush_interval = "1s"
  metric_batch_size = 5000
  metric_buffer_limit = 200000
  omit_hostname = true
[[inputs.kafka_consumer]]
  brokers = ["$KAFKA_BROKERS"]
  topics = ["bench-json"]
  consumer_group = "$1"
  offset = "oldest"
  max_undelivered_messages = 10000
  data_format = "json"
  name_override = "kafka_consumer"
  tag_keys = ["station"]
  json_time_key = "ts"
  json_time_format = "unix_ms"
[[outputs.discard]]
CONF
    : >"$TSR_TMP/telegraf.log"
    start_telegraf "$TSR_TMP/telegraf.conf"
    START_CPU=$(cpu_s "$TELEGRAF_PID")
    us=$(read_all telegraf "$TELEGRAF_PID" "$1" bench-json)
    hwm=$(hwm_mb "$TELEGRAF_PID")
    stop_telegraf
    echo "$us $hwm"
}

declare -A CPU HWM ALL
for ((round = 1; round <= ROUNDS; round++)); do
    for what in tsrelay-json tsrelay-lp telegraf-json; do
        case $what in
        tsrelay-json) m=$(relay_round json bench-json "bench-json-$round") ;;
        tsrelay-lp) m=$(relay_round influx bench-lp "bench-lp-$round") ;;
        telegraf-json) m=$(telegraf_round "telegraf-json-$round") ;;
        esac
        read -r us hwm <<<"$m"
        log "$what round $round: $us CPU-us a record, peak RSS $hwm MB"
        ALL[$what]+=" $us"
        if [ -z "${CPU[$what]:-}" ] || [ "$(best "$us" "${CPU[$what]}")" = "$us" ]; then
            CPU[$what]=$us
            HWM[$what]=$hwm
        fi
    done
done

{
    echo
    echo "kafka inputs: $N records (one point of 3 fields each) of $SERIES series, read from the start, lowest CPU of $ROUNDS rounds"
    printf '%-14s %13s %10s   %s\n' "" "CPU us/point" "peak RSS" "rounds"
    for what in tsrelay-json tsrelay-lp telegraf-json; do
        printf '%-14s %13s %8s MB  %s\n' "$what" "${CPU[$what]}" "${HWM[$what]}" "${ALL[$what]# }"
    done
    echo "tsrelay json / line protocol: $(ratio "${CPU[tsrelay-json]}" "${CPU[tsrelay-lp]}")x;" \
        "tsrelay / telegraf, json: $(ratio "${CPU[tsrelay-json]}" "${CPU[telegraf-json]}")"
} | tee -a "$REPO_ROOT/build/bench-kafka-input.txt"
