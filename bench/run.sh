#!/usr/bin/env bash
# bench/run.sh — the ingest benchmark (`make bench`).
#
# Same machine, same run, same lines: 3-field line protocol in 5,000-line requests over
# 2 keep-alive connections, first into tsrelay (HTTP -> parse -> normalise -> Kafka,
# acks=all), then into vmagent's /write (-> its local queue -> VictoriaMetrics).
# Prints lines/s, CPU-µs per line of the receiving process (from /proc utime+stime),
# the Kafka broker's CPU separately, peak RSS, and the ratios.
# BENCH_LINES (default 3,000,000) sets the measured volume.
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"

LINES=${BENCH_LINES:-3000000}
LOADGEN=$REPO_ROOT/build/release/bench/loadgen

# measure NAME PID PORT PATH [BROKER_PID]: prints "lines_per_s cpu_us_per_line ..." 
measure()
{
    local name=$1 pid=$2 port=$3 path=$4 bpid=${5:-} c0 c1 b0 b1 out
    "$LOADGEN" -p "$port" -u "$path" -n 200000 -b 5000 -c 2 >/dev/null # warm-up
    c0=$(cpu_s "$pid")
    [ -n "$bpid" ] && b0=$(cpu_s "$bpid")
    out=$("$LOADGEN" -p "$port" -u "$path" -n "$LINES" -b 5000 -c 2) || fail "$name: $out"
    c1=$(cpu_s "$pid")
    [ -n "$bpid" ] && b1=$(cpu_s "$bpid")
    local lps=${out#*lines_per_s=}
    lps=${lps%% *}
    local us
    us=$(awk -v a="$c0" -v b="$c1" -v n="$LINES" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')
    local bus=-
    [ -n "$bpid" ] && bus=$(awk -v a="$b0" -v b="$b1" -v n="$LINES" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')
    echo "$lps $us $(hwm_mb "$pid") $(rss_mb "$pid") $bus"
}

start_kafka
start_victoriametrics
relay_config
start_relay

"$REPO_ROOT/build/release/bench/parsebench" 30

log "tsrelay: $LINES lines"
read -r r_lps r_us r_hwm r_rss r_kafka_us <<<"$(measure tsrelay "$RELAY_PID" "$RELAY_HTTP_PORT" "/write?db=bench" "$KAFKA_PID")"

VMAGENT_PORT=$(free_port)
spawn vmagent vmagent -httpListenAddr="127.0.0.1:$VMAGENT_PORT" \
    -remoteWrite.url="$VM_URL/api/v1/write" -remoteWrite.tmpDataPath="$TSR_TMP/vmagent" \
    -loggerLevel=WARN
VMAGENT_PID=$SPAWN_PID
wait_http "http://127.0.0.1:$VMAGENT_PORT/health" 30
log "vmagent: $LINES lines"
read -r v_lps v_us v_hwm v_rss _ <<<"$(measure vmagent "$VMAGENT_PID" "$VMAGENT_PORT" "/write?db=bench")"

printf '\n%-10s %14s %16s %14s %12s %18s\n' "" "lines/s" "CPU-us/line" "peak RSS MiB" "RSS MiB" "broker CPU-us/line"
printf '%-10s %14s %16s %14s %12s %18s\n' tsrelay "$r_lps" "$r_us" "$r_hwm" "$r_rss" "$r_kafka_us"
printf '%-10s %14s %16s %14s %12s %18s\n' vmagent "$v_lps" "$v_us" "$v_hwm" "$v_rss" "-"
awk -v rl="$r_lps" -v vl="$v_lps" -v ru="$r_us" -v vu="$v_us" -v rh="$r_hwm" -v vh="$v_hwm" 'BEGIN {
    printf "ratios (tsrelay / vmagent): throughput %.2f, CPU per line %.2f, peak RSS %.2f\n", rl / vl, ru / vu, rh / vh
    printf "tsrelay: %.0f lines/s per relay core (1e6 / CPU-us per line)\n", 1e6 / ru
}'
stop_relay
