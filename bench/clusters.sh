#!/usr/bin/env bash
# bench/clusters.sh — what each extra cluster costs (`make bench`, after bench/e2e.sh).
#
# One relay with 1, 2, 4 and 8 clusters (BENCH_CLUSTERS_COUNTS), each a VictoriaMetrics
# of its own (fresh data, deduplicating at 1 ms), every cluster at the relay's defaults
# (compression gzip). Per cluster count, with a fresh relay and fresh consumer groups
# (the clusters are named after the run), on one Kafka:
#
#   warm-up   WARMUP distinct lines (loadgen -d -S SERIES, 1 ms apart) delivered to all
#   live      LINES more, every cluster up: relay CPU (utime+stime) from just before
#             loadgen until every cluster's points_delivered has them all
#   catch-up  every VictoriaMetrics stopped, LINES more written, then all started again
#             at once: relay CPU from just before loadgen until every cluster holds
#             them and each one's recovery rewind (a replay job resending the
#             recovery_rewind_ms before its outage: here the live phase's lines) is
#             over, and the relay's peak RSS (VmHWM, reset through /proc/PID/clear_refs)
#             while the backlog builds and while N backlogs are read back together
#   steady    RSS 3 s after everything is delivered
#
# Each VictoriaMetrics must then hold WARMUP + 2 x LINES samples of bench_f1 (counted
# with /api/v1/export); a mismatch exits 1 after the table. The table gives the CPU per
# line, what each cluster beyond the first adds ((cpu(N) - cpu(1)) / (N - 1), target
# <= 0.3 us), the peak RSS (target: <= 128 MiB and nothing beyond a small constant per
# cluster) and the broker's CPU per line.
#
# BENCH_CLUSTERS_LINES (500,000) sets LINES, BENCH_CLUSTERS_SERIES (10,000) the series,
# BENCH_CLUSTERS_TIMEOUT (300 s) bounds each wait, BENCH_CLUSTERS_KEYS adds cluster
# keys to every cluster ('compression: none' measures without gzip).
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/forward.sh"

LINES=${BENCH_CLUSTERS_LINES:-500000}
SERIES=${BENCH_CLUSTERS_SERIES:-10000}
COUNTS=${BENCH_CLUSTERS_COUNTS:-1 2 4 8}
TIMEOUT=${BENCH_CLUSTERS_TIMEOUT:-300}
WARMUP=50000
STEP_NS=1000000 # 1 ms between points: VictoriaMetrics stores milliseconds
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"
BROKEN=()

# wait_delivered WANT: until every cluster of the relay has delivered WANT points and no
# replay job (a recovery rewind) runs or waits; sets
# TOP_RSS to the largest RSS sampled meanwhile (MiB). Polls /status every 100 ms.
POLL=$TSR_TMP/poll.py
cat >"$POLL" <<'PY'
import json, sys, time, urllib.request
from procstat import rss
admin, want, timeout, pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
start, top = time.time(), 0.0
while True:
    top = max(top, rss(pid))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/status", timeout=2) as r:
            cl = json.load(r)["clusters"]
        # A cluster back from down also gets a recovery rewind (a replay job): the
        # phase ends once those are over too.
        with urllib.request.urlopen(f"http://127.0.0.1:{admin}/replays", timeout=2) as r:
            jobs = json.load(r)["replays"]
        if (all(c["points_delivered"] >= want for c in cl) and
                not any(j["state"] in ("running", "queued") for j in jobs)):
            break
    except Exception:
        pass
    if time.time() - start > timeout:
        print(f"{top:.1f}")
        sys.exit(2)
    time.sleep(0.1)
print(f"{top:.1f}")
PY
wait_delivered()
{
    python3 "$POLL" "$RELAY_ADMIN_PORT" "$1" "$TIMEOUT" "$RELAY_PID" >"$TSR_TMP/top-rss" ||
        fail "not every cluster has $1 points after ${TIMEOUT}s: $(admin_get /status | head -c 2000)"
    TOP_RSS=$(cat "$TSR_TMP/top-rss")
}

# send FIRST COUNT: loadgen COUNT distinct lines from line FIRST into the relay.
send()
{
    local out
    out=$("$LOADGEN" -p "$RELAY_HTTP_PORT" -u "/write?db=bench" -n "$2" -o "$1" -b 5000 -c 2 -d \
        -s "$STEP_NS" -S "$SERIES" 2>&1) || fail "loadgen: $out"
    log "loadgen: $out"
}

declare -A F=()
start_kafka
extra=$(cluster_keys "${BENCH_CLUSTERS_KEYS:-}")
for n in $COUNTS; do
    yaml="clusters:"
    for ((i = 1; i <= n; i++)); do
        vm_start "n$n-vm$i"
        yaml+="
  - name: n${n}_c$i
    type: victoriametrics
    urls: [$(vm_url "n$n-vm$i")]$extra"
    done
    rm -rf "$TSR_TMP/state"
    relay_config "$yaml"
    start_relay
    for ((i = 1; i <= n; i++)); do
        wait_cluster_ready "n${n}_c$i" 60 || fail "n${n}_c$i not ready at start"
    done
    send 0 "$WARMUP"
    wait_delivered "$WARMUP"
    F[$n:rss_idle]=$(rss_mb "$RELAY_PID")

    hwm_reset "$RELAY_PID"
    c0=$(cpu_s "$RELAY_PID")
    k0=$(cpu_s "$KAFKA_PID")
    send "$WARMUP" "$LINES"
    wait_delivered $((WARMUP + LINES))
    c1=$(cpu_s "$RELAY_PID")
    k1=$(cpu_s "$KAFKA_PID")
    F[$n:live]=$(calc "printf \"%.3f\", ($c1 - $c0) * 1e6 / $LINES")
    F[$n:live_broker]=$(calc "printf \"%.3f\", ($k1 - $k0) * 1e6 / $LINES")
    F[$n:live_hwm]=$(hwm_mb "$RELAY_PID")
    log "$n cluster(s), live: ${F[$n:live]} us/line, peak ${F[$n:live_hwm]} MiB"

    for ((i = 1; i <= n; i++)); do vm_stop "n$n-vm$i"; done
    for ((i = 1; i <= n; i++)); do
        for ((t = 0; t < 150; t++)); do
            [ "$(cluster_ready "n${n}_c$i")" = 503 ] && break
            sleep 0.1
        done
    done
    hwm_reset "$RELAY_PID"
    c0=$(cpu_s "$RELAY_PID")
    k0=$(cpu_s "$KAFKA_PID")
    send $((WARMUP + LINES)) "$LINES"
    F[$n:backlog_hwm]=$(hwm_mb "$RELAY_PID")
    hwm_reset "$RELAY_PID"
    for ((i = 1; i <= n; i++)); do vm_start "n$n-vm$i"; done
    wait_delivered $((WARMUP + 2 * LINES))
    c1=$(cpu_s "$RELAY_PID")
    k1=$(cpu_s "$KAFKA_PID")
    F[$n:catchup]=$(calc "printf \"%.3f\", ($c1 - $c0) * 1e6 / $LINES")
    F[$n:catchup_broker]=$(calc "printf \"%.3f\", ($k1 - $k0) * 1e6 / $LINES")
    F[$n:catchup_hwm]=$(hwm_mb "$RELAY_PID")
    sleep 3
    F[$n:steady]=$(rss_mb "$RELAY_PID")
    log "$n cluster(s), catch-up: ${F[$n:catchup]} us/line, peak ${F[$n:backlog_hwm]} MiB while the backlog built, ${F[$n:catchup_hwm]} MiB while it was delivered, steady ${F[$n:steady]} MiB"
    for ((i = 1; i <= n; i++)); do
        got=$(vm_count "n$n-vm$i")
        [ "$got" = $((WARMUP + 2 * LINES)) ] ||
            BROKEN+=("$n clusters: n${n}_c$i holds $got samples of bench_f1, want $((WARMUP + 2 * LINES))")
    done
    stop_relay
    [ "$RELAY_EXIT" = 0 ] || BROKEN+=("$n clusters: tsrelay exited $RELAY_EXIT on SIGTERM")
    mv "$RELAY_LOG" "$TSR_TMP/relay-$n.log"
    for ((i = 1; i <= n; i++)); do
        vm_stop "n$n-vm$i"
        rm -rf "$TSR_TMP/n$n-vm$i"
    done
done

# ============================ table ===================================================
first=${COUNTS%% *}
extra_us() { [ "$1" = "$first" ] && echo - || calc "printf \"%.3f\", (${F[$1:$2]} - ${F[$first:$2]}) / ($1 - $first)"; }
row() { printf '%-9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n' "$@"; }
printf '\nclusters: %s lines a phase, %s series, 5,000-line requests, every cluster at its defaults%s\n\n' \
    "$LINES" "$SERIES" "${BENCH_CLUSTERS_KEYS:+ + $BENCH_CLUSTERS_KEYS}"
row "" "live" "+/cluster" "broker" "peak RSS" "catch-up" "+/cluster" "broker" "peak RSS" "peak RSS" "steady" "idle"
row clusters "us/line" "us/line" "us/line" "MiB" "us/line" "us/line" "us/line" "backlog" "delivery" "RSS MiB" "RSS MiB"
for n in $COUNTS; do
    row "$n" "${F[$n:live]}" "$(extra_us "$n" live)" "${F[$n:live_broker]}" "${F[$n:live_hwm]}" \
        "${F[$n:catchup]}" "$(extra_us "$n" catchup)" "${F[$n:catchup_broker]}" \
        "${F[$n:backlog_hwm]}" "${F[$n:catchup_hwm]}" "${F[$n:steady]}" "${F[$n:rss_idle]}"
done
printf '\nus/line: relay CPU (utime+stime) per line written, until every cluster has it. +/cluster:\n'
printf 'what each cluster beyond the first adds (target <= 0.3). live: all clusters up; catch-up:\n'
printf 'all down during the ingest, then back at once, rewinds included. peak RSS: VmHWM (target\n'
printf '<= 128): live; while the backlog built; while it was delivered. steady: 3 s after the\n'
printf 'catch-up (target <= 64). idle: after the warm-up. broker: the Kafka broker per line.\n'
if [ ${#BROKEN[@]} -gt 0 ]; then
    printf '%s\n' "${BROKEN[@]}" >&2
    fail "${BROKEN[0]}"
fi
