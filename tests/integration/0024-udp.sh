#!/usr/bin/env bash
# timeout: 300
# asan: yes
# Line protocol over UDP (udp[]): two listeners, one with database udp and nanosecond
# timestamps, one with database udp_s and precision s. 20,000 and 5,000 points in
# datagrams of 25 lines reach InfluxDB and a VictoriaMetrics without deduplication
# exactly once, with their values and times; two bad lines of one datagram are
# dead-lettered naming the listener and their line numbers while the rest of it is
# kept; 5,000 points sent just before a SIGTERM are taken from the socket buffer and
# made durable before the relay exits 0, and delivered after its restart.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
# No deduplication: a point delivered twice shows as two samples.
export VM_FLAGS=-dedup.minScrapeInterval=0s
. "$(dirname "$0")/../lib/forward.sh"

start_kafka
start_influxdb
start_victoriametrics
for db in udp udp_s; do influx_query "$db" "CREATE DATABASE $db" >/dev/null; done
UDP_A=$(free_port)
UDP_B=$(free_port)
relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
udp:
  - listen: 127.0.0.1:$UDP_A
    database: udp
  - listen: 127.0.0.1:$UDP_B
    database: udp_s
    precision: s"
start_relay
for c in influx vm; do
    wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions"
done
wait_relay_log "udp line protocol on '127.0.0.1:$UDP_B': database 'udp_s', precision s" 5 ||
    fail "the listener is not in the log"

# send PORT MEASUREMENT FIRST COUNT UNIT: points MEASUREMENT,host=hN v=Ii, I from FIRST,
# timestamps 1700000000 + I ms (UNIT ns) or + I s (UNIT s), 25 lines a datagram, paced
# so that the socket buffer never overflows.
send_udp()
{
    python3 - "$@" <<'PY'
import socket, sys, time
port, meas, first, n, unit = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def ts(i):
    return 1700000000 + i if unit == "s" else (1700000000000 + i) * 1000000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(first, first + n, 25):
    s.sendto("".join(f"{meas},host=h{j % 10} v={j}i {ts(j)}\n" for j in range(i, min(i + 25, first + n))).encode(),
             ("127.0.0.1", port))
    if i % 1000 == 0:
        time.sleep(0.005)
PY
}
accepted() { relay_metric 'tsrelay_points_accepted_total{listener="udp"}'; }
wait_accepted()
{
    local want=$1 i
    for ((i = 0; i < 300; i++)); do
        [ "$(accepted)" -ge "$want" ] && return 0
        sleep 0.1
    done
    fail "the relay took $(accepted) udp points, want $want"
}

log "20,000 points to database udp, 5,000 to udp_s (precision s), a datagram with two bad lines"
send_udp "$UDP_A" udpm 0 20000 ns
send_udp "$UDP_B" udps 0 5000 s
printf 'udpm,host=x v=-1i 1700000000000000001\nnot line protocol\nudpm,host=x v=1i notatime\nudpm,host=y v=-2i 1700000000000000002\n' |
    python3 -c 'import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(sys.stdin.buffer.read(), ("127.0.0.1", int(sys.argv[1])))' "$UDP_A"
wait_accepted 25002

# counts DB MEASUREMENT: "count sum" at InfluxDB
counts()
{
    influx_query "$1" "SELECT count(v), sum(v) FROM $2" | python3 -c '
import json, sys
s = json.load(sys.stdin)["results"][0].get("series")
print("%d %d" % (s[0]["values"][0][1], s[0]["values"][0][2]) if s else "0 0")'
}
# vm_samples METRIC: samples VictoriaMetrics holds (every copy: reduce_mem_usage=1 reads
# them as stored, not merged by the query layer), and the sum of the distinct points
# (from the ordinary export: see tests/tools/tsdb_count.py on that mode's values)
vm_samples()
{
    local raw
    vm_flush
    raw=$(curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1" -d start=0 -d reduce_mem_usage=1 |
        python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))')
    echo "$raw $(curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1" -d start=0 | python3 -c '
import json, sys
print(int(sum(sum(json.loads(l)["values"]) for l in sys.stdin if l.strip())))')"
}
wait_counts()
{
    local want_a=$1 want_b=$2 i
    for ((i = 0; i < 60; i++)); do
        [ "$(counts udp udpm)" = "$want_a" ] && [ "$(counts udp_s udps)" = "$want_b" ] &&
            [ "$(vm_samples 'udpm_v{db="udp"}')" = "$want_a" ] &&
            [ "$(vm_samples 'udps_v{db="udp_s"}')" = "$want_b" ] && return 0
        sleep 1
    done
    log "influx udpm $(counts udp udpm), udps $(counts udp_s udps); vm udpm $(vm_samples 'udpm_v{db="udp"}'), udps $(vm_samples 'udps_v{db="udp_s"}')"
    fail "the clusters do not hold the points (want udpm '$want_a', udps '$want_b')"
}
wait_counts "20002 $((20000 * 19999 / 2 - 3))" "5000 $((5000 * 4999 / 2))"

log "values and times as sent"
got=$(influx_query udp_s "SELECT v FROM udps WHERE host = 'h3' ORDER BY time LIMIT 1")
grep -q '"2023-11-14T22:13:23Z",3' <<<"$got" || fail "udps h3's first point: $got"
got=$(influx_query udp "SELECT v FROM udpm WHERE host = 'h7' ORDER BY time LIMIT 1")
grep -q '"2023-11-14T22:13:20.007Z",7' <<<"$got" || fail "udpm h7's first point: $got"

log "the bad lines: dead-lettered with the listener and their line numbers"
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H)
assert_eq "$(grep -c 'src=udp ' <<<"$dlq")" 2 "dead-lettered udp lines"
hdrs=$(grep 'src=udp ' <<<"$dlq")
grep -q 'line=2 ' <<<"$hdrs" || fail "line 2 not named: $hdrs"
grep -q 'line=3 ' <<<"$hdrs" || fail "line 3 not named: $hdrs"
assert_eq "$(grep -c 'db=udp ' <<<"$hdrs")" 2 "the listener's database on the dead-lettered lines"
grep -qx 'not line protocol' <<<"$dlq" || fail "the raw line is not in the dead-letter record"
assert_eq "$(relay_metric 'tsrelay_points_rejected_total{listener="udp"}')" 2 "rejected udp points"

log "5,000 points sent just before SIGTERM are made durable before the exit"
send_udp "$UDP_A" udpm 20000 5000 ns
stop_relay 60
assert_eq "$RELAY_EXIT" 0 "exit code after SIGTERM"
start_relay
wait_counts "25002 $((25000 * 24999 / 2 - 3))" "5000 $((5000 * 4999 / 2))"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
