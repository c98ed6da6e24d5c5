#!/usr/bin/env bash
# timeout: 400
# asan: yes
# The cardinality guard: a client creates 50,000 new series in measurement req, capped at
# 1,000 series a window; every request also carries points of measurement ok. Exactly
# 1,000 series of req reach VictoriaMetrics (no deduplication), every ok point does, the
# refused lines get InfluxDB's partial-write 400 naming the guard and land in the
# dead-letter topic with that reason, /status, /metrics and tsrelayctl show req over its
# cap with id as its top tag key. 200,000 more new series leave the relay's RSS flat
# (release build only: under ASan RSS grows with its quarantine).
# Graphite: a path with a timestamp component is refused with graphite.reject_ids, and
# cardinality.max_measurements caps the measurements of database graphite.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
. "$(dirname "$0")/../lib/forward.sh"
export VM_FLAGS=-dedup.minScrapeInterval=0s

start_kafka
start_victoriametrics
relay_config "cardinality:
  max_series: 1000
  max_measurements: 20
  window: 1h
graphite:
  reject_ids: true
clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
start_relay
wait_relay_log "cluster 'vm': delivering" 30 || fail "cluster vm got no partitions"

# send FIRST N: series req,id=FIRST..FIRST+N-1 and 10 ok series, in 5,000-line requests;
# prints each request's status and whether a 400 names the guard.
send_series()
{
    python3 - "$RELAY_HTTP_PORT" "$1" "$2" <<'PY'
import sys, urllib.request, urllib.error
port, first, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
T0 = 1_700_000_000_000
for start in range(first, first + n, 5000):
    lines = [f"req,host=h{i % 4},id={i} v={i}i {T0 + i}" for i in range(start, min(start + 5000, first + n))]
    lines += [f"ok,k={j % 10} v={start + j}i {T0 + start + j}" for j in range(100)]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/write?db=test&precision=ms",
                                 data="\n".join(lines).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            print(r.status, "-")
    except urllib.error.HTTPError as e:
        body = e.read().decode()
        print(e.code, "guard" if "cardinality guard: measurement 'req' of database 'test' has 1000 series this window (cardinality.max_series)" in body else body[:300])
PY
}
send_series 0 50000 >"$TSR_TMP/statuses" || fail "writes failed"
sort "$TSR_TMP/statuses" | uniq -c >&2
assert_eq "$(grep -c '^400 guard$' "$TSR_TMP/statuses")" 10 "requests answered 400 naming the guard"

wait_req()
{
    local i got
    for ((i = 0; i < 60; i++)); do
        vm_flush
        got=$(curl -s "$VM_URL/api/v1/export" --data-urlencode 'match[]={__name__=~"req_v|ok_v",db="test"}' |
            python3 -c '
import json, sys
series = {"req_v": 0, "ok_v": 0}; samples = dict(series)
for l in sys.stdin:
    j = json.loads(l); n = j["metric"]["__name__"]
    series[n] += 1; samples[n] += len(j["values"])
print(series["req_v"], samples["req_v"], series["ok_v"], samples["ok_v"])')
        [ "$got" = "$1" ] && return 0
        sleep 1
    done
    fail "VictoriaMetrics holds (req series, req samples, ok series, ok samples) '$got', want '$1'"
}
wait_req "1000 1000 10 1000"

assert_eq "$(relay_metric tsrelay_cardinality_refused_total)" 49000 "points refused by the guard"
assert_eq "$(relay_metric 'tsrelay_points_rejected_total{listener="http"}')" 49000 "points rejected at http"
dlq=$("$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -c -T 10)
assert_eq "$dlq" 49000 "refused lines in the dead-letter topic"
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H -T 10 | sed 's/\\x20/ /g' >"$TSR_TMP/dlq.txt"
grep -q "reason=cardinality guard: measurement 'req' of database 'test' has 1000 series" "$TSR_TMP/dlq.txt" ||
    fail "dead letters do not carry the guard's reason: $(grep -m3 '^#' "$TSR_TMP/dlq.txt")"
admin_get /status | python3 -c '
import json, sys
g = json.load(sys.stdin)["shaping"]["cardinality"]
m = g["measurements"][0]
assert (m["db"], m["measurement"], m["series"], m["cap"], m["refused"]) == ("test", "req", 1000, 1000, 49000), m
assert m["top_tags"][0]["key"] == "id", m["top_tags"]
assert g["series"] == 1010, g
print("status:", m)' >&2 || fail "/status shaping.cardinality"
ctl status >"$TSR_TMP/ctl.out" || fail "tsrelayctl status"
grep -q "OVER test/req: 1000 of 1000 series, 49,000 points refused; top tags: id" "$TSR_TMP/ctl.out" ||
    fail "tsrelayctl status: $(grep -A3 cardinality "$TSR_TMP/ctl.out")"

rss() { awk '/^VmRSS/ {print $2}' "/proc/$RELAY_PID/status"; }
before=$(rss)
send_series 100000 200000 >"$TSR_TMP/statuses2" || fail "writes failed"
after=$(rss)
log "relay RSS before 200,000 more new series ${before} KiB, after ${after} KiB"
# ASan's quarantine and shadow memory grow with every allocation: RSS says nothing there.
if [ -n "${ASAN_OPTIONS:-}" ]; then
    log "ASan build: the RSS bound is checked by the release run"
else
    [ $((after - before)) -lt 16384 ] || fail "RSS grew by $(((after - before) / 1024)) MiB"
fi
wait_req "1000 1000 10 5000"

log "graphite: ID components and max_measurements"
now=$(date +%s)
{
    echo "stats.application.dc1.1557471341.count 4 $now"
    for i in $(seq 1 25); do echo "servers.web$i.load 1 $now"; done
} | python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.stdin.buffer.read()); s.close()' "$RELAY_GRAPHITE_PORT"
for ((i = 0; i < 50; i++)); do
    [ "$(relay_metric 'tsrelay_points_rejected_total{listener="graphite_tcp"}')" = 6 ] && break
    sleep 0.2
done
assert_eq "$(relay_metric 'tsrelay_points_rejected_total{listener="graphite_tcp"}')" 6 \
    "graphite lines refused (one ID path, 5 measurements over 20)"
"$TOOLS_DIR/topic_dump" -b "$KAFKA_BROKERS" -t "$RELAY_TOPIC.dlq" -H -T 10 | sed 's/\\x20/ /g' >"$TSR_TMP/dlq.txt"
grep -q "path component '1557471341' looks like a timestamp or a number (graphite.reject_ids)" "$TSR_TMP/dlq.txt" ||
    fail "no dead letter for the ID path"
grep -q "cardinality guard: database 'graphite' has 20 measurements this window" "$TSR_TMP/dlq.txt" ||
    fail "no dead letter for the measurements over max_measurements"
stop_relay
assert_eq "$RELAY_EXIT" 0 "relay exit code"
