#!/usr/bin/env bash
# bench/spool.sh — the spool against the Kafka path (`make bench`).
#
# One relay with its default settings (no clusters: this is the ingest side) and one
# vmagent, side by side for the whole run. Three phases:
#
#   kafka    Kafka up: every write durable in Kafka (acks=all) before its 204
#   spool    Kafka stopped: every write committed to the LMDB spool before its 204;
#            vmagent beside it with its remote-write target (VictoriaMetrics) stopped,
#            so that its writes go to its own on-disk queue
#   drain    Kafka started again: how fast the spool empties into it
#
# In the first two, per process: lines/s and CPU-µs per line of LINES lines in
# 5,000-line requests over 2 keep-alive connections as fast as the server answers
# (after a 200,000-line warm-up), then the answer latency of a 5,000-line request
# (p50, p99, max) with the load paced at half that rate. Target: the spool path at
# least half as fast as the Kafka path (issue 15).
#
# BENCH_LINES (default 1,000,000) sets the measured volume per row.
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"

LINES=${BENCH_LINES:-1000000}
BATCH=5000
WARMUP=200000
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"

field() { local v=${2#*"$1"=}; echo "${v%% *}"; }

# measure NAME PID PORT: "lines_per_s cpu_us_per_line p50_ms p99_ms max_ms"
measure()
{
    local name=$1 pid=$2 port=$3 c0 c1 out lps us lat
    local args=(-p "$port" -u "/write?db=bench" -b "$BATCH" -c 2)
    out=$("$LOADGEN" "${args[@]}" -n "$WARMUP") || fail "$name: warm-up: $out"
    quiet_cpu "$pid" >/dev/null
    c0=$(cpu_s "$pid")
    out=$("$LOADGEN" "${args[@]}" -n "$LINES") || fail "$name: $out"
    log "$name: $out"
    c1=$(quiet_cpu "$pid")
    lps=$(field lines_per_s "$out")
    us=$(calc "printf \"%.3f\", ($c1 - $c0) * 1e6 / $LINES")
    lat=$("$LOADGEN" "${args[@]}" -n "$((LINES / 2))" -r "$(calc "printf \"%.0f\", $lps / 2")") ||
        fail "$name: paced: $lat"
    log "$name, paced at half: $lat"
    quiet_cpu "$pid" >/dev/null
    echo "$lps $us $(field p50_ms "$lat") $(field p99_ms "$lat") $(field max_ms "$lat")"
}

start_kafka
start_victoriametrics
relay_config
start_relay
start_vmagent

read -r k_lps k_us k_p50 k_p99 k_max <<<"$(measure "tsrelay, kafka" "$RELAY_PID" "$RELAY_HTTP_PORT")"
read -r vk_lps vk_us vk_p50 vk_p99 vk_max <<<"$(measure "vmagent, target up" "$VMAGENT_PID" "$VMAGENT_PORT")"

stop_kafka
stop_victoriametrics
for ((i = 0; i < 100; i++)); do
    [ "$(relay_metric tsrelay_kafka_up)" = 0 ] && break
    sleep 0.1
done
commits0=$(relay_metric tsrelay_spool_commits_total)
read -r s_lps s_us s_p50 s_p99 s_max <<<"$(measure "tsrelay, spool" "$RELAY_PID" "$RELAY_HTTP_PORT")"
read -r vs_lps vs_us vs_p50 vs_p99 vs_max <<<"$(measure "vmagent, target down" "$VMAGENT_PID" "$VMAGENT_PORT")"
[ "$(relay_metric tsrelay_spool_refused_total)" = 0 ] || fail "the spool refused writes"
spooled=$(relay_metric tsrelay_spool_records)
spool_bytes=$(relay_metric tsrelay_spool_bytes)
lines=$((WARMUP + LINES + LINES / 2))
commits=$(($(relay_metric tsrelay_spool_commits_total) - commits0))

start_kafka
c0=$(cpu_s "$RELAY_PID")
t0=$(date +%s.%N)
for ((i = 0; i < 3000; i++)); do
    [ "$(relay_metric tsrelay_spool_records)" = 0 ] && break
    sleep 0.1
done
t1=$(date +%s.%N)
c1=$(cpu_s "$RELAY_PID")
[ "$(relay_metric tsrelay_spool_records)" = 0 ] || fail "the spool did not drain within 300 s"
drain_s=$(calc "printf \"%.2f\", $t1 - $t0")
drain_lps=$(calc "printf \"%.0f\", $lines / ($t1 - $t0)")
drain_mbs=$(calc "printf \"%.1f\", $spool_bytes / 1048576 / ($t1 - $t0)")
drain_us=$(calc "printf \"%.3f\", ($c1 - $c0) * 1e6 / $lines")

row() { printf '%-26s %10s %12s %9s %9s %9s\n' "$@"; }
printf '\nspool: %s lines a row in %s-line requests over 2 keep-alive connections; latency of\n' "$LINES" "$BATCH"
printf 'a request with the load paced at half the row'"'"'s rate; default settings\n\n'
row "" "lines/s" "CPU-us/line" "p50 ms" "p99 ms" "max ms"
row "tsrelay, kafka" "$k_lps" "$k_us" "$k_p50" "$k_p99" "$k_max"
row "tsrelay, spool" "$s_lps" "$s_us" "$s_p50" "$s_p99" "$s_max"
row "  spool / kafka" "$(ratio "$s_lps" "$k_lps")" "$(ratio "$s_us" "$k_us")" "" "" ""
row "vmagent, target up" "$vk_lps" "$vk_us" "$vk_p50" "$vk_p99" "$vk_max"
row "vmagent, target down" "$vs_lps" "$vs_us" "$vs_p50" "$vs_p99" "$vs_max"
row "  tsrelay / vmagent, down" "$(ratio "$s_lps" "$vs_lps")" "$(ratio "$s_us" "$vs_us")" "" "" ""
printf '\nspool path at least half as fast as the kafka path (target): %s\n' "$(met "$s_lps >= $k_lps / 2")"
printf 'spooled: %s lines in %s records (%s MiB), %s commits while spooling (%.1f records a commit)\n' \
    "$lines" "$spooled" "$(calc "printf \"%.0f\", $spool_bytes / 1048576")" "$commits" \
    "$(calc "print $spooled / ($commits > 0 ? $commits : 1)")"
printf 'drain into kafka: %s s from the broker'"'"'s start, %s lines/s (%s MiB/s), %s CPU-us/line\n' \
    "$drain_s" "$drain_lps" "$drain_mbs" "$drain_us"
