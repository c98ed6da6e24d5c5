# tests/lib/forward.sh — helpers for forwarding tests (sourced after relay.sh).
#
#   cluster_ready NAME        HTTP status of /clusters/NAME/ready
#   cluster_field NAME FIELD  one field of the cluster in /status (e.g. lag_seconds)
#   wait_cluster_ready NAME T wait up to T seconds for 200; returns 1 on timeout
#   counts_influx / counts_vm "COUNT SUM" of lpsend's points in the TSDB
#   counts_vm_raw_db DB       "RAW COUNT SUM" at VictoriaMetrics, duplicates in RAW
#   watch_cluster NAME PID    MAX_LAG and NOT_READY of NAME while PID runs
#   start_faultproxy UPSTREAM, proxy_mode JSON, proxy_stat KEY...  a fault proxy in front
#
# VictoriaMetrics runs deduplicating at 1 ms (VM_FLAGS), as docs/forwarding.md tells
# operators: points resent after an outage then overwrite themselves, as in InfluxDB.
export VM_FLAGS=${VM_FLAGS:--dedup.minScrapeInterval=1ms}

cluster_ready()
{
    admin_get "/clusters/$1/ready" -o /dev/null -w '%{http_code}'
}

cluster_field()
{
    admin_get /status |
        python3 -c "import json,sys; d=json.load(sys.stdin); print(next(c['$2'] for c in d['clusters'] if c['name']=='$1'))"
}

wait_cluster_ready()
{
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [ "$(cluster_ready "$1")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

counts_influx() { python3 "$REPO_ROOT/tests/tools/tsdb_count.py" --influx "$INFLUX_URL" --db "${1:-tsrtest}" "${@:2}"; }
counts_vm() { vm_flush; python3 "$REPO_ROOT/tests/tools/tsdb_count.py" --vm "$VM_URL" --db "${1:-tsrtest}" "${@:2}"; }
# counts_vm_raw_db DB: "RAW COUNT SUM", duplicates in RAW (VM without deduplication)
counts_vm_raw_db() { vm_flush; python3 "$REPO_ROOT/tests/tools/tsdb_count.py" --vm-raw "$VM_URL" --db "$1"; }

# expected_counts N: "COUNT SUM" for lpsend lines 0..N-1
expected_counts() { echo "$1 $(($1 * ($1 - 1) / 2))"; }

# wait_counts WHAT WANT T [DB...]: poll counts_WHAT (influx|vm) until it prints WANT
# (T seconds);
# TSDBs make new series searchable a moment after acknowledging them.
wait_counts()
{
    local what=$1 want=$2 t=$3 got i
    shift 3
    for ((i = 0; i < t * 2; i++)); do
        got=$("counts_$what" "$@")
        [ "$got" = "$want" ] && return 0
        sleep 0.5
    done
    fail "$what points (count sum): got '$got', want '$want'"
}

# watch_cluster NAME PID: samples cluster NAME every 0.5 s while PID runs, then waits for
# PID (failing if it failed); sets MAX_LAG (seconds) and NOT_READY (samples not ready).
watch_cluster()
{
    local lag
    MAX_LAG=0
    NOT_READY=0
    while alive "$2"; do
        lag=$(cluster_field "$1" lag_seconds)
        MAX_LAG=$(awk -v a="$MAX_LAG" -v b="$lag" 'BEGIN { print (b > a ? b : a) }')
        [ "$(cluster_ready "$1")" = 200 ] || NOT_READY=$((NOT_READY + 1))
        sleep 0.5
    done
    wait "$2"
}

# start_faultproxy UPSTREAM: tests/tools/faultproxy.py in front of UPSTREAM; exports
# PROXY_URL (point a cluster there) and PROXY_CONTROL (its control API).
# proxy_mode JSON: set its mode.  proxy_stat KEY...: one value of its /stats, e.g.
# `proxy_stat faulted partial`, `proxy_stat accepted good/` (0 when absent).
start_faultproxy()
{
    local port control
    port=$(free_port)
    control=$(free_port)
    spawn faultproxy python3 "$REPO_ROOT/tests/tools/faultproxy.py" --listen "127.0.0.1:$port" \
        --upstream "$1" --control "127.0.0.1:$control"
    wait_port "$control" 10
    PROXY_URL=http://127.0.0.1:$port
    PROXY_CONTROL=http://127.0.0.1:$control
    export PROXY_URL PROXY_CONTROL
}
proxy_mode() { curl -sf -o /dev/null -X POST --data "$1" "$PROXY_CONTROL/mode" || fail "proxy mode $1"; }
proxy_stat()
{
    curl -s "$PROXY_CONTROL/stats" | python3 -c "
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)" "$@"
}

# ctl ARGS...: tsrelayctl against this test's relay
ctl() { "$(dirname "$TSRELAY_BIN")/tsrelayctl" -a "127.0.0.1:$RELAY_ADMIN_PORT" "$@"; }

# rfc3339 MS: a Unix time in ms as RFC 3339 (UTC, milliseconds)
rfc3339() { python3 -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1])/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z')" "$1"; }

# start_vm_relay: Kafka, VictoriaMetrics and the relay forwarding to it as cluster "vm".
start_vm_relay()
{
    start_kafka
    start_victoriametrics
    relay_config "clusters:
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]"
    start_relay
}

# start_two_clusters [EXTRA_INFLUX_YAML] [EXTRA_VM_YAML]: Kafka, InfluxDB (database
# tsrtest created) and VictoriaMetrics, and
# the relay forwarding to both, as clusters "influx" and "vm"; extra per-cluster keys
# are indented YAML lines. Returns once the relay is ready and both clusters' consumers
# have their partitions: points written during the group join (about a second) would
# otherwise start the test with a backlog that old.
start_two_clusters()
{
    start_kafka
    start_influxdb
    start_victoriametrics
    influx_query tsrtest 'CREATE DATABASE tsrtest' >/dev/null
    relay_config "clusters:
  - name: influx
    type: influxdb
    urls: [$INFLUX_URL]
${1:-}
  - name: vm
    type: victoriametrics
    urls: [$VM_URL]
${2:-}"
    start_relay
    local c
    for c in influx vm; do
        wait_relay_log "cluster '$c': delivering" 30 || fail "cluster '$c' got no partitions within 30 s"
    done
}

# recreate_influx_db: drop and recreate influx's database tsrtest, as after a restore
# from an empty backup.
recreate_influx_db()
{
    log "dropping and recreating influx's database"
    influx_query tsrtest 'DROP DATABASE tsrtest' >/dev/null
    influx_query tsrtest 'CREATE DATABASE tsrtest' >/dev/null
}

# send ARGS...: lpsend to this relay with points 1 ms apart (VictoriaMetrics keeps ms)
send() { python3 "$REPO_ROOT/tests/tools/lpsend.py" --port "$RELAY_HTTP_PORT" --step-ns 1000000 --batch 5000 "$@"; }

# check_acked_once ACKED LOW HIGH: every line of ACKED (lpsend --acked) is in
# VictoriaMetrics and InfluxDB (database tsrtest), and none twice; lines LOW..HIGH-1 that
# were not acknowledged (a 503, a timeout: unknown) may be there too, but no others.
# Prints a summary; 1 with what is wrong.
check_acked_once() {
    vm_flush
    python3 - "$1" "$VM_URL" "$INFLUX_URL" "$2" "$3" <<'PY'
import json, re, sys, urllib.parse, urllib.request
acked = {int(re.search(r" fi=(\d+)i", l).group(1)) for l in open(sys.argv[1])}
def get(url, data=None):
    with urllib.request.urlopen(url, data=data, timeout=60) as r:
        return r.read().decode()
vm = []
body = get(sys.argv[2] + "/api/v1/export",
           urllib.parse.urlencode({"match[]": '{__name__=~"m[0-6]_fi",db="tsrtest"}'}).encode())
for line in body.splitlines():
    vm += [int(v) for v in json.loads(line)["values"]]
res = json.loads(get(sys.argv[3] + "/query?" + urllib.parse.urlencode(
    {"db": "tsrtest", "q": "SELECT fi FROM /^m[0-6]$/"})))
influx = [v[1] for s in res["results"][0].get("series", []) for v in s["values"]]
for name, got in (("victoriametrics", vm), ("influxdb", influx)):
    have = set(got)
    missing = acked - have
    extra = {v for v in have - acked if not int(sys.argv[4]) <= v < int(sys.argv[5])}
    twice = len(got) - len(have)
    if missing or extra or twice:
        print(f"{name}: {len(missing)} acknowledged missing (e.g. {sorted(missing)[:3]}), "
              f"{len(extra)} unexpected, {twice} twice")
        sys.exit(1)
print(f"victoriametrics {len(vm)}, influxdb {len(influx)} points; every one of {len(acked)} "
      f"acknowledged lines in both, none twice")
PY
}
