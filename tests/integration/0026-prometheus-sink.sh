#!/usr/bin/env bash
# timeout: 240
# asan: yes
# Prometheus remote write, out and in. Out (cluster type prometheus): to a real
# Prometheus (Debian's, --web.enable-remote-write-receiver; cluster "prom", database
# rwtest only) and to VictoriaMetrics' /api/v1/write (cluster "vmrw"), from the same
# 10,000 points (recent timestamps, 4 fields: an integer, a float, a boolean and a
# string): each holds exactly 10,000 samples of rw_v, rw_f and rw_b (the string field is
# left out), with their values (sum), tags and db as labels. In (POST /api/v1/write):
# the same Prometheus scrapes itself every second and remote-writes to the relay
# (?db=promin); VictoriaMetrics then holds, over a window of 8 s, exactly the samples of
# up and scrape_samples_scraped Prometheus holds, with the same values, under their own
# names.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/relay.sh"
export VM_FLAGS=-dedup.minScrapeInterval=0s # a sample sent twice shows
. "$(dirname "$0")/../lib/forward.sh"

N=10000
start_kafka
start_victoriametrics
PROM_PORT=$(free_port)
relay_config "clusters:
  - name: prom
    type: prometheus
    urls: [http://127.0.0.1:$PROM_PORT]
    databases: [rwtest]
  - name: vmrw
    type: prometheus
    urls: [$VM_URL]"
mkdir -p "$TSR_TMP/prom"
cat >"$TSR_TMP/prom/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: self
    static_configs: [{targets: ["127.0.0.1:$PROM_PORT"]}]
remote_write:
  - url: http://127.0.0.1:$RELAY_HTTP_PORT/api/v1/write?db=promin
    queue_config: {batch_send_deadline: 1s}
YAML
start_relay
spawn prometheus prometheus --config.file="$TSR_TMP/prom/prometheus.yml" \
    --storage.tsdb.path="$TSR_TMP/prom/data" --web.listen-address="127.0.0.1:$PROM_PORT" \
    --web.enable-remote-write-receiver
PROM_PID=$SPAWN_PID
wait_server prometheus "$PROM_PID" 60 curl -sf -o /dev/null -m 1 "http://127.0.0.1:$PROM_PORT/-/ready"
for c in prom vmrw; do
    wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions"
done

# Points of the last ten minutes, 60 ms apart, over 20 series (host).
python3 - "$RELAY_HTTP_PORT" "$N" <<'PY' || fail "writes"
import sys, time, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
t0 = (int(time.time()) - 600) * 1000
for b in range(0, n, 1000):
    body = "".join(f'rw,dc=d1,host=h{i % 20} v={i}i,f={i}.5,b={"true" if i % 2 else "false"},s="x{i}" {(t0 + i * 60) * 1000000}\n'
                   for i in range(b, min(n, b + 1000))).encode()
    r = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/write?db=rwtest", data=body))
    assert r.status == 204, r.status
PY

# prom_sum EXPR: the value of a PromQL expression, as an integer
prom_sum() {
    curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(int(float(r[0]["value"][1])) if r else 0)'
}
# vm_stats METRIC: "SAMPLES SUM" of VictoriaMetrics' export (as stored)
vm_stats() {
    vm_flush
    curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1" -d reduce_mem_usage=1 | python3 -c '
import json, sys
n = s = 0
for l in sys.stdin:
    if l.strip():
        v = json.loads(l)["values"]; n += len(v); s += sum(v)
print(n, int(s))'
}
want_v="$N $((N * (N - 1) / 2))"
for ((i = 0; i < 60; i++)); do
    [ "$(prom_sum 'sum(count_over_time(rw_v{db="rwtest",dc="d1"}[1h]))')" = "$N" ] &&
        [ "$(vm_stats 'rw_v{db="rwtest"}')" = "$want_v" ] && break
    sleep 1
done
assert_eq "$(prom_sum 'sum(count_over_time(rw_v{db="rwtest",dc="d1"}[1h]))')" "$N" "prometheus: rw_v samples"
assert_eq "$(prom_sum 'sum(sum_over_time(rw_v[1h]))')" "$((N * (N - 1) / 2))" "prometheus: rw_v sum"
assert_eq "$(prom_sum 'sum(count_over_time(rw_f[1h]))')" "$N" "prometheus: rw_f samples"
assert_eq "$(prom_sum 'sum(sum_over_time(rw_b[1h]))')" "$((N / 2))" "prometheus: rw_b (true as 1)"
assert_eq "$(prom_sum 'count(count_over_time(rw_v[1h]))')" 20 "prometheus: rw_v series (host)"
assert_eq "$(prom_sum 'count(count_over_time({__name__=~"rw_s.*"}[1h]))')" 0 "prometheus: no string field"
assert_eq "$(vm_stats 'rw_v{db="rwtest"}')" "$want_v" "victoriametrics: rw_v samples and sum"
assert_eq "$(vm_stats 'rw_f{db="rwtest",dc="d1"}')" "$N $((N * (N - 1) / 2 + N / 2))" "victoriametrics: rw_f"

log "remote write in: Prometheus scraping itself, through the relay, into VictoriaMetrics"
sleep 12
t1=$(($(date +%s) - 4))
# window METRIC: "SAMPLES SUM" in (t1-8s, t1] at Prometheus and at VictoriaMetrics
window() {
    local p v
    p=$(curl -sf "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1[8s]" -d "time=$t1" |
        python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(sum(len(s["values"]) for s in r), int(sum(float(v[1]) for s in r for v in s["values"])))')
    vm_flush
    v=$(curl -sf "$VM_URL/api/v1/export" --data-urlencode "match[]=$1{db=\"promin\"}" -d "start=$((t1 - 9))" -d "end=$t1" |
        python3 -c '
import json, sys
t1 = int(sys.argv[1]) * 1000
n = s = 0
for l in sys.stdin:
    if l.strip():
        d = json.loads(l)
        for v, t in zip(d["values"], d["timestamps"]):
            if t1 - 8000 < t <= t1:
                n += 1; s += v
print(n, int(s))' "$t1")
    echo "$p / $v"
}
for m in up scrape_samples_scraped; do
    for ((i = 0; i < 30; i++)); do
        got=$(window "$m")
        [ "${got% / *}" = "${got#* / }" ] && [ "${got% / *}" != "0 0" ] && break
        sleep 1
    done
    log "$m in the window, prometheus / victoriametrics: $got"
    [ "${got% / *}" = "${got#* / }" ] || fail "$m: prometheus and victoriametrics differ: $got"
    [ "${got% / *}" != "0 0" ] || fail "$m: no samples in the window"
done
stop_relay
assert_eq "$RELAY_EXIT" 0 "exit code"
