#!/usr/bin/env bash
# bench/e2e.sh — the end-to-end benchmark (`make bench`, after bench/run.sh).
#
# Same machine, same run, same 1,000,000 distinct 3-field points (loadgen -d, 1 ms
# apart, 5,000-line requests over 2 connections), delivered to TWO VictoriaMetrics
# instances, one of which is down during the whole ingest and comes back afterwards:
#
#   direct   loadgen straight into a fresh VictoriaMetrics's /write: the TSDB's own
#            ingest rate, the yardstick for catch-up rates.
#   tsrelay  relay -> Kafka -> clusters vm1, vm2 (type victoriametrics, compression
#            none). vm2 is stopped (SIGTERM) before the ingest; once vm1 has every point
#            vm2 is started again, and the script times, polling /status and
#            /clusters/vm2/ready every 100 ms from before the restart:
#            - catch-up start: first increase of vm2's points_delivered;
#            - every point: vm2's partition positions reach vm1's (points_delivered
#              alone is fooled by points sent twice);
#            - ready for good: /clusters/vm2/ready 200 from then on, once nothing has
#              been delivered for 3 s (a resend after the catch-up belongs to the job);
#            catch-up s = the later of the last two; the rate while catching up runs
#            from the last poll before the first delivery to every point (the issue
#            bounds the start delay and the rate separately); points sent beyond the backlog
#            (duplicates) and ready answering 200 too early are reported.
#   vmagent  Debian's vmagent with two -remoteWrite.url, fresh VictoriaMetrics data,
#            the same outage; catch-up is timed on VM #2's own row counter
#            (vm_rows_added_to_storage_total, 3 rows per line), the analogue of
#            points_delivered; vmagent retries with backoff up to about a minute.
#
# Recorded for each: process CPU (utime+stime from /proc) from just before the ingest
# until catch-up is over, Kafka broker CPU likewise (tsrelay), peak RSS (VmHWM), the
# largest RSS sampled while vm2's backlog builds up (ingest until vm2 comes back), and
# the RSS once everything is delivered ("steady"). At the end both VictoriaMetrics
# instances must hold exactly LINES samples of bench_f1 (counted with /api/v1/export,
# deduplicated by -dedup.minScrapeInterval=1ms); a mismatch exits 1 after the table.
#
# BENCH_E2E_LINES (default 1,000,000) sets the volume; BENCH_E2E_CATCHUP_TIMEOUT (300 s)
# bounds each catch-up; BENCH_E2E_CLUSTER_KEYS adds cluster keys to both clusters, e.g.
# BENCH_E2E_CLUSTER_KEYS='max_inflight: 8, catchup_rate: 200000' (comma-separated).
. "$(dirname "$0")/../tests/lib/harness.sh"
. "$REPO_ROOT/bench/lib.sh"
. "$REPO_ROOT/tests/lib/relay.sh"
. "$REPO_ROOT/tests/lib/forward.sh"

LINES=${BENCH_E2E_LINES:-1000000}
CATCHUP_TIMEOUT=${BENCH_E2E_CATCHUP_TIMEOUT:-300}
STEP_NS=1000000 # 1 ms between points: VictoriaMetrics stores milliseconds
FIELDS=3        # loadgen's lines carry f1, f2, f3: VictoriaMetrics counts 3 rows each
LOADGEN=$REPO_ROOT/build/release/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN missing: run make"
now() { date +%s.%N; }
# per_s N SECONDS: N / SECONDS, rounded; 0 if SECONDS is not positive.
per_s() { calc "s = $2; if (s > 0) printf \"%.0f\", ($1) / s; else printf \"-\""; }

# --- the poller: one Python process per phase, polling in-process every 100 ms -------
# It writes READY after its first sample (taken before anything is restarted), records
# absolute times, and relates them at the end to the epoch seconds in T0FILE, which the
# script writes just before it restarts the cluster. Times are -1 if never seen.
POLL=$TSR_TMP/poll.py
cat >"$POLL" <<'PY'
"""rss PID WATCH_PID     max VmRSS MiB of PID while WATCH_PID runs
relay ADMIN CLUSTER REF N QUIET TIMEOUT PID READY T0FILE TRACE
    until CLUSTER holds everything (each partition position at REF's, or N points
    delivered in all if REF is -), /clusters/CLUSTER/ready is 200 and points_delivered has not
    moved for QUIET s; prints: first_delivery ready(final streak) all d0 d_all d_end
    max_rss flaps last_delivery before_first (the last sample without a delivery)
vm URL ROWS TIMEOUT PID READY T0FILE
    until VictoriaMetrics at URL (a fresh process, counting from 0) added ROWS rows;
    prints: first all rows max_rss"""
import json, os, sys, time, urllib.error, urllib.request

from procstat import rss


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except Exception:
        return 0, ""


def vm_rows(url):
    code, body = get(url + "/metrics")
    if code != 200:
        return None
    for l in body.splitlines():
        if l.startswith("vm_rows_added_to_storage_total "):
            return int(float(l.split()[1]))
    return None


def touch(path):
    with open(path, "w") as f:
        f.write("1\n")


def rel(t, t0):
    return -1 if t is None else round(t - t0, 2)


def read_t0(path, default):
    """T0 as the script wrote it (just after READY; the poller may finish first)."""
    for _ in range(100):
        try:
            with open(path) as f:
                return float(f.read().strip())
        except (OSError, ValueError):
            time.sleep(0.1)
    return default


def wait_tick(t):
    time.sleep(max(0.0, 0.1 - (time.time() - t)))


mode = sys.argv[1]
if mode == "rss":
    pid, watch = sys.argv[2], sys.argv[3]
    m = rss(pid)
    while alive(watch):
        m = max(m, rss(pid))
        time.sleep(0.1)
    print(f"{max(m, rss(pid)):.1f}")
    sys.exit(0)

if mode == "relay":
    admin, name, ref, n, quiet, timeout, pid, ready_file, t0_file, trace_file = sys.argv[2:12]
    n, quiet, timeout = int(n), float(quiet), float(timeout)
    base = f"http://127.0.0.1:{admin}"
    start = time.time()
    ends = d0 = first = before_first = ready_t = all_t = last_change = prev_t = None
    d_all, d, flaps, max_rss, was_ready = 0, 0, 0, 0.0, False
    trace = open(trace_file, "a")
    while True:
        t = time.time()
        max_rss = max(max_rss, rss(pid))
        code, body = get(base + "/status")
        ready = get(f"{base}/clusters/{name}/ready")[0] == 200
        if code == 200:
            cl = {c["name"]: c for c in json.loads(body)["clusters"]}
            c = cl[name]
            pos = [p["position"] for p in c["partitions"]]
            if d0 is None:
                d0 = d = c["points_delivered"]
                if ref != "-":
                    ends = [p["position"] for p in cl[ref]["partitions"]]
                touch(ready_file)
            if c["points_delivered"] != d:
                last_change = t
                if first is None:
                    first, before_first = t, prev_t
            d = c["points_delivered"]
            complete = all(a >= b for a, b in zip(pos, ends)) if ends else d >= n
            if all_t is None and complete:
                all_t, d_all = t, d
            trace.write(f"{t:.3f} {c['state']} ready={int(ready)} delivered={d} "
                        f"lag_s={c['lag_seconds']} lag_records={c['lag_records']} "
                        f"positions={pos} high={[p['high'] for p in c['partitions']]}\n")
        prev_t = t
        if ready and not was_ready:
            ready_t = t
        elif was_ready and not ready:
            flaps += 1
        was_ready = ready
        if (all_t is not None and ready and
                t - (last_change if last_change is not None else start) >= quiet):
            break
        if t - start > timeout or not alive(pid):
            break
        wait_tick(t)
    done = all_t is not None and ready
    t0 = read_t0(t0_file, start)
    # A 200 that came and went before the cluster held everything is a flap, not the end.
    print(rel(first, t0), rel(ready_t if done else None, t0), rel(all_t, t0), d0 or 0, d_all, d,
          f"{max_rss:.1f}", flaps, rel(last_change, t0), rel(before_first, t0))
    sys.exit(0 if done else 2)

if mode == "vm":
    url, rows, timeout, pid, ready_file, t0_file = sys.argv[2:8]
    rows, timeout = int(rows), float(timeout)
    start = time.time()
    first = done = None
    r, max_rss = 0, 0.0
    touch(ready_file)
    while True:
        t = time.time()
        max_rss = max(max_rss, rss(pid))
        v = vm_rows(url)
        if v is not None:
            r = v
            if first is None and r > 0:
                first = t
            if r >= rows:
                done = t
                break
        if t - start > timeout or not alive(pid):
            break
        wait_tick(t)
    t0 = read_t0(t0_file, start)
    print(rel(first, t0), rel(done, t0), r, f"{max_rss:.1f}")
    sys.exit(0 if done is not None else 2)
PY

# --- VictoriaMetrics instances (the harness's flags, plus dedup at 1 ms) ---------------
# vm_count NAME: samples of bench_f1 the instance holds (deduplicated, as queried).
vm_count()
{
    curl -sf -m 30 -o /dev/null "$(vm_url "$1")/internal/force_flush"
    curl -sf -m 120 "$(vm_url "$1")/api/v1/export" -d 'match[]=bench_f1' -d start=0 |
        python3 -c 'import json, sys; print(sum(len(json.loads(l)["values"]) for l in sys.stdin if l.strip()))'
}

# ingest PORT PID: loadgen LINES distinct lines into PORT's /write while sampling PID's
# RSS; sets ING_LPS (lines/s) and ING_RSS (largest RSS, MiB).
ingest()
{
    local port=$1 pid=$2 lg out
    "$LOADGEN" -p "$port" -u "/write?db=bench" -n "$LINES" -b 5000 -c 2 -d -s "$STEP_NS" \
        >"$TSR_TMP/loadgen.out" 2>&1 &
    lg=$!
    track_pid "$lg" loadgen
    ING_RSS=$(python3 "$POLL" rss "$pid" "$lg")
    wait "$lg" || {
        [ "$pid" != "${RELAY_PID:-}" ] || relay_died "during the ingest"
        fail "loadgen into port $port: $(cat "$TSR_TMP/loadgen.out")"
    }
    unset "TSR_PIDS[$lg]"
    out=$(cat "$TSR_TMP/loadgen.out")
    ING_LPS=${out#*lines_per_s=}
    ING_LPS=${ING_LPS%% *}
    log "ingest: $out"
}

BROKEN=()

# relay_died WHEN: if tsrelay is gone, fail saying how it ended.
relay_died()
{
    alive "$RELAY_PID" && return 0
    local rc=0
    wait "$RELAY_PID" || rc=$?
    unset "TSR_PIDS[$RELAY_PID]"
    if [ "$rc" -gt 128 ]; then
        fail "tsrelay died $1: killed by signal $((rc - 128)) ($(kill -l $((rc - 128)))); relay log: $RELAY_LOG"
    fi
    fail "tsrelay exited $1 with status $rc"
}

# catchup_poll NAME ARGS...: start the poller (mode and arguments up to PID) in the
# background, wait for its first sample, then write T0 (now) for it; sets POLLER, T0.
catchup_poll()
{
    local name=$1 i
    shift
    rm -f "$TSR_TMP/$name.ready" "$TSR_TMP/$name.t0"
    python3 "$POLL" "$@" "$TSR_TMP/$name.ready" "$TSR_TMP/$name.t0" "${TRACE[@]}" \
        >"$TSR_TMP/$name.out" &
    POLLER=$!
    track_pid "$POLLER" poller
    for ((i = 0; i < 300; i++)); do
        [ ! -e "$TSR_TMP/$name.ready" ] && alive "$POLLER" || break
        sleep 0.02
    done
    T0=${T0_AT:-$(now)}
    echo "$T0" >"$TSR_TMP/$name.t0"
}

# catchup_wait NAME: wait for the poller; its status, its line in CATCHUP.
catchup_wait()
{
    local rc=0
    wait "$POLLER" || rc=$?
    unset "TSR_PIDS[$POLLER]"
    CATCHUP=$(cat "$TSR_TMP/$1.out")
    return "$rc"
}

# ============================ direct ==================================================
log "direct: $LINES lines straight into VictoriaMetrics"
vm_start vmdirect
ingest "${VMPORT[vmdirect]}" "${VMPID[vmdirect]}"
DIRECT_LPS=$ING_LPS
vm_stop vmdirect
rm -rf "$TSR_TMP/vmdirect"

# ============================ tsrelay =================================================
start_kafka
vm_start vm1
vm_start vm2
extra=$(cluster_keys "${BENCH_E2E_CLUSTER_KEYS:-}")
relay_config "clusters:
  - name: vm1
    type: victoriametrics
    urls: [$(vm_url vm1)]
    compression: none$extra
  - name: vm2
    type: victoriametrics
    urls: [$(vm_url vm2)]
    compression: none$extra"
start_relay
wait_cluster_ready vm1 30 || fail "vm1 not in sync at start: $(cluster_field vm1 reason)"
wait_cluster_ready vm2 30 || fail "vm2 not in sync at start: $(cluster_field vm2 reason)"
R_RSS_IDLE=$(rss_mb "$RELAY_PID")

log "tsrelay: stopping vm2"
vm_stop vm2
for ((i = 0; i < 150; i++)); do
    [ "$(cluster_ready vm2)" = 503 ] && break
    sleep 0.1
done
log "tsrelay: vm2 is $(cluster_field vm2 state)"

r_c0=$(cpu_s "$RELAY_PID")
k_c0=$(cpu_s "$KAFKA_PID")
log "tsrelay: $LINES lines"
ingest "$RELAY_HTTP_PORT" "$RELAY_PID"
R_LPS=$ING_LPS
TRACE=("$TSR_TMP/relay-trace-vm1.txt")
T0_AT=$(now) catchup_poll poll-vm1 relay "$RELAY_ADMIN_PORT" vm1 - "$LINES" 0 "$CATCHUP_TIMEOUT" "$RELAY_PID"
catchup_wait poll-vm1 || {
    relay_died "while vm1 caught up with the ingest"
    fail "vm1 not in sync with $LINES points within ${CATCHUP_TIMEOUT}s ($CATCHUP): $(cluster_field vm1 reason)"
}
read -r _ vm1_ready vm1_all _ _ _ rss_wait _ _ _ <<<"$CATCHUP"
R_VM1_SYNC=$(calc "printf \"%.2f\", ($vm1_ready > $vm1_all ? $vm1_ready : $vm1_all)")
R_RSS_BACKLOG=$(calc "printf \"%.1f\", ($ING_RSS > $rss_wait ? $ING_RSS : $rss_wait)")
R_LAG=$(cluster_field vm2 lag_points)
log "tsrelay: vm1 in sync ${R_VM1_SYNC}s after the ingest; vm2 lag $R_LAG points, relay RSS $(rss_mb "$RELAY_PID") MiB"

log "tsrelay: starting vm2 again"
# Done when vm2's partition positions reach vm1's (every record delivered), its ready is
# 200 and nothing was delivered for 3 s: a resend after the catch-up is part of the job.
TRACE=("$TSR_TMP/relay-trace-vm2.txt")
catchup_poll poll-vm2 relay "$RELAY_ADMIN_PORT" vm2 vm1 "$LINES" 3 "$CATCHUP_TIMEOUT" "$RELAY_PID"
vm_start vm2
R_VM2_UP=$(calc "printf \"%.2f\", $(now) - $T0")
catchup_wait poll-vm2 || {
    relay_died "during vm2's catch-up"
    fail "vm2 not caught up within ${CATCHUP_TIMEOUT}s ($CATCHUP): $(cluster_field vm2 reason)"
}
read -r R_FIRST R_READY R_ALL r_d0 r_dall r_dend _ R_FLAPS R_LAST R_SEND0 <<<"$CATCHUP"
r_c1=$(cpu_s "$RELAY_PID")
k_c1=$(cpu_s "$KAFKA_PID")
R_HWM=$(hwm_mb "$RELAY_PID")
R_BACKLOG=$((LINES - r_d0))
R_DUP=$((r_dend - r_d0 - R_BACKLOG))
log "tsrelay: vm2 caught up: first delivery ${R_FIRST}s, every point ${R_ALL}s, ready (for good) ${R_READY}s, last delivery ${R_LAST}s; delivered to vm2 $r_d0 -> $r_dall (when complete) -> $r_dend; ready lost $R_FLAPS time(s)"
sleep 2
R_RSS_STEADY=$(rss_mb "$RELAY_PID")
R_CPU_US=$(calc "printf \"%.3f\", ($r_c1 - $r_c0) * 1e6 / $LINES")
R_KAFKA_US=$(calc "printf \"%.3f\", ($k_c1 - $k_c0) * 1e6 / $LINES")
R_CATCHUP=$(calc "printf \"%.2f\", ($R_READY > $R_ALL ? $R_READY : $R_ALL)")
R_RATE=$(per_s "$R_BACKLOG" "$R_CATCHUP")
# From the last sample before anything was delivered: the first batch's time counts.
R_RATE_SEND=$(per_s "$R_BACKLOG" "$R_ALL - $R_SEND0")
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/status" >"$TSR_TMP/relay-status.json"
curl -s "http://127.0.0.1:$RELAY_ADMIN_PORT/metrics" >"$TSR_TMP/relay-metrics.txt"

R_N1=$(vm_count vm1)
R_N2=$(vm_count vm2)
log "tsrelay: bench_f1 samples: vm1 $R_N1, vm2 $R_N2"
[ "$R_N1" = "$LINES" ] || BROKEN+=("tsrelay: vm1 holds $R_N1 samples of bench_f1, want $LINES")
[ "$R_N2" = "$LINES" ] || BROKEN+=("tsrelay: vm2 holds $R_N2 samples of bench_f1, want $LINES")
stop_relay
[ "$RELAY_EXIT" = 0 ] || BROKEN+=("tsrelay exited $RELAY_EXIT on SIGTERM")
stop_kafka
vm_stop vm1
vm_stop vm2

# ============================ vmagent =================================================
# Fresh data, so the counters and counts start at 0.
vm_start vm1b
vm_start vm2b
VMAGENT_PORT=$(free_port)
spawn vmagent vmagent -httpListenAddr="127.0.0.1:$VMAGENT_PORT" \
    -remoteWrite.url="$(vm_url vm1b)/api/v1/write" -remoteWrite.url="$(vm_url vm2b)/api/v1/write" \
    -remoteWrite.tmpDataPath="$TSR_TMP/vmagent" -loggerLevel=WARN
VMAGENT_PID=$SPAWN_PID
wait_http "http://127.0.0.1:$VMAGENT_PORT/health" 30
V_RSS_IDLE=$(rss_mb "$VMAGENT_PID")

log "vmagent: stopping VM #2"
vm_stop vm2b
v_c0=$(cpu_s "$VMAGENT_PID")
log "vmagent: $LINES lines"
ingest "$VMAGENT_PORT" "$VMAGENT_PID"
V_LPS=$ING_LPS
TRACE=()
T0_AT=$(now) catchup_poll poll-vm1b vm "$(vm_url vm1b)" $((LINES * FIELDS)) "$CATCHUP_TIMEOUT" "$VMAGENT_PID"
catchup_wait poll-vm1b ||
    fail "vmagent: VM #1 did not get $LINES lines within ${CATCHUP_TIMEOUT}s ($CATCHUP)"
read -r _ vm1_done _ rss_wait <<<"$CATCHUP"
V_VM1_SYNC=$vm1_done
V_RSS_BACKLOG=$(calc "printf \"%.1f\", ($ING_RSS > $rss_wait ? $ING_RSS : $rss_wait)")
log "vmagent: VM #1 has every line ${V_VM1_SYNC}s after the ingest; vmagent RSS $(rss_mb "$VMAGENT_PID") MiB"

log "vmagent: starting VM #2 again"
TRACE=()
catchup_poll poll-vm2b vm "$(vm_url vm2b)" $((LINES * FIELDS)) "$CATCHUP_TIMEOUT" "$VMAGENT_PID"
vm_start vm2b
V_VM2_UP=$(calc "printf \"%.2f\", $(now) - $T0")
catchup_wait poll-vm2b ||
    fail "vmagent: VM #2 did not catch up within ${CATCHUP_TIMEOUT}s ($CATCHUP)"
read -r V_FIRST V_ALL v_r1 _ <<<"$CATCHUP"
v_r0=0
v_c1=$(cpu_s "$VMAGENT_PID")
V_HWM=$(hwm_mb "$VMAGENT_PID")
log "vmagent: VM #2 caught up: first rows ${V_FIRST}s, all ${V_ALL}s (rows $v_r0 -> $v_r1)"
sleep 2
V_RSS_STEADY=$(rss_mb "$VMAGENT_PID")
V_CPU_US=$(calc "printf \"%.3f\", ($v_c1 - $v_c0) * 1e6 / $LINES")
V_RATE=$(per_s "($v_r1 - $v_r0) / $FIELDS" "$V_ALL")
V_RATE_SEND=$(per_s "($v_r1 - $v_r0) / $FIELDS" "$V_ALL - $V_FIRST")
V_N1=$(vm_count vm1b)
V_N2=$(vm_count vm2b)
log "vmagent: bench_f1 samples: VM #1 $V_N1, VM #2 $V_N2"
[ "$V_N1" = "$LINES" ] || BROKEN+=("vmagent: VM #1 holds $V_N1 samples of bench_f1, want $LINES")
[ "$V_N2" = "$LINES" ] || BROKEN+=("vmagent: VM #2 holds $V_N2 samples of bench_f1, want $LINES")

# ============================ table ===================================================
# A figure that could not be measured is "-"; so is anything computed from it.
pct() { num "$1" && calc "printf \"%.0f%%\", 100 * $1 / $DIRECT_LPS" || echo -; }
ratio() { num "$1" && num "$2" && calc "if ($2 > 0) printf \"%.2f\", $1 / $2; else printf \"-\"" || echo -; }
row() { printf '%-40s %12s %12s %10s   %-24s %s\n' "$@"; }

[ -z "${BENCH_E2E_CLUSTER_KEYS:-}" ] || printf '\ncluster keys: %s' "$BENCH_E2E_CLUSTER_KEYS"
printf '\nend to end: %s lines, 2 clusters, cluster #2 down during the ingest; ' "$LINES"
printf 'direct VictoriaMetrics ingest %s lines/s\n\n' "$DIRECT_LPS"
row "" tsrelay vmagent ratio "target (tsrelay)" met
row "ingest lines/s (loadgen)" "$R_LPS" "$V_LPS" "$(ratio "$R_LPS" "$V_LPS")" "" ""
row "CPU-us per line (process, whole job)" "$R_CPU_US" "$V_CPU_US" "$(ratio "$R_CPU_US" "$V_CPU_US")" \
    "<= 1/3 of vmagent" "$(met "$R_CPU_US * 3 <= $V_CPU_US")"
row "Kafka broker CPU-us per line" "$R_KAFKA_US" "-" "" "" ""
R_TOTAL_US=$(calc "printf \"%.3f\", $R_CPU_US + $R_KAFKA_US")
row "CPU-us per line incl. broker" "$R_TOTAL_US" "$V_CPU_US" "$(ratio "$R_TOTAL_US" "$V_CPU_US")" "" ""
row "RSS idle MiB (before ingest)" "$R_RSS_IDLE" "$V_RSS_IDLE" "$(ratio "$R_RSS_IDLE" "$V_RSS_IDLE")" "" ""
row "RSS MiB, largest while backlog builds" "$R_RSS_BACKLOG" "$V_RSS_BACKLOG" \
    "$(ratio "$R_RSS_BACKLOG" "$V_RSS_BACKLOG")" "<= 128" "$(met "$R_RSS_BACKLOG <= 128")"
row "peak RSS MiB (VmHWM, whole job)" "$R_HWM" "$V_HWM" "$(ratio "$R_HWM" "$V_HWM")" \
    "<= 128 (under backlog)" "$(met "$R_HWM <= 128")"
row "steady RSS MiB (all delivered)" "$R_RSS_STEADY" "$V_RSS_STEADY" \
    "$(ratio "$R_RSS_STEADY" "$V_RSS_STEADY")" "<= 64" "$(met "$R_RSS_STEADY <= 64")"
row "healthy cluster complete after ingest s" "$R_VM1_SYNC" "$V_VM1_SYNC" "" "" ""
row "cluster #2 restart -> /health 200 s" "$R_VM2_UP" "$V_VM2_UP" "" "" ""
row "catch-up start delay s" "$R_FIRST" "$V_FIRST" "$(ratio "$R_FIRST" "$V_FIRST")" "<= 2" \
    "$(met "$R_FIRST >= 0 && $R_FIRST <= 2")"
row "cluster #2 holds every point s" "$R_ALL" "$V_ALL" "$(ratio "$R_ALL" "$V_ALL")" "" ""
row "/clusters/vm2/ready 200 for good s" "$R_READY" "-" "" "" ""
row "catch-up s (both of the above)" "$R_CATCHUP" "$V_ALL" "$(ratio "$R_CATCHUP" "$V_ALL")" "" ""
row "last delivery to cluster #2 s" "$R_LAST" "$V_ALL" "" "" ""
row "points sent to cluster #2 / backlog" "$(calc "printf \"%.2f\", ($r_dend - $r_d0) / $R_BACKLOG")" \
    "1.00" "" "1.00" "$(met "$R_DUP == 0")"
row "catch-up rate points/s (restart->every)" "$R_RATE" "$V_RATE" "$(ratio "$R_RATE" "$V_RATE")" "" ""
row "  % of direct rate" "$(pct "$R_RATE")" "$(pct "$V_RATE")" "" "" ""
row "rate while catching up (start->every)" "$R_RATE_SEND" "$V_RATE_SEND" \
    "$(ratio "$R_RATE_SEND" "$V_RATE_SEND")" "" ""
row "  % of direct rate" "$(pct "$R_RATE_SEND")" "$(pct "$V_RATE_SEND")" "" ">= 80%" \
    "$(met "$R_RATE_SEND >= 0.8 * $DIRECT_LPS")"
printf '\nTimes from the restart of cluster #2. "holds every point": vm2 partition positions reach\n'
printf 'vm1s (vmagent: VM #2 added every row). catch-up rate = the backlog (points cluster #2\n'
printf 'missed) / catch-up s, VictoriaMetrics start included. The target is judged on the rate\n'
printf 'while catching up: from the last poll before the first delivery to every point (the start\n'
printf 'delay has its own target). ratio = tsrelay / vmagent.\n'
printf 'samples of bench_f1: tsrelay vm1 %s vm2 %s; vmagent VM #1 %s VM #2 %s (want %s)\n' \
    "$R_N1" "$R_N2" "$V_N1" "$V_N2" "$LINES"
[ "$R_FLAPS" = 0 ] ||
    printf 'note: /clusters/vm2/ready answered 200 and then 503 again %s time(s) after the restart\n' "$R_FLAPS"
[ "$R_DUP" -le 0 ] ||
    printf 'note: tsrelay sent %s points to vm2 more than once (a backlog of %s)\n' "$R_DUP" "$R_BACKLOG"

if [ ${#BROKEN[@]} -gt 0 ]; then
    printf '%s\n' "${BROKEN[@]}" >&2
    fail "${BROKEN[0]}"
fi
