#!/usr/bin/env bash
# timeout: 300
# Graphite plaintext over TCP and UDP, through templates: every line arrives in Kafka as
# the line-protocol point the template makes (measurement, tags, field, ns timestamp),
# counted and compared; bad lines are counted and dead-lettered, the connection lives on.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"

start_kafka
relay_config "graphite:
  database: graphite
  templates:
    - \"servers.*.cpu.* .host.measurement.field\"
    - \"stats.* ..measurement.field* region=eu\""
start_relay

N=20000
log "sending $N lines over TCP and $N over UDP"
python3 - "$RELAY_GRAPHITE_PORT" "$N" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
t0 = 1700000000
tcp = socket.create_connection(("127.0.0.1", port))
buf = []
for i in range(n):
    if i % 2:
        buf.append(f"servers.web{i % 10}.cpu.user {i} {t0 + i}\n")
    else:
        buf.append(f"stats.api.latency.p99 {i}.5 {t0 + i}\n")
    if len(buf) == 500:
        tcp.sendall("".join(buf).encode()); buf = []
tcp.sendall("".join(buf).encode())
tcp.sendall(b"not a graphite line\nservers.x.cpu.user notanumber 1\n")
tcp.close()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(0, n, 20):
    # 20 lines per datagram, paced so the socket buffer never overflows
    udp.sendto("".join(f"udp.metric.m{j % 5} {j} {t0 + j}\n" for j in range(i, i + 20)).encode(),
               ("127.0.0.1", port))
    if i % 2000 == 0:
        time.sleep(0.01)
PY

# UDP has no end-of-stream: wait until the relay has taken every datagram.
for ((i = 0; i < 300; i++)); do
    [ "$(relay_metric 'tsrelay_points_accepted_total{listener="graphite_udp"}')" -ge "$N" ] &&
        [ "$(relay_metric 'tsrelay_points_accepted_total{listener="graphite_tcp"}')" -ge "$N" ] && break
    sleep 0.1
done
topic_lines "$RELAY_TOPIC" >"$TSR_TMP/got"
assert_eq "$(grep -c . "$TSR_TMP/got")" $((2 * N)) "points in kafka"
assert_eq "$(grep -c '^cpu,host=web[0-9] user=' "$TSR_TMP/got")" $((N / 2)) "servers.* template points"
assert_eq "$(grep -c '^latency,region=eu p99=' "$TSR_TMP/got")" $((N / 2)) "stats.* template points"
assert_eq "$(grep -c '^udp\.metric\.m[0-4] value=' "$TSR_TMP/got")" "$N" "default (no template) points"
grep -qx 'cpu,host=web1 user=1 1700000001000000000' "$TSR_TMP/got" || fail "servers.web1.cpu.user 1 not as expected"
grep -qx 'latency,region=eu p99=2.5 1700000002000000000' "$TSR_TMP/got" || fail "stats line 2 not as expected"
grep -qx 'udp.metric.m3 value=3 1700000003000000000' "$TSR_TMP/got" || fail "udp line 3 not as expected"
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric tsrelay_dlq_records_total)" -ge 2 ] && break
    sleep 0.1
done
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H)
assert_eq "$(grep -c 'src=graphite_tcp' <<<"$dlq")" 2 "bad graphite lines dead-lettered"
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
